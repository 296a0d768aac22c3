"""Texture descriptors of a whole picture, two classic ones: local binary patterns and the median residual.

Usage::

    stats = texture_statistics(q8)   # int (N, 3, H, W) in 0..255 -> float32 (N, TEXTURE_FEATURES)

The picture model (`picture_stats.py`) reads them beside its colour and edge statistics. Rotation-invariant
uniform local binary patterns (Ojala, Pietikainen and Maenpaa 2002; the same codes as scikit-image's
``local_binary_pattern(image, P, R, method="uniform")`` on an edge-padded image) at three radii describe the
micro-texture: smooth gradients, edges, corners and grain each make their own patterns. How far each value strays
from its 3 x 3 median, at full and half size, reads impulse grain, dither and dots that a smoothing filter would
remove. Both were chosen by a grouped cross-validation on the real-image benchmark's training folder
(`benchmarks/picture_model_cv.py`; docs/results.md, section 7, nineteenth session).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

LBP_RINGS = ((8, 1), (16, 2), (24, 3))
"""(points, radius) of the local binary patterns: Ojala et al.'s three rings, P + 2 histogram bins each."""
MEDIAN_Q = (0.5, 0.9, 0.99)
"""Quantiles of the absolute 3 x 3 median residual, beside the share of values off their median and its colour."""
TEXTURE_FEATURES = sum(p + 2 for p, _ in LBP_RINGS) + 2 * (len(MEDIAN_Q) + 2)
"""The width of :func:`texture_statistics` (64)."""
_MEDIAN9 = ((1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8), (0, 3), (5, 8), (4, 7), (3, 6),
            (1, 4), (2, 5), (4, 7), (4, 2), (6, 4), (4, 2))
"""Paeth's 19 compare-and-swap steps that leave the median of 9 values in the middle slot."""


def nearest_ranks(count: int, qs: Sequence[float]) -> torch.Tensor:
    """The 0-based ranks of the quantiles ``qs`` among ``count`` sorted values (nearest rank), the one rule every
    quantile of the picture model uses."""
    return torch.tensor([min(count - 1, round(q * (count - 1))) for q in qs])


def _lbp_histogram(y: torch.Tensor, points: int, radius: int) -> torch.Tensor:
    """``(N, H, W)`` grey levels -> ``(N, points + 2)``: the share of pixels with each rotation-invariant uniform
    local binary pattern (as scikit-image's ``method="uniform"``). Each of ``points`` neighbours on a circle of
    ``radius`` (bilinear, edges replicated) sets a bit when it is at least the centre; a pattern with at most two
    0/1 changes around the circle is binned by its count of ones, every other one in the last bin. Float64, so
    that a neighbour interpolated in a flat area equals its centre but for rounding far below 1e-9."""
    n, h, w = y.shape
    pad = radius + 1
    p = nn.functional.pad(y[:, None].double(), (pad,) * 4, mode="replicate")[:, 0]
    centre = y.double() - 1e-9
    ones, changes, v = torch.zeros(y.shape, dtype=torch.uint8), torch.zeros(y.shape, dtype=torch.uint8), centre.clone()
    first = previous = None
    for k in range(points):
        angle = 2 * np.pi * k / points
        dy, dx = round(-radius * np.sin(angle), 5), round(radius * np.cos(angle), 5)
        y0, x0 = int(np.floor(dy)), int(np.floor(dx))
        fy, fx = dy - y0, dx - x0
        torch.mul(p[:, pad + y0:pad + y0 + h, pad + x0:pad + x0 + w], (1 - fy) * (1 - fx), out=v)
        for oy, ox, share in ((1, 0, fy * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 1, fy * fx)):
            if share > 0:
                v.add_(p[:, pad + y0 + oy:pad + y0 + oy + h, pad + x0 + ox:pad + x0 + ox + w], alpha=share)
        bit = v >= centre
        ones += bit
        if previous is None:
            first = bit
        else:
            changes += bit != previous
        previous = bit
    changes += previous != first
    code = torch.where(changes <= 2, ones, points + 1).long().flatten(1) + torch.arange(n)[:, None] * (points + 2)
    return torch.bincount(code.flatten(), minlength=n * (points + 2)).view(n, points + 2).float() / (h * w)


def median3(x: torch.Tensor) -> torch.Tensor:
    """The 3 x 3 median of each channel of uint8 ``(N, C, H, W)`` (edges replicated), by a sorting network."""
    h, w = x.shape[-2:]
    p = nn.functional.pad(x.float(), (1, 1, 1, 1), mode="replicate").to(torch.uint8)
    v = [p[..., i:i + h, j:j + w].contiguous() for i in range(3) for j in range(3)]
    for a, b in _MEDIAN9:
        v[a], v[b] = torch.minimum(v[a], v[b]), torch.maximum(v[a], v[b])
    return v[4]


def _median_residual(q8: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` -> ``(N, len(MEDIAN_Q) + 2)``: exact quantiles of ``|x - median3(x)|`` over every
    channel value (log1p; nearest rank, from a 256-bin histogram), the share of values off their median, and
    ``log(1 + a) - log(1 + b)``, ``a`` the mean absolute residual across the three channels around their mean and
    ``b`` that of their mean (colour grain against grey grain)."""
    r = q8.float() - median3(q8).float()
    a = r.abs().flatten(1)
    n, m = a.shape
    counts = torch.bincount((a.long() + 256 * torch.arange(n)[:, None]).flatten(), minlength=256 * n).view(n, 256)
    ranks = nearest_ranks(m, MEDIAN_Q).expand(n, -1).contiguous()
    quantiles = torch.searchsorted(counts.cumsum(1), ranks, right=True).float()  # the value at each rank
    grey = r.mean(1, keepdim=True)
    colour = (r - grey).abs().mean((1, 2, 3)).log1p() - grey.abs().mean((1, 2, 3)).log1p()
    return torch.cat([quantiles.log1p(), 1 - counts[:, :1] / m, colour[:, None]], 1)


def texture_statistics(q8: torch.Tensor) -> torch.Tensor:
    """int ``(N, 3, H, W)`` in 0..255 -> float32 ``(N, TEXTURE_FEATURES)``: local binary patterns at
    :data:`LBP_RINGS` of the grey image as Pillow's ``convert("L")`` makes it (integer weights, so no grey level is
    rounded down), then the median residual at full and half size."""
    grey = ((q8[:, 0] * 19595 + q8[:, 1] * 38470 + q8[:, 2] * 7471 + 0x8000) >> 16).float()
    half = nn.functional.avg_pool2d(q8.float(), 2).round().to(torch.uint8)
    return torch.cat([*(_lbp_histogram(grey, p, r) for p, r in LBP_RINGS), _median_residual(q8.to(torch.uint8)),
                      _median_residual(half)], 1)


__all__ = ["LBP_RINGS", "MEDIAN_Q", "TEXTURE_FEATURES", "median3", "nearest_ranks", "texture_statistics"]
