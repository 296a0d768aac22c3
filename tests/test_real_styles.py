"""benchmarks/real_styles.py: --extra-train adds training photographs and leaves the test split as it was."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
NAMES = ["Photo", "Oil", "Dither"]


def _module(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # real_styles.py imports photo_sources.py from beside it
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _photos(prefix: str, n: int, tiles: int) -> list[dict]:
    return [{"id": f"{prefix}/p{i}.jpg", "tiles": [[t, 0, t + 8, 8] for t in range(tiles)]} for i in range(n)]


def _items(dealt: list[dict]) -> list[tuple]:
    return [(it["photo"]["id"], tuple(it["box"]), it["style"]) for it in dealt]


def test_extra_training_photos_leave_the_test_tiles_and_the_class_sizes_unchanged() -> None:
    rs = _module("real_styles")
    args = SimpleNamespace(test_per_class=10, ratio=3.0, max_class=12, seed=5)
    train, test, extra = _photos("base", 4, 6), _photos("test", 2, 8), _photos("extra", 4, 6)
    plain, plain_counts = rs.deal_splits(train, test, [], NAMES, args, np.random.default_rng(args.seed))
    more, more_counts = rs.deal_splits(train, test, extra, NAMES, args, np.random.default_rng(args.seed))
    assert _items(more["test"]) == _items(plain["test"])
    assert more_counts == plain_counts == {"train": {"Photo": 12, "Oil": 7, "Dither": 4},
                                           "test": {"Photo": 10, "Oil": 10, "Dither": 10}}
    photos = {it["photo"]["id"] for it in more["train"]}
    assert {p for p in photos if p.startswith("extra/")}, "no training tile came from the extra photographs"
    assert not {it["photo"]["id"] for it in more["train"]} & {p["id"] for p in test}
    for style, count in plain_counts["train"].items():
        assert sum(it["style"] == style for it in more["train"]) == count


def test_scikit_learn_samples_are_listed_as_photographs() -> None:
    ps = _module("photo_sources")
    photos, absent = ps.list_photos([], {}, sklearn_names=ps.SKLEARN_PHOTOS)
    assert absent == [] and [p["id"] for p in photos] == ["scikit-learn/china.jpg", "scikit-learn/flower.jpg"]
    for p in photos:
        with Image.open(p["path"]) as im:
            assert list(im.size) == p["size"] == [640, 427]


DATA = Path(__file__).resolve().parent / "data"


def test_qt_resource_entries_are_read_at_every_format_version() -> None:
    """tests/data/qt_resource_v{1,2,3}.rcc: Qt 5's own ``rcc -binary --format-version N qt_resource.qrc`` output,
    two files under /res (one in a subfolder); rcc zlib-compressed the 540-byte text and stored the 8 bytes raw."""
    ps = _module("photo_sources")
    want = {"res/pics/a.bin": b"tiny raw", "res/pics/sub/b.txt": b"squeezed " * 60}
    for version in (1, 2, 3):
        blob = (DATA / f"qt_resource_v{version}.rcc").read_bytes()
        assert len(blob) < len(want["res/pics/sub/b.txt"]), "the text should be stored compressed"
        assert ps.rcc_entries(blob) == want, version
    try:
        ps.rcc_entries(b"PK\x03\x04 not a resource")
    except ValueError as e:
        assert "qres" in str(e)
    else:
        raise AssertionError("a file without the 'qres' header was read as a resource")
