"""Convolutional autoencoders trained from scratch, built by name: ``build_autoencoder("conv", latent_dim=256, img_size=64)``.

Usage::

    model = build_autoencoder("conv", latent_dim=256, img_size=64)
    z = model.encode(x)          # x: (N, 3, 64, 64) in [-1, 1]  ->  z: (N, 256)
    recon = model.decode(z)      # (N, 3, 64, 64) in [-1, 1] (tanh)
    recon = model(x)             # encode then decode

``grid`` (:class:`GridAutoencoder`, the default of ``embed train``; ``grid-fine`` is the same with a second,
finer decoder path, the ``full`` profile's) and ``spatial`` (:class:`SpatialAutoencoder`,
the default before issue 17) are fully convolutional: the latent is a small ``(k, g, g)`` map whose linear path
starts from a patch PCA; ``grid`` keeps it frozen and learns a non-linear correction at the grid's resolution
(``spatial``'s full-resolution correction barely trained, see :class:`GridAutoencoder`). ``conv``, the older
dense-bottleneck model (:mod:`artstyle.models.conv_autoencoder`):
four stride-2 stages halve the image to ``img_size / 16``, a linear layer maps the flattened feature map to the
latent vector, and the decoder mirrors it with nearest-neighbour upsampling + 3x3 convolutions (no transposed
convolutions, which leave checkerboard artefacts). At ``width=32``, ``latent_dim=256`` and 64 px it has about 4.7M
parameters, 2.1M of them in the two linear layers between the 4x4x256 feature map and the latent vector (11M at
128 px, where the feature map is 8x8x256; 1.7M at 64 px with ``width=16``). The full-resolution layers dominate
the compute, so they have the fewest channels.
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.models.conv_autoencoder import ConvAutoencoder


def _act_conv(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    """Conv (with bias, no normalisation) -> LeakyReLU; ``stride=2`` with ``kernel=4`` halves the size exactly."""
    pad = (kernel - stride) // 2 if stride == 2 else kernel // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad), nn.LeakyReLU(0.2, inplace=True))


class _Residual(nn.Module):
    """``x + conv(act(conv(x)))``, shape ``(N, C, H, W)`` kept; the last conv starts at zero (an identity block)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_act_conv(c, c), nn.Conv2d(c, c, 3, padding=1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def latent_grid(latent_dim: int, img_size: int, min_channels: int = 16) -> int:
    """Side g of the spatial latent ``(k, g, g)``, k = latent_dim / g^2: the finest power-of-two grid that keeps
    at least ``min_channels`` channels, divides ``latent_dim`` and is at most ``img_size / 4``."""
    g = 1
    while (latent_dim % (4 * g * g) == 0 and latent_dim // (4 * g * g) >= min_channels
           and 2 * g <= img_size // 4 and img_size % (2 * g) == 0):
        g *= 2
    return g


def _float_chunks(images: torch.Tensor, size: int = 256) -> Iterator[torch.Tensor]:
    """``images`` (uint8 in [0, 255] or float in [-1, 1]) as float chunks in [-1, 1] of at most ``size`` images."""
    for chunk in images.split(size):
        yield chunk.float().div(127.5).sub(1.0) if chunk.dtype == torch.uint8 else chunk.float()


class _PatchCodec(nn.Module):
    """The linear path shared by ``spatial`` and ``grid``: a ``P x P`` stride-``P`` convolution in, its transpose
    out, plus a mean patch; :meth:`init_linear` sets it to the PCA of training patches. Sets ``grid`` (g),
    ``k`` (latent channels, ``k*g*g = D``) and ``stride`` (P = ``img_size / g``)."""

    def __init__(self, latent_dim: int, img_size: int, width: int) -> None:
        super().__init__()
        if latent_dim < 1 or width < 1 or img_size < 4 or img_size % 4:
            raise ValueError(f"latent_dim, width must be positive and img_size a multiple of 4, got "
                             f"{latent_dim}, {width}, {img_size}")
        self.latent_dim, self.img_size, self.width = latent_dim, img_size, width
        self.grid = latent_grid(latent_dim, img_size)
        self.k = latent_dim // (self.grid * self.grid)
        self.levels = (img_size // self.grid).bit_length() - 1
        if self.k * self.grid ** 2 != latent_dim or 2 ** self.levels * self.grid != img_size:
            raise ValueError(f"latent_dim {latent_dim} does not tile img_size {img_size} (needs a power-of-two grid)")
        self.stride = p = 2 ** self.levels
        self.lin_enc = nn.Conv2d(3, self.k, p, stride=p)
        self.lin_dec = nn.ConvTranspose2d(self.k, 3, p, stride=p, bias=False)
        self.mean_patch = nn.Parameter(torch.zeros(1, 3, p, p))

    @torch.no_grad()
    def init_linear(self, images: torch.Tensor) -> float:
        """Set the linear path to the PCA of the ``P x P`` patches of ``images`` ``(N, 3, H, W)``: floats in [-1, 1],
        or uint8 in [0, 255] (mapped to [-1, 1] a chunk at a time, so a caller need not hold a float copy).

        Returns the share of patch variance the ``k`` components keep. The patch covariance is summed a chunk of
        images at a time (in float64), so memory stays at ``images`` plus a ``3PP x 3PP`` matrix."""
        p, d = self.stride, 3 * self.stride ** 2
        total, outer, count = torch.zeros(d, dtype=torch.float64), torch.zeros(d, d, dtype=torch.float64), 0
        for chunk in _float_chunks(images):
            patches = F.unfold(chunk, p, stride=p).transpose(1, 2).reshape(-1, d).double()  # (n*L, 3PP)
            total += patches.sum(0)
            outer += patches.T @ patches
            count += len(patches)
        mean = total / count
        values, vectors = torch.linalg.eigh(outer / count - torch.outer(mean, mean))  # ascending
        values = values.flip(0).clamp_min(0)
        comps = vectors.flip(1).T[:self.k].float()  # (k, 3PP), rows orthonormal
        mean = mean.float()
        self.lin_enc.weight.copy_(comps.view(self.k, 3, p, p))
        self.lin_enc.bias.copy_(-(comps @ mean))
        self.lin_dec.weight.copy_(comps.view(self.k, 3, p, p))
        self.mean_patch.copy_(mean.view(1, 3, p, p))
        return float(values[:self.k].sum() / values.sum().clamp_min(1e-12))

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-1] % self.stride or x.shape[-2] % self.stride:
            raise ValueError(f"expected images (N, 3, H, W) with H, W multiples of {self.stride}, got {tuple(x.shape)}")

    def linear_decode(self, z: torch.Tensor) -> torch.Tensor:
        """The linear path's image ``(N, 3, h*P, w*P)`` of latent maps ``(N, k, h, w)``."""
        h, w = z.shape[-2:]
        return self.lin_dec(z) + self.mean_patch.repeat(1, 1, h, w)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 3, S, S)`` in [-1, 1] -> latent vectors ``(N, D)`` (the flattened latent map)."""
        return self.encode_map(x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent vectors ``(N, D)`` -> images ``(N, 3, S, S)``."""
        return self.decode_map(z.view(len(z), self.k, self.grid, self.grid))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``(N, 3, H, W)`` of ``x`` ``(N, 3, H, W)`` (any multiple of P)."""
        return self.decode_map(self.encode_map(x))


class SpatialAutoencoder(_PatchCodec):
    """A fully convolutional autoencoder whose latent is a small map ``(k, g, g)`` with ``k*g*g = D``.

    Two paths share the latent: a linear patch codec (a ``P x P`` stride-``P`` convolution in, its transpose
    out, P = ``img_size / g``; :meth:`init_linear` sets it to the PCA of training patches) and a non-linear
    convolutional encoder/decoder whose output layers start at zero, so training begins at patch PCA and
    only the non-linear part has to be learnt. Weights are shared across positions, so each image teaches
    the codec ``g*g`` patches: on a few hundred images that generalises where global PCA and a dense
    bottleneck (``conv``) overfit. At D=256 and 64 px the latent is 16 x 4 x 4 (each 16x16 patch in 16
    numbers). Fully convolutional: it trains on crops (multiples of P) and reconstructs whole images.
    No normalisation layers: training and evaluation compute the same function.

    Args:
        latent_dim: D, the number of numbers per ``img_size`` image.
        img_size: the size D refers to: a power of two times the grid g (see :func:`latent_grid`).
        width: channels at half resolution; deeper stages get ``2*width`` and ``4*width`` (capped there).

    Shapes: ``encode (N, 3, S, S) -> (N, D)``, ``decode (N, D) -> (N, 3, S, S)``, ``forward`` keeps the shape;
    images in [-1, 1] (outputs clamped to it outside training).
    """

    def __init__(self, latent_dim: int = 256, img_size: int = 64, width: int = 32) -> None:
        super().__init__(latent_dim, img_size, width)
        levels = self.levels
        stem = max(8, width // 2)
        chans = [stem] + [min(4 * width, width * 2 ** i) for i in range(levels)]
        enc: list[nn.Module] = [_act_conv(3, stem)]
        for level, (c_in, c_out) in enumerate(zip(chans[:-1], chans[1:])):
            # residual blocks only from quarter resolution down, where they are cheap
            enc.append(nn.Sequential(_act_conv(c_in, c_out, stride=2, kernel=4),
                                     *([_Residual(c_out)] if level >= 1 else [])))
        self.encoder = nn.Sequential(*enc)
        self.to_latent = nn.Conv2d(chans[-1], self.k, 1)
        dec: list[nn.Module] = [_act_conv(self.k, chans[-1]), _Residual(chans[-1])]
        for level, (c_in, c_out) in enumerate(zip(chans[:0:-1], chans[-2::-1])):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), _act_conv(c_in, c_out)]
            dec += [_Residual(c_out)] if level < levels - 2 else []
        self.decoder = nn.Sequential(*dec)
        self.to_rgb = nn.Conv2d(stem, 3, 3, padding=1)
        for layer in (self.to_latent, self.to_rgb):  # the non-linear paths start silent
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def encode_map(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 3, H, W)`` -> latent maps ``(N, k, H/P, W/P)``."""
        self._check(x)
        return self.lin_enc(x) + self.to_latent(self.encoder(x))

    def decode_map(self, z: torch.Tensor) -> torch.Tensor:
        """Latent maps ``(N, k, h, w)`` -> images ``(N, 3, h*P, w*P)``."""
        out = self.linear_decode(z) + self.to_rgb(self.decoder(z))
        return out if self.training else out.clamp(-1, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The non-linear encoder's maps after each stride-2 stage: ``[(N, C_l, H/2^l, W/2^l)]``."""
        self._check(x)
        maps, h = [], self.encoder[0](x)
        for stage in self.encoder[1:]:
            h = stage(h)
            maps.append(h)
        return maps


class _GridResidual(nn.Module):
    """``x + conv(act(conv(act(x))))`` at the latent grid, shape ``(N, C, h, w)`` kept (default init: no zero
    layer inside, so every layer gets a gradient as soon as the output layer has moved once)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(c, c, 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _FineDecoder(nn.Module):
    """``grid-fine``'s second decoder path: the grid features ``(N, C, g, g)`` upsampled twice (pixel shuffle, then
    two 3x3 convolutions each) to ``4g x 4g`` feature maps, whose 1x1 convolution gives each ``P/4 x P/4`` block of
    the image its own correction: detail finer than the grid's ``P x P`` patch basis can draw. The output layer
    starts at zero, so the model still starts exactly at patch PCA."""

    def __init__(self, c_grid: int, width: int, stride: int) -> None:
        super().__init__()
        ups, c_in, self.patch = [], c_grid, stride
        doublings = min(2, stride.bit_length() - 1)  # at most two, within the patch
        for c_out in (4 * max(1, width // 2), width)[:doublings]:
            ups += [nn.PixelShuffle(2), _act_conv(c_in // 4, c_out), _act_conv(c_out, c_out)]
            c_in, self.patch = c_out, self.patch // 2
        self.up = nn.Sequential(*ups)
        self.out = nn.Conv2d(c_in, 3 * self.patch ** 2, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.out(self.up(h)), self.patch)


class GridAutoencoder(_PatchCodec):
    """The patch-PCA codec of ``spatial`` plus a non-linear residual path that does its work at the latent grid.

    Why (issue 17): ``spatial``'s non-linear path did not learn in CPU budgets. Its gradient has to pass two
    zero-initialised layers in a row (the output layer, then each residual block's last conv), the PCA code
    is already least-squares optimal for the linear decoder (so the encoder gets no gradient until the
    decoder has learnt something), the decoder sees the PCA coefficients unscaled (hundreds of times larger
    than its weights expect), and its thin full-resolution layers make each step slow. Here:

    - the encoder folds each 4x4 pixel block into channels (pixel unshuffle), then halves with stride-2
      convolutions down to the grid (``width``, ``2*width``, then ``4*width`` channels), then ``blocks``
      residual blocks and a 1x1 convolution to a correction of the latent (scaled per channel like the codes);
    - the decoder divides the latent by the per-channel spread of the PCA codes (``z_scale``, set by
      :meth:`init_linear`), runs a 3x3 convolution and ``blocks`` residual blocks at the grid, and a 1x1
      convolution to ``3 P^2`` values per cell that pixel shuffle (Shi et al. 2016) lays out as the cell's
      ``P x P`` patch; its 3x3 convolutions let a patch use its neighbours' codes (no blocking);
    - only the two output layers start at zero (the model starts exactly at patch PCA), nothing behind them;
    - the linear path is frozen at the PCA (Adam's first steps at the network's learning rate moved it off its
      optimum by more than the non-linear path gained).

    At width 32, D=256 and 64 px: 1.5M parameters (25k of them the frozen linear path), about 30M multiply-adds
    per image, most of them in matrix-sized convolutions on the 4x4 grid, which CPUs run efficiently.

    Args are those of :class:`SpatialAutoencoder`; ``blocks`` residual blocks on each side; ``fine`` adds
    :class:`_FineDecoder` (arch ``grid-fine``).
    Shapes: as :class:`SpatialAutoencoder`; :meth:`features` returns the maps at 1/4, 1/8, ... of the input.
    """

    def __init__(self, latent_dim: int = 256, img_size: int = 64, width: int = 32, blocks: int = 2,
                 fine: bool = False) -> None:
        super().__init__(latent_dim, img_size, width)
        for param in (self.lin_enc.weight, self.lin_enc.bias, self.lin_dec.weight, self.mean_patch):
            param.requires_grad_(False)
        self.register_buffer("z_scale", torch.ones(1, self.k, 1, 1))
        self.fold = min(4, self.stride)
        chans = [width] + [min(4 * width, width * 2 ** (i + 1)) for i in range(self.levels - 2)]
        stages: list[nn.Module] = [_act_conv(3 * self.fold ** 2, chans[0])]
        stages += [_act_conv(c_in, c_out, stride=2, kernel=4) for c_in, c_out in zip(chans[:-1], chans[1:])]
        self.encoder = nn.ModuleList(stages)
        wide = 4 * width
        self.enc_blocks = nn.Sequential(nn.Conv2d(chans[-1], wide, 1), *[_GridResidual(wide) for _ in range(blocks)],
                                        nn.LeakyReLU(0.2))
        self.to_latent = nn.Conv2d(wide, self.k, 1)
        self.decoder = nn.Sequential(nn.Conv2d(self.k, wide, 3, padding=1), *[_GridResidual(wide) for _ in range(blocks)],
                                     nn.LeakyReLU(0.2))
        self.to_patch = nn.Conv2d(wide, 3 * self.stride ** 2, 1)
        self.fine = _FineDecoder(wide, width, self.stride) if fine else None
        for layer in (self.to_latent, self.to_patch):  # the non-linear path starts silent
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    @torch.no_grad()
    def init_linear(self, images: torch.Tensor) -> float:
        explained = super().init_linear(images)
        total, squares, count = torch.zeros(self.k, dtype=torch.float64), torch.zeros(self.k, dtype=torch.float64), 0
        for chunk in _float_chunks(images):  # the per-channel spread of the PCA codes, a chunk at a time
            codes = self.lin_enc(chunk).double().transpose(0, 1).flatten(1)  # (k, n*g*g)
            total, squares, count = total + codes.sum(1), squares + codes.pow(2).sum(1), count + codes.shape[1]
        var = (squares - total.pow(2) / count) / max(count - 1, 1)
        self.z_scale.copy_(var.clamp_min(0).sqrt().float().view(1, self.k, 1, 1).clamp_min(1e-3))
        return explained

    def encode_map(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 3, H, W)`` -> latent maps ``(N, k, H/P, W/P)``."""
        h = self.features(x)[-1]
        return self.lin_enc(x) + self.to_latent(self.enc_blocks(h)) * self.z_scale

    def decode_map(self, z: torch.Tensor) -> torch.Tensor:
        """Latent maps ``(N, k, h, w)`` -> images ``(N, 3, h*P, w*P)``."""
        h = self.decoder(z / self.z_scale)
        residual = F.pixel_shuffle(self.to_patch(h), self.stride)
        if self.fine is not None:
            residual = residual + self.fine(h)
        out = self.linear_decode(z) + residual
        return out if self.training else out.clamp(-1, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The non-linear encoder's maps: ``[(N, C_l, H/(4*2^l), W/(4*2^l))]`` for l = 0, 1, ... down to the grid."""
        self._check(x)
        maps, h = [], F.pixel_unshuffle(x, self.fold)
        for stage in self.encoder:
            h = stage(h)
            maps.append(h)
        return maps


AUTOENCODERS: dict[str, Callable[..., nn.Module]] = {
    "conv": lambda latent_dim, img_size, width=32, blocks=2: ConvAutoencoder(latent_dim, img_size, width),
    "spatial": lambda latent_dim, img_size, width=32, blocks=2: SpatialAutoencoder(latent_dim, img_size, width),
    "grid": lambda latent_dim, img_size, width=32, blocks=2: GridAutoencoder(latent_dim, img_size, width, blocks),
    "grid-fine": lambda latent_dim, img_size, width=32, blocks=2: GridAutoencoder(latent_dim, img_size, width, blocks,
                                                                                  fine=True),
}
"""Architecture name -> factory ``(latent_dim, img_size, width, blocks) -> model`` (``blocks``: grid and grid-fine
only)."""

def build_autoencoder(arch: str = "conv", latent_dim: int = 256, img_size: int = 64, width: int = 32,
                      blocks: int = 2) -> nn.Module:
    """Build an autoencoder by registry name (``ValueError`` for an unknown name)."""
    if arch not in AUTOENCODERS:
        raise ValueError(f"unknown autoencoder {arch!r}; choose one of: {', '.join(AUTOENCODERS)}")
    return AUTOENCODERS[arch](latent_dim=latent_dim, img_size=img_size, width=width, blocks=blocks)


__all__ = ["AUTOENCODERS", "ConvAutoencoder", "GridAutoencoder", "SpatialAutoencoder", "build_autoencoder", "latent_grid"]
