"""How far does copying a real painting get? The judge's hit rate against SSIM when a training painting of the
target style is laid over the input.

Usage::

    result = overlay_frontier("runs/stylize/<run>", judge="runs/classify/<judge>", pairs=300)
    result["points"]    # [{"alpha": 0.5, "hit_rate": 0.237, "hit_rate_se": ..., "ssim": 0.563}, ...]

A stylizer is scored by two numbers that pull against each other: the judge's hit rate on the target style
(style) and SSIM to the input (content). This module measures the trade-off of the bluntest method that has both:
``(1 - alpha) * input + alpha * painting``, where ``painting`` is a random training image of the target style
(seeded, one per pair). At ``alpha`` 0 it is the identity; at 1 it is a real painting of the target style, which
the judge recognises about as often as it is accurate. On the same pairs as :func:`evaluate_stylizer` (same data,
seed and pair count), a stylizer's point can be read against this curve: above it, the stylizer carries more of
the target style at that SSIM than a real painting shown through the input does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artstyle.classify import map_classes
from artstyle.inference import read_rows
from artstyle.metrics import ssim_uint8

OVERLAY_ALPHAS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""The overlay weights :func:`overlay_frontier` measures by default."""


def overlay(images: np.ndarray, paintings: np.ndarray, alpha: float) -> np.ndarray:
    """uint8 ``(1 - alpha) * images + alpha * paintings``, rounded; both ``(N, S, S, 3)`` uint8."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha} is outside [0, 1]")
    mix = (1.0 - alpha) * images.astype(np.float32) + alpha * paintings.astype(np.float32)
    return np.clip(np.round(mix), 0, 255).astype(np.uint8)


def target_paintings(cache: Any, classes: Sequence[str], targets: np.ndarray, seed: int = 0) -> np.ndarray:
    """One seeded random training image of each target style: uint8 ``(P, S, S, 3)``. ``targets`` are indices
    into ``classes`` (the stylizer's), mapped to the cache's classes by name."""
    rows = cache.indices("train")
    labels = map_classes(list(classes), cache.classes)[cache.labels[rows]]
    rng = np.random.default_rng(seed)
    pick = np.empty(len(targets), dtype=np.int64)
    for i, t in enumerate(targets):
        own = rows[labels == t]
        if len(own) == 0:
            raise ValueError(f"no training image of style {classes[t]} to overlay")
        pick[i] = rng.choice(own)
    order = np.argsort(pick, kind="stable")  # sequential reads from the memory-mapped cache
    out = np.empty((len(pick), *cache.images.shape[1:]), dtype=np.uint8)
    out[order] = read_rows(cache.images, pick[order])
    return out


def overlay_frontier(run: str | Path, judge: str | Path, data: str | None = None, pairs: int = 500, seed: int = 0,
                     alphas: Sequence[float] = OVERLAY_ALPHAS, cache: Any = None,
                     judge_view: str = "recipe") -> dict[str, Any]:
    """The judge's hit rate and SSIM of :func:`overlay` at each of ``alphas``, on the mismatched test pairs
    :func:`artstyle.stylize.evaluate.evaluate_stylizer` scores for ``run`` with the same ``data``, ``pairs`` and
    ``seed``. Returns ``{"judge", "pairs", "seed", "data", "synthetic", "points": [{"alpha", "hit_rate",
    "hit_rate_se", "ssim"}, ...]}``. The stylizer's weights are not used; the run gives the styles and the data.
    ``judge_view``: how the judge reads a picture, as in the evaluation (:mod:`artstyle.stylize.judging`)."""
    from artstyle.stylize.evaluate import evaluation_cache, judge_indices, mismatched_pairs
    from artstyle.stylize.judging import judge_probs, load_judge
    from artstyle.stylize.load import load_stylizer

    _, info = load_stylizer(run)
    judge_model, judge_info = load_judge(judge, judge_view)
    if cache is None:
        cache = evaluation_cache(info, data)
    classes = info["classes"]
    rows, _, _, (img_idx, targets) = mismatched_pairs(info, judge_info, cache, pairs, seed, judge)
    images = read_rows(cache.images, rows[img_idx])
    paintings = target_paintings(cache, classes, targets, seed)
    jt = judge_indices(judge_info, [classes[t] for t in targets])  # every target is judged (mismatched_pairs)
    points = []
    for alpha in alphas:
        out = overlay(images, paintings, alpha)
        hit = judge_probs(judge_model, judge_info, out).argmax(1) == jt
        points.append({"alpha": float(alpha), "hit_rate": float(hit.mean()),
                       "hit_rate_se": float(np.sqrt(hit.mean() * (1 - hit.mean()) / max(1, len(hit)))),
                       "ssim": float(ssim_uint8(images, out).mean())})
    return {"judge": str(judge), "judge_view": judge_view, "pairs": int(len(targets)), "seed": seed, "data": cache.source,
            "synthetic": bool(cache.synthetic or info["synthetic"]), "points": points}


__all__ = ["OVERLAY_ALPHAS", "overlay", "overlay_frontier", "target_paintings"]
