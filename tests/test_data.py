"""Sources, label map, decode and the decode-once cache."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artstyle.data.cache import load_cache, prepare_cache, run_cache, skipped_items
from artstyle.data.dataset import CachedImages
from artstyle.data.decode import DecodeError, decode_image
from artstyle.data.sources import assign_splits, open_source
from artstyle.errors import ArtstyleError
from conftest import make_folder, write_image


def test_label_map_is_sorted_and_canonical(tiny_folder: Path) -> None:
    src = open_source(str(tiny_folder))
    assert src.classes == ["Baroque", "Pop_Art", "Ukiyo_e"]
    assert {i.split for i in src.items} == {"train", "val", "test"}


def test_label_map_identical_across_hash_seeds(tiny_folder: Path) -> None:
    code = ("import json,sys; from artstyle.data.sources import open_source; s=open_source(sys.argv[1]); "
            "print(json.dumps([s.classes, sorted((i.key, i.split) for i in s.items)]))")
    outs = []
    for seed in ("1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.append(subprocess.run([sys.executable, "-c", code, str(tiny_folder)], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    assert outs[0] == outs[1] and json.loads(outs[0])[0] == ["Baroque", "Pop_Art", "Ukiyo_e"]


def test_alias_art_nouveau(tmp_path: Path) -> None:
    make_folder(tmp_path / "d", {"Art_Nouveau": 3, "Baroque": 3})
    assert open_source(str(tmp_path / "d")).classes == ["Art_Nouveau_Modern", "Baroque"]


def test_same_named_files_do_not_collide(tmp_path: Path) -> None:
    root = tmp_path / "d"
    write_image(root / "train" / "A" / "x.png", (255, 0, 0))
    write_image(root / "train" / "B" / "x.png", (0, 0, 255))
    for i in range(3):
        write_image(root / "train" / "A" / f"a{i}.png", (250, i, 0))
        write_image(root / "train" / "B" / f"b{i}.png", (0, i, 250))
    cache = prepare_cache(str(root), size=16, workers=1)
    rows = {r["key"]: i for i, r in enumerate(cache.index)}
    a, b = rows["train/A/x.png"], rows["train/B/x.png"]
    assert cache.classes[cache.labels[a]] == "A" and cache.classes[cache.labels[b]] == "B"
    assert cache.images[a][..., 0].mean() > 200 and cache.images[b][..., 2].mean() > 200


def test_cached_pixels_equal_direct_decode(tiny_folder: Path) -> None:
    cache = prepare_cache(str(tiny_folder), size=16, workers=2)
    for row in (0, len(cache.labels) - 1):
        path = tiny_folder / cache.index[row]["key"]
        np.testing.assert_array_equal(cache.images[row], decode_image(path.read_bytes(), 16))
    ds = CachedImages(cache, "train")
    img, label = ds[0]
    assert img.shape == (3, 16, 16) and str(img.dtype) == "torch.uint8" and 0 <= label < 3


def test_cache_reused_and_rebuilt_on_change(tiny_folder: Path) -> None:
    c1 = prepare_cache(str(tiny_folder), size=16, workers=1)
    c2 = prepare_cache(str(tiny_folder), size=16, workers=1)
    assert c1.root == c2.root and c1.meta["created"] == c2.meta["created"]
    write_image(tiny_folder / "train" / "Baroque" / "new.png", (1, 2, 3))
    c3 = prepare_cache(str(tiny_folder), size=16, workers=1)
    assert len(c3.labels) == len(c1.labels) + 1


def test_explicit_cache_other_size_is_an_error(tiny_folder: Path, tmp_path: Path) -> None:
    prepare_cache(str(tiny_folder), size=16, out=tmp_path / "c", workers=1)
    with pytest.raises(ArtstyleError, match="16 px"):
        prepare_cache(str(tiny_folder), size=32, out=tmp_path / "c", workers=1)
    with pytest.raises(ArtstyleError, match="was built at 16 px"):
        load_cache(tmp_path / "c", expect_size=32)
    assert prepare_cache(str(tiny_folder), size=32, out=tmp_path / "c", workers=1, overwrite=True).size == 32


def test_a_runs_cache_is_reopened_or_prepared_again_when_removed(tiny_folder: Path, tmp_path: Path) -> None:
    cache = prepare_cache(str(tiny_folder), size=16, out=tmp_path / "c", workers=1)
    saved = {"cache": str(cache.root), "source": str(tiny_folder)}  # a run's config.json "data" section
    assert run_cache(saved, 16, progress=False).meta["created"] == cache.meta["created"]  # reopened, not rebuilt
    saved["cache"] = str(tmp_path / "gone")
    again = run_cache(saved, 16, progress=False)
    assert again.root != cache.root and again.size == 16 and len(again.labels) == len(cache.labels)


def test_bad_files_are_skipped_and_listed(tmp_path: Path) -> None:
    root = tmp_path / "d"
    make_folder(root, {"A": 4, "B": 4}, splits=("train",))
    bad = root / "train" / "A"
    (bad / "zero.jpg").write_bytes(b"")
    (bad / "random.jpg").write_bytes(os.urandom(500))
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(buf, "JPEG")
    (bad / "truncated.jpg").write_bytes(buf.getvalue()[:200])
    (bad / "notes.txt").write_text("hello")
    (bad / ".DS_Store").write_bytes(b"\0\0")
    (root / "train" / "Empty").mkdir()
    cache = prepare_cache(str(root), size=16, workers=1)
    reasons = {s["key"]: s["reason"] for s in skipped_items(cache)}
    for name in ("zero.jpg", "random.jpg", "truncated.jpg", "notes.txt", ".DS_Store"):
        assert f"train/A/{name}" in reasons, name
    assert "empty" in reasons["train/A/zero.jpg"]
    assert "train/Empty/" in reasons
    assert cache.classes == ["A", "B"]
    assert cache.meta["n_found"] == len(cache.labels) + cache.meta["n_skipped"]


def test_odd_images_decode() -> None:
    def enc(im: Image.Image, fmt: str) -> bytes:
        buf = io.BytesIO()
        im.save(buf, fmt)
        return buf.getvalue()

    rgba = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    assert decode_image(enc(rgba, "PNG"), 8).min() == 255  # transparent -> white paper
    assert decode_image(enc(Image.new("P", (20, 20), 3), "PNG"), 8).shape == (8, 8, 3)
    sixteen = Image.fromarray(np.full((20, 20), 65535, np.uint16))
    assert decode_image(enc(sixteen, "PNG"), 8).min() == 255
    assert decode_image(enc(Image.new("L", (20, 20), 100), "JPEG"), 8).shape == (8, 8, 3)
    assert decode_image(enc(Image.new("CMYK", (20, 20), (0, 0, 0, 0)), "JPEG"), 8).mean() > 240
    assert decode_image(enc(Image.new("RGB", (1, 1), (5, 6, 7)), "PNG"), 8).shape == (8, 8, 3)
    assert decode_image(enc(Image.new("RGB", (10000, 10), (5, 6, 7)), "PNG"), 8).shape == (8, 8, 3)
    with pytest.raises(DecodeError):
        decode_image(b"not an image", 8)


def test_exif_rotation_applied() -> None:
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:, :10] = 255  # left half white
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW when displayed
    buf = io.BytesIO()
    im.save(buf, "PNG", exif=exif)
    out = decode_image(buf.getvalue(), 10, policy="squash")
    assert out[:3].mean() > 200 and out[-3:].mean() < 50  # white ended up on top


def test_split_assignment_stratified_and_deterministic() -> None:
    keys = {"A": [f"a{i}" for i in range(100)], "B": [f"b{i}" for i in range(10)], "C": ["c0", "c1"]}
    s1 = assign_splits(keys, {"test": 0.1, "val": 0.1}, seed=0)
    assert s1 == assign_splits(keys, {"test": 0.1, "val": 0.1}, seed=0)
    assert s1 != assign_splits(keys, {"test": 0.1, "val": 0.1}, seed=1)
    assert sum(1 for k in keys["A"] if s1[k] == "test") == 10
    assert sum(1 for k in keys["B"] if s1[k] == "test") == 1
    assert all(s1[k] == "train" for k in keys["C"])


def test_missing_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ArtstyleError, match="no such file"):
        open_source(str(tmp_path / "nope"))


def test_hf_parquet_loads_offline(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = {"image": [], "style": [], "genre": [], "artist": []}
    for i in range(12):
        buf = io.BytesIO()
        Image.new("RGB", (30, 20), (i * 20, 0, 0)).save(buf, "JPEG")
        rows["image"].append({"bytes": buf.getvalue(), "path": None})
        rows["style"].append(i % 2 * 3)  # 0 Abstract_Expressionism, 3 Art_Nouveau
        rows["genre"].append(i % 3)
        rows["artist"].append(i % 2)
    features = datasets.Features({
        "image": datasets.Image(),
        "style": datasets.ClassLabel(names=["Abstract_Expressionism", "Action_painting", "Analytical_Cubism", "Art_Nouveau"]),
        "genre": datasets.ClassLabel(names=["portrait", "landscape", "still_life"]),
        "artist": datasets.ClassLabel(names=["claude-monet", "alphonse-mucha"]),
    })
    ds = datasets.Dataset.from_dict(rows, features=features)
    path = tmp_path / "wikiart.parquet"
    ds.to_parquet(str(path))
    cache = prepare_cache(str(path), size=16, workers=1)
    assert cache.classes == ["Abstract_Expressionism", "Art_Nouveau_Modern"]
    assert len(cache.labels) == 12 and set(cache.splits) == {"train", "val", "test"}
    assert cache.extra(0)["artist"] in ("claude-monet", "alphonse-mucha")
    genre = prepare_cache(str(path), size=16, workers=1, label_column="genre")
    assert genre.classes == ["landscape", "portrait", "still_life"]


def test_flat_folder_carves_stratified_seeded_splits(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    for cls, n in (("Baroque", 20), ("Art_Nouveau", 10)):
        for i in range(n):
            write_image(root / cls / f"{i}.png", (i, 0, 0))
    src = open_source(str(root))
    assert src.classes == ["Art_Nouveau_Modern", "Baroque"]
    split_of = {i.key: i.split for i in src.items}
    for cls, n in (("Baroque", 20), ("Art_Nouveau", 10)):
        mine = [s for k, s in split_of.items() if k.startswith(f"{cls}/")]
        assert mine.count("test") == round(n * 0.1) and mine.count("val") == round(n * 0.1), cls
    assert split_of == {i.key: i.split for i in open_source(str(root)).items}
    assert split_of != {i.key: i.split for i in open_source(str(root), seed=1).items}


def test_parallel_cache_equals_single_process(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", {"A": 40, "B": 30}, splits=("train",))  # >= 64 files: the pool path
    # Skipped slots early in the build order: the workers' rows after them must slide down into place.
    (root / "train" / "A" / "0-bad.png").write_bytes(b"not an image")
    (root / "train" / "A" / "1-copy.png").write_bytes((root / "train" / "A" / "0.png").read_bytes())
    one = prepare_cache(str(root), size=16, workers=1, out=tmp_path / "c1", progress=False)
    two = prepare_cache(str(root), size=16, workers=2, out=tmp_path / "c2", progress=False)
    assert len(one.labels) == 70 and one.index == two.index
    assert (tmp_path / "c1" / "images.u8").read_bytes() == (tmp_path / "c2" / "images.u8").read_bytes()
    assert skipped_items(one) == skipped_items(two) and len(skipped_items(two)) == 2
    assert "duplicate of train/A/0.png" in skipped_items(two)[1]["reason"]
    assert one.meta["fingerprint"] == two.meta["fingerprint"] and one.meta["policy"] == "center-crop"
    row = two.index.index(next(r for r in two.index if r["key"] == "train/B/29.png"))
    np.testing.assert_array_equal(two.images[row], decode_image((root / "train/B/29.png").read_bytes(), 16))


def test_dead_cache_worker_fails_the_build_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.data.build as build_mod

    root = make_folder(tmp_path / "d", {"A": 40, "B": 30}, splits=("train",))
    real = build_mod.decode_with_size

    def killed(data: bytes, size: int, policy: str):  # noqa: ANN202 - a worker killed mid-build (out of memory)
        if data == (root / "train" / "B" / "7.png").read_bytes():
            os._exit(9)
        return real(data, size, policy)

    monkeypatch.setattr(build_mod, "decode_with_size", killed)  # forked workers inherit the patch
    with pytest.raises(ArtstyleError, match="worker process died.*--workers 1"):
        prepare_cache(str(root), size=16, workers=2, out=tmp_path / "c", progress=False)
    assert not (tmp_path / "c").exists() and not list(tmp_path.glob(".c.tmp-*"))  # nothing left to trust


def test_a_second_build_of_the_same_cache_keeps_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two commands started at once on the same data both build its cache. The one that finishes second must not
    replace the first one's cache: the first command is already reading it (it failed with "classes.json does not
    exist" when its files were moved away). Here another process finishes the same cache while ours decodes."""
    import artstyle.data.cache as cache_mod

    root = make_folder(tmp_path / "d", {"A": 6, "B": 5}, splits=("train",))
    out = tmp_path / "c"
    real = cache_mod.decode_rows
    theirs: dict[str, int] = {}

    def with_a_rival(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - decode_rows' own signature
        code = ("import sys; from artstyle.data.cache import prepare_cache; "
                "prepare_cache(sys.argv[1], size=16, workers=1, out=sys.argv[2], progress=False)")
        subprocess.run([sys.executable, "-c", code, str(root), str(out)], check=True)
        theirs["inode"] = (out / "images.u8").stat().st_ino
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_mod, "decode_rows", with_a_rival)
    cache = prepare_cache(str(root), size=16, workers=1, out=out, progress=False)
    assert (out / "images.u8").stat().st_ino == theirs["inode"]  # the rival's cache stayed in place
    assert len(cache.labels) == 11 and (out / "classes.json").is_file()
    assert not list(tmp_path.glob(".c.*"))  # our copy, and no trash, left behind


def test_hf_save_to_disk_directory_and_offline_hub(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = {"image": [], "style": []}
    for i in range(6):
        buf = io.BytesIO()
        Image.new("RGB", (20, 20), (0, i * 40, 0)).save(buf, "PNG")
        rows["image"].append({"bytes": buf.getvalue(), "path": None})
        rows["style"].append(i % 2)
    features = datasets.Features({"image": datasets.Image(),
                                  "style": datasets.ClassLabel(names=["Baroque", "Ukiyo_e"])})
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(tmp_path / "saved"))
    cache = prepare_cache(str(tmp_path / "saved"), size=16, workers=1, progress=False)
    assert cache.classes == ["Baroque", "Ukiyo_e"] and len(cache.labels) == 6
    with pytest.raises(ArtstyleError, match="nobody/no-such-dataset.*--data DIR"):
        open_source("hf:nobody/no-such-dataset")


def test_stats_figures_and_synthetic_label(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from artstyle.cli import main
    from artstyle.data.sources import SYNTHETIC_MARKER
    from artstyle.data.stats import write_stats
    from artstyle.figures import SYNTHETIC_NOTE

    root = make_folder(tmp_path / "d", {"Baroque": 9, "Pop_Art": 3})
    (root / SYNTHETIC_MARKER).write_text("{}")
    run = write_stats(prepare_cache(str(root), size=16, workers=1, progress=False), tmp_path / "s")
    st = json.loads((run / "stats.json").read_text())
    assert st["synthetic"] and st["note"] == SYNTHETIC_NOTE
    assert st["imbalance_ratio"] == pytest.approx(st["counts"]["train"]["Baroque"] / st["counts"]["train"]["Pop_Art"])
    assert st["found"] == st["cached"] + st["skipped"]
    for name in ("class_counts.png", "samples.png", "samples_raw.png"):
        assert (run / "figures" / name).stat().st_size > 0, name
    with Image.open(run / "figures" / "samples_raw.png") as im:
        assert im.height > 2 * 16 + 16  # two rows of 16 px tiles plus the synthetic caption band
    with pytest.raises(SystemExit) as exit_info:  # an existing --out is never overwritten silently
        main(["data", "stats", "--data", str(root), "--size", "16", "--out", str(run)])
    assert exit_info.value.code != 0 and "--overwrite" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "stats", "--data", str(root), "--size", "16", "--out", str(run), "--overwrite"])
    assert exit_info.value.code == 0 and "SYNTHETIC" in capsys.readouterr().out


def test_resize_policies() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 0, 0)).save(buf, "PNG")
    pad = decode_image(buf.getvalue(), 16, policy="pad")
    assert pad[0].min() == 255 and pad[-1].min() == 255 and (pad[8] == (200, 0, 0)).all()  # letterboxed in white
    assert (decode_image(buf.getvalue(), 16, policy="squash") == (200, 0, 0)).all()
    with pytest.raises(ArtstyleError, match="--policy"):
        prepare_cache("builtin", size=16, policy="stretch")
