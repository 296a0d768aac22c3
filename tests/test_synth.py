"""The built-in procedurally painted dataset: painters, counts, on-disk layout, determinism."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artstyle.constants import SYNTHETIC_MARKER as MARKER_NAME
from artstyle.data import synth
from artstyle.data.synth import SYNTH_VERSION, class_counts, paint, registry, write_builtin, writer
from artstyle.styles import STYLE_NAMES, STYLES


@pytest.mark.parametrize("size", [32, 64, 128])
def test_paint_every_style_shape_and_dtype(size: int) -> None:
    for i, style in enumerate(STYLE_NAMES):
        img = paint(style, np.random.default_rng(i), size)
        assert img.shape == (size, size, 3), style
        assert img.dtype == np.uint8, style
        assert img.std() > 2, f"{style} painted a blank picture"


def test_paint_odd_sizes() -> None:
    for style in STYLE_NAMES:
        for size in (17, 48):
            assert paint(style, np.random.default_rng(1), size).shape == (size, size, 3)


def test_paint_is_deterministic_per_seed() -> None:
    for style in STYLE_NAMES:
        a = paint(style, np.random.default_rng(123), 48)
        b = paint(style, np.random.default_rng(123), 48)
        c = paint(style, np.random.default_rng(124), 48)
        assert np.array_equal(a, b), style
        assert not np.array_equal(a, c), style


def test_paint_rejects_unknown_style() -> None:
    with pytest.raises(ValueError, match="unknown style"):
        paint("Vaporwave", np.random.default_rng(0))


def test_class_counts_scale_one_matches_course_copy() -> None:
    counts = class_counts(1.0)
    assert set(counts) == {"train", "test"}
    assert tuple(sorted(counts["train"])) == STYLE_NAMES
    assert {s.folder_name: s.course_train_count for s in STYLES} == counts["train"]
    assert sum(counts["train"].values()) == 13350
    assert sum(counts["test"].values()) == 630
    for name, n in counts["test"].items():  # proportional to train, within rounding
        assert n >= 1
        assert abs(n - 630 * counts["train"][name] / 13350) < 1.0, name


@pytest.mark.parametrize("scale", [0.001, 0.01, 0.1, 0.37, 2.0])
def test_class_counts_other_scales(scale: float) -> None:
    counts = class_counts(scale)
    by_name = {s.folder_name: s.course_train_count for s in STYLES}
    for name in STYLE_NAMES:
        assert counts["train"][name] == max(1, round(by_name[name] * scale))
        assert counts["test"][name] >= 1
    assert sum(counts["test"].values()) == max(27, round(630 * scale))


def test_class_counts_rejects_bad_scale() -> None:
    with pytest.raises(ValueError):
        class_counts(0)


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_write_builtin_layout_counts_and_marker(tmp_path: Path) -> None:
    out = write_builtin(tmp_path / "b", scale=0.01, size=32, seed=3, workers=1, progress=False)
    assert out == tmp_path / "b"
    counts = class_counts(0.01)
    for split in ("train", "test"):
        assert sorted(p.name for p in (out / split).iterdir()) == sorted(STYLE_NAMES)
        for style in STYLE_NAMES:
            files = sorted((out / split / style).iterdir())
            assert len(files) == counts[split][style]
            assert [f.name for f in files] == [f"{style.lower()}_{i:05d}.jpg" for i in range(len(files))]
    with Image.open(out / "train" / "Baroque" / "baroque_00000.jpg") as im:
        assert im.format == "JPEG" and im.size == (32, 32) and im.mode == "RGB"
    meta = json.loads((out / MARKER_NAME).read_text())
    assert meta == {"synthetic": True, "generator": "artstyle.data.synth", "version": SYNTH_VERSION,
                    "scale": 0.01, "size": 32, "seed": 3, "counts": counts}
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_write_builtin_is_byte_identical_across_runs_and_workers(tmp_path: Path) -> None:
    a = _hashes(write_builtin(tmp_path / "a", scale=0.01, size=32, seed=7, workers=1, progress=False))
    b = _hashes(write_builtin(tmp_path / "b", scale=0.01, size=32, seed=7, workers=1, progress=False))
    c = _hashes(write_builtin(tmp_path / "c", scale=0.01, size=32, seed=7, workers=2, progress=False))
    d = _hashes(write_builtin(tmp_path / "d", scale=0.01, size=32, seed=8, workers=1, progress=False))
    assert a == b
    assert a == c
    assert a.keys() == d.keys() and a != d


def test_write_builtin_rewrites_a_folder_and_drops_stale_images(tmp_path: Path) -> None:
    out = tmp_path / "b"
    write_builtin(out, scale=0.02, size=24, seed=0, workers=1, progress=False)
    (out / "train" / "Baroque" / "notes.txt").write_text("kept: not ours")
    write_builtin(out, scale=0.01, size=24, seed=0, workers=1, progress=False)
    counts = class_counts(0.01)
    for split in ("train", "test"):
        for style in STYLE_NAMES:
            assert len(list((out / split / style).glob("*.jpg"))) == counts[split][style]
    assert (out / "train" / "Baroque" / "notes.txt").exists()
    assert json.loads((out / MARKER_NAME).read_text())["scale"] == 0.01


def test_interrupted_write_leaves_no_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "b"
    write_builtin(out, scale=0.01, size=24, seed=0, workers=1, progress=False)
    assert (out / MARKER_NAME).exists()
    calls = {"n": 0}
    real_paint = synth.paint

    def flaky(style: str, rng: np.random.Generator, size: int = 128) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] > 20:
            raise KeyboardInterrupt  # as if the run were killed part-way
        return real_paint(style, rng, size)

    monkeypatch.setattr(writer, "paint", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_builtin(out, scale=0.01, size=24, seed=1, workers=1, progress=False)
    assert not (out / MARKER_NAME).exists()


def test_marker_name_matches_sources() -> None:
    from artstyle.data.sources import SYNTHETIC_MARKER

    assert MARKER_NAME == SYNTHETIC_MARKER


def test_file_names_are_ascii_lowercase() -> None:
    pattern = re.compile(r"^[a-z_]+_\d{5}\.jpg$")
    assert all(pattern.match(writer._file_name(s, 12)) for s in STYLE_NAMES)


@pytest.mark.parametrize("group", [
    ("Early_Renaissance", "High_Renaissance", "Mannerism_Late_Renaissance"),
    ("Analytical_Cubism", "Cubism", "Synthetic_Cubism"),
    ("Contemporary_Realism", "New_Realism", "Realism"),
    ("Impressionism", "Pointillism", "Post_Impressionism"),
])
def test_confusable_neighbours_share_a_painter(group: tuple[str, ...]) -> None:
    painters = {registry._PAINTERS[s][0] for s in group}
    params = [registry._PAINTERS[s][1] for s in group]
    assert len(painters) == 1, group
    assert all(a != b for i, a in enumerate(params) for b in params[i + 1:]), group


def test_synth_cli_writes_the_same_files_as_write_builtin(tmp_path: Path) -> None:
    from artstyle.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["data", "synth", str(tmp_path / "cli"), "--scale", "0.005", "--size", "24", "--seed", "5",
              "--workers", "1"])
    assert exit_info.value.code == 0
    direct = write_builtin(tmp_path / "api", scale=0.005, size=24, seed=5, workers=1, progress=False)
    assert _hashes(tmp_path / "cli") == _hashes(direct)
