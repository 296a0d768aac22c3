"""The ``ae-style`` embedding: how an image is painted, not what it shows (the AdaIN view of style).

Usage::

    size, fn = ae_style_encoder(run, None)         # size = 2 x the run's size (EMBEDDERS["ae-style"] wraps it)
    vectors = fn(images)                           # uint8 (B, 2S, 2S, 3) -> (B, 2 * (C1 + C2 + C3))
    style_vector(model, x, levels=3)               # float (N, 3, S, S) in [-1, 1] -> (N, 2 * sum C_l)

Huang & Belongie (AdaIN, 2017) and Gatys et al. (2016) describe a style by the statistics of a network's
feature maps, with the layout averaged away: here the per-channel mean and standard deviation of the first
``levels`` maps of the autoencoder's ``features`` (``grid``: at 1/4, 1/8 and 1/16 of the crop; ``spatial``: its
first three stride-2 stages, at 1/2, 1/4 and 1/8). Every image is cut into a grid of crops at the
resolution the model was trained at (``size / S`` per side, from a cache ``size`` px large, so the crops keep
finer brushwork than the whole downscaled image), each crop and its mirror image is encoded, and the
statistics are averaged over all of them. Pooling over mirrored crops makes the vector exactly invariant to
a horizontal flip of the image; pooling over positions makes it insensitive to layout.

Dimension and cost: 2 x (C1 + C2 + C3); 448 for either model at the default width 32 (32 + 64 + 128 channels),
224 at width 16, against the ``ae`` latents' 256. Clustering standardises and reduces every kind to ``--pca-dim`` (50)
first, so only that PCA step grows with it. Encoding costs 2 x (size / S)^2 encoder passes per image (8 at
the default 2x size), but only through the first three stages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from artstyle.embed.train import load_autoencoder
from artstyle.errors import ArtstyleError
from artstyle.inference import on_device, run_precision
from artstyle.runs import find_run

STYLE_LEVELS = 3
"""Encoder maps whose statistics make the style vector (deeper maps have too few positions for a stable
standard deviation; ``grid``'s third, at 1/16 of a 64 px crop, already has only 16)."""

CROP_GRID = 2
"""Default crops per side: the export cache is ``CROP_GRID`` times the run's size."""


def channel_stats(feature: torch.Tensor) -> torch.Tensor:
    """Per-channel mean and standard deviation over positions: ``(N, C, H, W)`` -> ``(N, 2C)``."""
    flat = feature.float().flatten(2)
    return torch.cat([flat.mean(2), flat.std(2, unbiased=False)], dim=1)


def style_vector(model: torch.nn.Module, x: torch.Tensor, levels: int = STYLE_LEVELS) -> torch.Tensor:
    """Style statistics of images ``(N, 3, S, S)`` in [-1, 1]: ``(N, 2 * sum of the first levels' channels)``."""
    return torch.cat([channel_stats(f) for f in model.features(x)[:levels]], dim=1)


def crops_and_mirrors(images: torch.Tensor, crop: int) -> torch.Tensor:
    """``(B, 3, H, W)`` -> ``(B, 2 * (H/crop) * (W/crop), 3, crop, crop)``: the grid of crops, then their mirrors."""
    b, c, h, w = images.shape
    if h % crop or w % crop:
        raise ArtstyleError(f"images of {h}x{w} px do not tile into {crop} px crops")
    tiles = images.unfold(2, crop, crop).unfold(3, crop, crop)  # (B, 3, gh, gw, crop, crop)
    tiles = tiles.permute(0, 2, 3, 1, 4, 5).reshape(b, -1, c, crop, crop)
    return torch.cat([tiles, tiles.flip(-1)], dim=1)


@torch.no_grad()
def pooled_style(model: torch.nn.Module, images: torch.Tensor, crop: int, levels: int = STYLE_LEVELS) -> torch.Tensor:
    """Style vectors ``(B, D)`` of images ``(B, 3, H, W)`` in [-1, 1], averaged over their crops and mirrors."""
    tiles = crops_and_mirrors(images, crop)
    b, n = tiles.shape[:2]
    stats = style_vector(model, tiles.flatten(0, 1), levels)
    return stats.view(b, n, -1).mean(1)


def ae_style_encoder(run: Path | None, size: int | None) -> tuple[int, Callable[[np.ndarray], np.ndarray]]:
    """``--kind ae-style``: ``(cache size, fn)``, fn: uint8 ``(B, size, size, 3)`` -> the pooled feature
    statistics ``(B, D)`` of an ``embed train`` run's encoder."""
    if run is None:
        raise ArtstyleError("--kind ae-style needs --run: the directory of an `artstyle embed train` run")
    run = find_run(run)
    model, info = load_autoencoder(run)
    if not hasattr(model, "features"):
        raise ArtstyleError(f"--run {run}: its autoencoder exposes no feature maps; retrain it with "
                            "`artstyle embed train`")
    crop = info["size"]
    size = size if size is not None else CROP_GRID * crop
    if size % crop:
        raise ArtstyleError(f"--size {size}: --kind ae-style cuts images into {crop} px crops (the run's size); "
                            f"choose a multiple of {crop}, e.g. {CROP_GRID * crop}")
    place = on_device(model, run_precision(info["config"]))

    def fn(images: np.ndarray) -> np.ndarray:
        with place.autocast():
            return pooled_style(model, place.images(images), crop).float().cpu().numpy()

    return size, fn


__all__ = ["CROP_GRID", "STYLE_LEVELS", "ae_style_encoder", "channel_stats", "crops_and_mirrors", "pooled_style",
           "style_vector"]
