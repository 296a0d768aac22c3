"""A style-conditional PatchGAN discriminator, trained from scratch (``stylize train --w-adv``).

Usage::

    disc = PatchDiscriminator(num_styles=27, width=32)
    scores = disc(x, styles)               # x (N, 3, H, W) in [-1, 1], styles (N,) -> (N, 1, H/8, W/8) patch logits
    d_loss = hinge_d_loss(disc(real, own), disc(fake.detach(), target))
    g_term = hinge_g_loss(disc(fake, target))                   # (N,) per image

Three stride-2 4x4 convolutions (spectral-normalised, LeakyReLU) give a feature map whose every position sees a
patch of about 30 px; a 3x3 convolution scores each patch, and the *projection* term ``<embed(style), h>``
(Miyato & Koyama 2018) makes the score depend on the style asked for: a patch must look real *for that style*.
Hinge losses (Lim & Ye 2017; as in SAGAN/BigGAN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """Projection-conditioned PatchGAN. ``forward(x (N, 3, H, W), styles (N,)) -> (N, 1, H/8, W/8)``."""

    def __init__(self, num_styles: int, width: int = 32, layers: int = 3) -> None:
        super().__init__()
        convs, cin = [], 3
        for i in range(layers):
            cout = width * 2 ** i
            convs += [spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1, padding_mode="reflect")), nn.LeakyReLU(0.2)]
            cin = cout
        self.body = nn.Sequential(*convs)
        self.score = spectral_norm(nn.Conv2d(cin, 1, 3, 1, 1, padding_mode="reflect"))
        self.embed = nn.Embedding(num_styles, cin)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.num_styles, self.width, self.layers = num_styles, width, layers

    def forward(self, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        h = self.body(x.float())
        proj = (self.embed(styles)[:, :, None, None] * h).sum(1, keepdim=True)
        return self.score(h) + proj


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss from patch logits of real and generated images (a scalar)."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """Generator hinge term per image ``(N,)``: minus the mean patch logit of its generated image."""
    return -fake.float().flatten(1).mean(1)


__all__ = ["PatchDiscriminator", "hinge_d_loss", "hinge_g_loss"]
