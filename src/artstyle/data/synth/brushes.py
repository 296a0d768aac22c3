"""Brushwork: one layer of broken-colour brush marks laid over a canvas.

Usage::

    from artstyle.data.synth.brushes import marks
    canvas = marks(canvas, scene, rng, length=8.0, width=4.0, angle=0.3)   # (3, S, S) -> (3, S, S)
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.primitives import F32, uv


def _quantise(img: np.ndarray, pal: np.ndarray, step: int) -> np.ndarray:
    """Index of the nearest palette colour, on a grid subsampled by ``step`` (cheap, and enough for marks)."""
    small = img[:, ::step, ::step]
    return ((small[None] - pal[:, :, None, None]) ** 2).sum(1).argmin(0)


def marks(canvas: np.ndarray, scene: np.ndarray, rng: np.random.Generator, length: float, width: float,
          angle: float | np.ndarray = 0.0, jitter: float = 0.1, fill: float = 0.42,
          pal: np.ndarray | None = None, swap: float = 0.0, streaks: float = 0.0) -> np.ndarray:
    """Cover ``canvas`` with one layer of brush marks (ellipses ``length`` x ``width`` px, in bricked rows).

    Each mark takes the ``scene`` colour under its centre plus random jitter: broken-colour brushwork.
    ``angle`` may be an (S, S) field, which bends the rows into flowing strokes. ``fill`` is the mark radius
    in cell units: below 0.5 leaves gaps (and drops a few marks), above it overlaps. With ``pal``, colours
    snap to the nearest palette colour and a ``swap`` fraction of marks take a random palette colour instead
    (pointillist optical mixing). ``streaks`` darkens bristle lines along the marks.
    """
    size = scene.shape[1]
    yy, xx = uv(size)
    c, s = np.cos(angle).astype(F32), np.sin(angle).astype(F32)
    x, y = xx * size, yy * size
    # The +512 keeps u, v positive so astype(int) floors; the cell grid is rotated by `angle`.
    u = (x * c + y * s) * F32(1 / length) + F32(512)
    v = (y * c - x * s) * F32(1 / width) + F32(512 + rng.random())
    iv = v.astype(np.int32)
    u = u + np.take(rng.random(64, dtype=F32), iv & 63)  # brick offsets: rows of marks don't line up
    iu = u.astype(np.int32)
    fu, fv = u - iu - F32(0.5), v - iv - F32(0.5)
    # Per-mark random numbers: a random table indexed by a hash of the cell (int32 wrap-around is fine).
    r = np.take(rng.random((8, 4096), dtype=F32), (iu * 73856093 ^ iv * 19349663) & 4095, axis=1)
    a = fill * (F32(0.75) + F32(0.5) * r[0])
    b = fill * (F32(0.75) + F32(0.5) * r[1])
    inside = (fu / a) ** 2 + (fv / b) ** 2 < 1
    if fill < 0.5:
        inside &= r[5] < 0.93
    # The mark's centre in pixels, found by stepping back along the local axes.
    cx = np.clip(x - fu * (length * c) + fv * (width * s), 0, size - 1).astype(np.int32)
    cy = np.clip(y - fu * (length * s) - fv * (width * c), 0, size - 1).astype(np.int32)
    if pal is None:
        col = np.take(scene.reshape(3, -1), cy * size + cx, axis=1).reshape(3, size, size)
    else:
        step = max(1, int(min(length, width) / 2))
        q = _quantise(scene, pal, step)
        idx = np.take(q, (cy // step) * q.shape[1] + cx // step)
        if swap > 0:
            idx = np.where(r[6] < swap, (r[7] * len(pal)).astype(np.int32), idx)
        col = np.take(pal.T, idx, axis=1)
    col = col + F32(jitter) * (r[2:5] - F32(0.5))
    if streaks > 0:
        bristle = np.take(rng.random(97, dtype=F32), (fv * 9 + 50).astype(np.int32) % 97)
        col = col * (1 - F32(streaks) * bristle)
    return np.where(inside, col, canvas)
