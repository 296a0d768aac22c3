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

:class:`FeatureDiscriminator` (``--adv-input classifier``) scores the frozen loss classifier's feature maps instead
of the pixels, one small projection-conditioned head per map (Projected GAN, Sauer et al. 2021; Vision-aided GAN,
Kumari et al. 2022): it starts from features that already tell the styles apart, and asks that a re-rendering's
features lie where real pictures of the target style put them, not merely across the classifier's boundary.
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


class FeatureDiscriminator(nn.Module):
    """Projection-conditioned heads on feature maps. ``forward(maps [(N, C_l, H_l, W_l)], styles (N,)) ->
    (N, sum_l H_l * W_l)``: every head's patch logits, flattened and concatenated (the hinge losses take any
    shape). Only the heads train; the maps come from a frozen network, whose gradient reaches the generator."""

    def __init__(self, channels: list[int], num_styles: int, width: int = 64) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            nn.Sequential(spectral_norm(nn.Conv2d(c, width, 3, 1, 1)), nn.LeakyReLU(0.2)) for c in channels)
        self.scores = nn.ModuleList(spectral_norm(nn.Conv2d(width, 1, 1)) for _ in channels)
        self.embed = nn.Embedding(num_styles, width * len(channels))
        nn.init.normal_(self.embed.weight, std=0.02)
        self.channels, self.num_styles, self.width = list(channels), num_styles, width

    def forward(self, maps: list[torch.Tensor], styles: torch.Tensor) -> torch.Tensor:
        if len(maps) != len(self.heads):
            raise ValueError(f"FeatureDiscriminator: {len(maps)} feature maps for {len(self.heads)} heads")
        embeds = self.embed(styles).chunk(len(self.heads), 1)
        out = []
        for m, head, score, e in zip(maps, self.heads, self.scores, embeds):
            h = head(m.float())
            out.append((score(h) + (e[:, :, None, None] * h).sum(1, keepdim=True)).flatten(1))
        return torch.cat(out, 1)


def build_discriminator(adv_input: str, num_styles: int, width: int, classifier: nn.Module | None = None,
                        clf_size: int = 0) -> nn.Module:
    """The ``--w-adv`` discriminator for ``--adv-input``: ``pixels``, a :class:`PatchDiscriminator` of ``width``;
    ``classifier``, a :class:`FeatureDiscriminator` of ``4 * width`` per head, sized to the feature maps that the
    frozen ``classifier`` (which must have ``feature_maps``) makes of a ``clf_size`` px image."""
    if adv_input == "pixels":
        return PatchDiscriminator(num_styles, width=width)
    with torch.no_grad():
        maps = classifier.feature_maps(torch.zeros(1, 3, clf_size, clf_size))
    return FeatureDiscriminator([m.shape[1] for m in maps], num_styles, width=4 * width)


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss from patch logits of real and generated images (a scalar)."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """Generator hinge term per image ``(N,)``: minus the mean patch logit of its generated image."""
    return -fake.float().flatten(1).mean(1)


__all__ = ["FeatureDiscriminator", "PatchDiscriminator", "build_discriminator", "hinge_d_loss", "hinge_g_loss"]
