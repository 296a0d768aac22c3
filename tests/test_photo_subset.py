"""benchmarks/photo_subset.py: a seeded share of the training photographs, and every test tile unchanged."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _subset():
    spec = importlib.util.spec_from_file_location("photo_subset", BENCH / "photo_subset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _benchmark(root: Path) -> dict:
    """A benchmark.json as real_styles.py writes it: 6 training photographs with 2 tiles each, 2 test ones."""
    images = []
    for split, photos in (("train", [f"pkg/p{i}.jpg" for i in range(6)]), ("test", ["pkg/t0.jpg", "pkg/t1.jpg"])):
        for n, photo in enumerate(photos):
            for style in ("Photo", "Dither"):
                file = f"{split}/{style}/{split}_{n}_{Path(photo).stem}.jpg"
                (root / file).parent.mkdir(parents=True, exist_ok=True)
                (root / file).write_bytes(f"{file}".encode())
                images.append({"file": file, "photo": photo})
    meta = {"photos": {"train": [{"id": f"pkg/p{i}.jpg"} for i in range(6)],
                       "test": [{"id": "pkg/t0.jpg"}, {"id": "pkg/t1.jpg"}]}, "images": images}
    (root / "benchmark.json").write_text(json.dumps(meta))
    return meta


def test_subset_keeps_the_photographs_it_names_and_every_test_tile(tmp_path: Path) -> None:
    ps = _subset()
    meta = _benchmark(tmp_path / "src")
    record = ps.write_subset(tmp_path / "src", tmp_path / "half", 0.5, seed=3)
    kept = set(record["train_photos"])
    assert len(kept) == 3 and record["of_train_photos"] == 6
    train = sorted(p.relative_to(tmp_path / "half").as_posix() for p in (tmp_path / "half" / "train").rglob("*.jpg"))
    assert train == sorted(i["file"] for i in meta["images"] if i["file"].startswith("train/") and i["photo"] in kept)
    test = sorted(p.relative_to(tmp_path / "half").as_posix() for p in (tmp_path / "half" / "test").rglob("*.jpg"))
    assert test == sorted(i["file"] for i in meta["images"] if i["file"].startswith("test/"))
    link = tmp_path / "half" / test[0]
    assert link.is_symlink() and link.read_bytes() == test[0].encode()  # a link to the source tile, not a copy
    assert record["counts"] == {"train": {"Photo": 3, "Dither": 3}, "val": {}, "test": {"Photo": 2, "Dither": 2}}
    assert not (tmp_path / "half" / "val").exists() and record["val_photos"] == []
    assert json.loads((tmp_path / "half" / "subset.json").read_text())["train_photos"] == record["train_photos"]


def test_val_photos_validate_on_photographs_the_training_folder_lacks(tmp_path: Path) -> None:
    """--val-photos: every tile of the chosen photographs goes to val/, none stays in train/; test/ is unchanged,
    and artstyle then uses that val/ folder instead of carving one from train/."""
    ps = _subset()
    meta = _benchmark(tmp_path / "src")
    record = ps.write_subset(tmp_path / "src", tmp_path / "v", 1.0, seed=0, val_photos=2)
    val, train = set(record["val_photos"]), set(record["train_photos"])
    assert len(val) == 2 and len(train) == 4 and not val & train
    for split, photos in (("val", val), ("train", train)):
        folder = tmp_path / "v" / split
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jpg"))
        want = sorted(i["file"].split("/", 1)[1] for i in meta["images"]
                      if i["file"].startswith("train/") and i["photo"] in photos)
        assert files == want
    assert record["counts"]["val"] == {"Photo": 2, "Dither": 2}
    from artstyle.data.sources import open_source

    splits = {item.key: item.split for item in open_source(str(tmp_path / "v")).items}
    assert sum(s == "val" for s in splits.values()) == 4 and sum(s == "train" for s in splits.values()) == 8


def test_the_same_seed_keeps_the_same_photographs_whatever_their_order() -> None:
    ps = _subset()
    photos = [f"p{i}" for i in range(10)]
    assert ps.keep_photos(photos, 0.3, 1) == ps.keep_photos(photos[::-1], 0.3, 1)
    assert len(ps.keep_photos(photos, 0.3, 1)) == 3 and len(ps.keep_photos(photos, 0.01, 1)) == 1
    assert ps.keep_photos(photos, 0.5, 1) != ps.keep_photos(photos, 0.5, 2)


def test_errors_are_counted_per_source_photograph() -> None:
    """benchmarks/errors_by_photo.py: a tile's photograph is the name after its number (underscores kept), its true
    style is its folder."""
    spec = importlib.util.spec_from_file_location("errors_by_photo", BENCH / "errors_by_photo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    preds = [{"path": "b/test/Photo/test_00000_By_the_Water.jpg", "top": [{"style": "Detail_Enhance"}]},
             {"path": "b/test/Relief/test_00020_By_the_Water.jpg", "top": [{"style": "Relief"}]},
             {"path": "b/test/Photo/test_00001_stuff.jpg", "top": [{"style": "Photo"}]}]
    tiles, errors = module.errors_by_photo(preds)
    assert tiles == {"By_the_Water": 2, "stuff": 1} and errors == {"By_the_Water": 1, "stuff": 0}


def test_picture_model_cv_keeps_a_photograph_in_one_fold() -> None:
    """benchmarks/picture_model_cv.py: a tile's photograph comes from its cache key, and folds by photograph score
    a model on photographs it has not seen. Here each photograph has a random label and a feature that names it:
    folds that split photographs read that feature; folds by photograph cannot, and score near chance."""
    spec = importlib.util.spec_from_file_location("picture_model_cv", BENCH / "picture_model_cv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.photo_of("train/Relief/train_00020_By_the_Water.jpg") == "By_the_Water"
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    photos = np.repeat(np.arange(40), 10)
    labels = rng.integers(0, 4, 40)[photos]
    X = (np.arange(40)[photos] + rng.normal(0, 0.01, len(photos)))[:, None]  # which photograph, nothing else
    make = lambda: KNeighborsClassifier(1)  # noqa: E731
    by_tile = module.grouped_scores(make, X, labels, None, 5, 4)
    by_photo = module.grouped_scores(make, X, labels, photos.astype(str), 5, 4)
    assert by_tile["balanced_accuracy"] > 0.95 and by_photo["balanced_accuracy"] < 0.5
