"""The stylizer's detail gains (``stylize train --detail-gain``): how much of the input's own detail each pixel keeps.

Usage::

    gain = DetailGain(channels=16)              # reads the decoder's features at 1/4 of the image side
    y = gain(h, x)                              # x (N, 3, H, W); y == x while the gains are 1 (at initialisation)

The image splits into three bands, a two-level Laplacian pyramid (Burt and Adelson 1983) built from average pools
and bilinear upsampling, whose sum is the image exactly:

- ``base``: the 8 x 8 block means, upsampled;
- ``mid``: the 2 x 2 block means minus ``base`` (detail of 2 to 8 px);
- ``fine``: the image minus the 2 x 2 block means (detail of 1 to 2 px).

A 3 x 3 convolution of the decoder's features predicts two gains per 4 x 4 cell, ``1 + tanh(.)``, in (0, 2), read
bilinearly at every pixel: ``base + g_mid * mid + g_fine * fine``. 0 smooths a band away (an oil painting or a
flat segment drops the photograph's detail), 2 doubles it (a sharpened or embossed picture).

Why (issue 12): the version-3 stylizer adds a decoded change to its input, through a bottleneck of ``4w`` numbers
per 8 x 8 block of 192 pixel values. It can add texture, but it cannot cancel the input's own detail, which it no
longer knows exactly: on the real-image benchmark it scored 0 to 10% on the smoothing styles (oil painting, flat
segments, edge-preserving). A gain on the input's own bands removes detail without having to reproduce it. The
convolution starts at zero, so an untrained stylizer returns its input, as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def detail_bands(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(base, mid, fine)`` of ``x: (N, C, H, W)``, H and W multiples of 8; ``base + mid + fine == x``."""
    size = x.shape[-2:]

    def low(k: int) -> torch.Tensor:
        return F.interpolate(F.avg_pool2d(x, k), size=size, mode="bilinear", align_corners=False)

    base, l2 = low(8), low(2)
    return base, l2 - base, x - l2


class DetailGain(nn.Module):
    """Two gains per 4 x 4 cell from the decoder's features ``h: (N, C, H/4, W/4)``, applied to ``x``'s bands."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 2, 3, 1, 1, padding_mode="reflect")
        nn.init.zeros_(self.conv.weight)  # gains of 1: the identity
        nn.init.zeros_(self.conv.bias)

    def gains(self, h: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """``(N, 2, H, W)`` gains in (0, 2): the middle band's, then the fine band's."""
        g = 1 + torch.tanh(self.conv(h).float())
        return F.interpolate(g, size=size, mode="bilinear", align_corners=False)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        base, mid, fine = detail_bands(x.float())
        g = self.gains(h, tuple(x.shape[-2:]))
        return (base + g[:, :1] * mid + g[:, 1:] * fine).to(x.dtype)


__all__ = ["DetailGain", "detail_bands"]
