"""The helpers of benchmarks/stylize_truth.py and stylize_frontier.py that need no benchmark data: the colour distance,
the tile sample and the overlay curve's interpolation."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _truth(name: str = "stylize_truth"):
    sys.path.insert(0, str(BENCH))  # the script imports its sibling _report
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_colour_chi2_is_zero_for_same_colours_and_one_for_disjoint():
    st = _truth()
    red = np.zeros((1, 8, 8, 3), np.uint8)
    red[..., 0] = 250
    blue = np.zeros_like(red)
    blue[..., 2] = 250
    shuffled = red.copy()[:, ::-1]  # same colours, other places
    half = red.copy()
    half[:, :4] = blue[:, :4]
    d = st.colour_chi2(np.concatenate([red, red, red]), np.concatenate([shuffled, blue, half]))
    assert np.allclose(d, [0.0, 1.0, 1 / 3])  # half/half vs all red: 0.5 * (0.5^2/1.5 + 0.5^2/0.5)


def test_pick_tiles_is_seeded_distinct_and_test_only():
    st = _truth()
    images = [{"file": f"{split}/S{i % 3}/x{i}.jpg", "photo": f"p{i % 4}", "box": [i % 6, 0, 1, 1]}
              for split in ("train", "test") for i in range(24)]
    a, b = st.pick_tiles({"images": images}, 5, 0), st.pick_tiles({"images": images}, 5, 0)
    assert a == b and len(a) == 5
    assert all(t["file"].startswith("test/") for t in a)
    assert len({(t["photo"], tuple(t["box"])) for t in a}) == 5  # 12 distinct boxes in test; no box twice
    assert st.pick_tiles({"images": images}, 100, 0).__len__() == 12
    assert [t["photo"] for t in a] == sorted(t["photo"] for t in a)  # one photo's tiles together (loaded once)


def test_frontier_at_interpolates_the_overlay_curve():
    fr = _truth("stylize_frontier")
    points = [{"alpha": 0.0, "ssim": 1.0, "hit_rate": 0.0}, {"alpha": 0.5, "ssim": 0.6, "hit_rate": 0.2},
              {"alpha": 1.0, "ssim": 0.2, "hit_rate": 0.8}]
    assert fr.frontier_at(points, 0.8) == pytest.approx(0.1) and fr.frontier_at(points, 0.4) == pytest.approx(0.5)
    assert fr.frontier_at(points, 0.1) == 0.8  # beyond the curve: its end
