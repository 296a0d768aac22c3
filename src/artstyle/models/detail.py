"""The stylizer's detail gains (``stylize train --detail-gain``): how much of the input's own detail each pixel keeps.

Usage::

    gain = DetailGain(channels=16)              # reads the decoder's features at 1/4 of the image side
    y = gain(h, x)                              # x (N, 3, H, W); y == x while the gains are 1 (at initialisation)
    gain = DetailGain(channels=16, reach=32)    # a third band, 8-32 px (stylize train --detail-reach 32)

The image splits into bands, a Laplacian pyramid (Burt and Adelson 1983) built from average pools and bilinear
upsampling, whose sum is the image exactly:

- ``base``: the ``reach x reach`` block means, upsampled (8 x 8 by default);
- ``coarse`` (``reach=32`` only): the 8 x 8 block means minus ``base`` (detail of 8 to 32 px);
- ``mid``: the 2 x 2 block means minus the 8 x 8 ones (detail of 2 to 8 px);
- ``fine``: the image minus the 2 x 2 block means (detail of 1 to 2 px).

A 3 x 3 convolution of the decoder's features predicts one gain per band per 4 x 4 cell, ``1 + tanh(.)``, in
(0, 2), read bilinearly at every pixel: ``base + g_mid * mid + g_fine * fine`` (plus ``g_coarse * coarse``). 0
smooths a band away (an oil painting or a flat segment drops the photograph's detail), 2 doubles it (a sharpened
or embossed picture).

Why (issue 12): the version-3 stylizer adds a decoded change to its input, through a bottleneck of ``4w`` numbers
per 8 x 8 block of 192 pixel values. It can add texture, but it cannot cancel the input's own detail, which it no
longer knows exactly: on the real-image benchmark it scored 0 to 10% on the smoothing styles (oil painting, flat
segments, edge-preserving). A gain on the input's own bands removes detail without having to reproduce it. The
convolution starts at zero, so an untrained stylizer returns its input, as before.

Why ``reach=32`` (issue 12, twenty-first session): flat segments and watercolour flatten regions wider than the
8 px the two default bands reach, and scored 0 to 5% with them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


REACHES = (8, 32)
"""The coarsest detail (px) the gains can scale: 8 (two bands, the default) or 32 (three)."""


def detail_bands(x: torch.Tensor, reach: int = 8) -> tuple[torch.Tensor, ...]:
    """``(base, mid, fine)`` of ``x: (N, C, H, W)``, H and W multiples of 8, or ``(base, coarse, mid, fine)`` with
    ``reach=32``; the bands sum to ``x``. A side that is not a multiple of a block is padded by repeating its edge,
    so every block mean lands on its own block (not stretched over the side) and the padding is cut off again."""
    if reach not in REACHES:
        raise ValueError(f"detail reach {reach} is not one of {REACHES}")
    height, width = x.shape[-2:]

    def low(k: int) -> torch.Tensor:
        pad_h, pad_w = -height % k, -width % k
        padded = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
        up = F.interpolate(F.avg_pool2d(padded, k), size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return up[..., :height, :width]

    l8, l2 = low(8), low(2)
    if reach == 8:
        return l8, l2 - l8, x - l2
    base = low(32)
    return base, l8 - base, l2 - l8, x - l2


class DetailGain(nn.Module):
    """A gain per band per 4 x 4 cell from the decoder's features ``h: (N, C, H/4, W/4)``, applied to ``x``'s bands
    (two bands up to ``reach=8`` px, three up to 32)."""

    def __init__(self, channels: int, reach: int = 8) -> None:
        super().__init__()
        if reach not in REACHES:
            raise ValueError(f"detail reach {reach} is not one of {REACHES}")
        self.reach = reach
        self.conv = nn.Conv2d(channels, 2 if reach == 8 else 3, 3, 1, 1, padding_mode="reflect")
        nn.init.zeros_(self.conv.weight)  # gains of 1: the identity
        nn.init.zeros_(self.conv.bias)

    def gains(self, h: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """``(N, B, H, W)`` gains in (0, 2), coarsest band first: (middle, fine), or (coarse, middle, fine)."""
        g = 1 + torch.tanh(self.conv(h).float())
        return F.interpolate(g, size=size, mode="bilinear", align_corners=False)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        base, *bands = detail_bands(x.float(), self.reach)
        g = self.gains(h, tuple(x.shape[-2:]))
        for i, band in enumerate(bands):
            base = base + g[:, i:i + 1] * band
        return base.to(x.dtype)


__all__ = ["DetailGain", "REACHES", "detail_bands"]
