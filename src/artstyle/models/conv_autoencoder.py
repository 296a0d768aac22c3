"""The oldest autoencoder, ``conv``: a dense vector bottleneck (built by name in :mod:`artstyle.models.autoencoder`).

Usage: ``model = ConvAutoencoder(latent_dim=256, img_size=64)``; ``z = model.encode(x)``; ``model.decode(z)``.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    """Conv -> BatchNorm -> LeakyReLU; ``stride=2`` with ``kernel=4`` halves the spatial size exactly."""
    pad = (kernel - stride) // 2 if stride == 2 else kernel // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False),
                         nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


class ConvAutoencoder(nn.Module):
    """A convolutional autoencoder with a vector bottleneck.

    Args:
        latent_dim: size D of the latent vector.
        img_size: input height and width in pixels; must be divisible by 16 (four halvings). The linear
            bottleneck ties a model to one size.
        width: channels after the stem; the four stages have ``width * (1, 2, 4, 8)`` channels.

    Shapes: ``encode (N, 3, S, S) -> (N, D)``, ``decode (N, D) -> (N, 3, S, S)``, ``forward (N, 3, S, S) ->
    (N, 3, S, S)``, with S = ``img_size`` and images in [-1, 1].
    """

    def __init__(self, latent_dim: int = 256, img_size: int = 64, width: int = 32) -> None:
        super().__init__()
        if img_size % 16 or img_size < 16:
            raise ValueError(f"img_size must be a positive multiple of 16, got {img_size}")
        if latent_dim < 1 or width < 1:
            raise ValueError(f"latent_dim and width must be positive, got {latent_dim}, {width}")
        self.latent_dim, self.img_size, self.width = latent_dim, img_size, width
        # Full-resolution layers dominate the cost, so they get the fewest channels (stem: width/2) and
        # the extra 3x3 convolutions sit only at the two deepest, cheapest levels (img_size/8, /16).
        stem = max(8, width // 2)
        chans = [stem, width, 2 * width, 4 * width, 8 * width]
        self.bottom = img_size // 16
        self.bottom_channels = chans[-1]
        flat = chans[-1] * self.bottom * self.bottom
        enc: list[nn.Module] = [_block(3, stem)]
        for level, (c_in, c_out) in enumerate(zip(chans[:-1], chans[1:])):
            enc.append(_block(c_in, c_out, stride=2, kernel=4))
            if level >= 2:
                enc.append(_block(c_out, c_out))
        self.encoder = nn.Sequential(*enc)
        self.to_latent = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Sequential(nn.Linear(latent_dim, flat), nn.LeakyReLU(0.2, inplace=True))
        dec: list[nn.Module] = [_block(chans[-1], chans[-1])]
        for level, (c_in, c_out) in enumerate(zip(chans[:0:-1], chans[-2::-1])):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), _block(c_in, c_out)]
            if level == 0:
                dec.append(_block(c_out, c_out))
        self.decoder = nn.Sequential(*dec)
        self.to_rgb = nn.Conv2d(stem, 3, 3, padding=1)

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f"expected images (N, 3, {self.img_size}, {self.img_size}), got {tuple(x.shape)}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 3, S, S)`` in [-1, 1] -> latent vectors ``(N, D)``."""
        self._check(x)
        return self.to_latent(self.encoder(x).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent vectors ``(N, D)`` -> images ``(N, 3, S, S)`` in [-1, 1]."""
        h = self.from_latent(z).view(-1, self.bottom_channels, self.bottom, self.bottom)
        return torch.tanh(self.to_rgb(self.decoder(h)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``(N, 3, S, S)`` of ``x`` ``(N, 3, S, S)``."""
        return self.decode(self.encode(x))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's feature maps after each stride-2 stage: ``[(N, C_l, S/2^l, S/2^l)]`` for l = 1..4."""
        self._check(x)
        maps, h = [], x
        for layer in self.encoder:
            h = layer(h)
            if layer[0].stride == (2, 2):
                maps.append(h)
        return maps


__all__ = ["ConvAutoencoder"]
