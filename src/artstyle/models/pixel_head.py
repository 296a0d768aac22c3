"""The stylizer's pixel head (``stylize train --pixel-head``): a last, style-modulated step at full resolution.

Usage::

    head = PixelHead(channels=16, hidden=128)   # decoder features at 1/4 of the image side, style code of 128
    out = head(y, h, s)                         # y (N, 3, H, W); out == y at initialisation

Every pixel of the re-rendering ``y`` gets a change from a small network that reads

- ``y``'s own 3 x 3 neighbourhood at full resolution (one 3 x 3 convolution),
- the decoder's features ``h`` at ``H/4``, bilinearly upsampled (what the coarse network knows of the picture),

modulated by the style (``1 + gamma``, ``beta`` from the style code ``s``), then two 1 x 1 convolutions with
leaky ReLUs. Its last convolution starts at zero, so an untrained head returns ``y``.

Why (issue 12, twenty-second session): the version-3 stylizer decodes its change from ``w`` channels per 4 x 4
cell, so it cannot apply a non-linear function to each pixel's own value. Posterize (a few colour levels), dither
(a threshold per pixel), colour pencil (pixel-thin strokes) and relief (an emboss filter) are such functions, and
scored 0 to 26% on the real-image benchmark. A palette or a tone curve, part of many painting styles, is one too.
The head costs two small convolutions at full resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PixelHead(nn.Module):
    """``y + change``, the change per pixel from ``y``'s 3 x 3 neighbourhood and the upsampled decoder features,
    modulated by the style code ``s: (N, hidden)``."""

    def __init__(self, channels: int, hidden: int, width: int = 16) -> None:
        super().__init__()
        self.local = nn.Conv2d(3, width, 3, 1, 1, padding_mode="reflect")
        self.context = nn.Conv2d(channels, width, 1)
        self.modulation = nn.Linear(hidden, 2 * width)
        self.mix = nn.Conv2d(width, width, 1)
        self.out = nn.Conv2d(width, 3, 1)
        nn.init.zeros_(self.modulation.weight)  # 1 + gamma = 1, beta = 0 at first
        nn.init.zeros_(self.modulation.bias)
        nn.init.zeros_(self.out.weight)  # the identity at first
        nn.init.zeros_(self.out.bias)

    def forward(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        context = F.interpolate(self.context(h), size=y.shape[-2:], mode="bilinear", align_corners=False)
        a = self.local(y) + context.to(y.dtype)
        gamma, beta = self.modulation(s.float()).chunk(2, 1)
        a = a * (1 + gamma[..., None, None].to(a.dtype)) + beta[..., None, None].to(a.dtype)
        a = F.leaky_relu(self.mix(F.leaky_relu(a, 0.2)), 0.2)
        return y + self.out(a)


__all__ = ["PixelHead"]
