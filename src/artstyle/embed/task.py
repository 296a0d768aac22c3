"""The autoencoder's task for the engine: reconstruction losses and per-image scores on [0, 1] images.

Usage::

    task = AutoencoderTask("l1+ssim")                     # engine.fit(model, task, ...) monitors val PSNR
    reconstruction_loss(recon, target, "mse")             # (N,) for (N, 3, H, W) images in [-1, 1]
    image_scores(recon, target)                           # {"loss", "mse", "psnr", "ssim"}: (N,) each

Reconstruction metrics (loss, PSNR, SSIM) are computed on [0, 1] images, per image, then averaged.
"""

from __future__ import annotations

from typing import Any

import torch

from artstyle.embed.config import LOSSES
from artstyle.engine import to_float
from artstyle.errors import ArtstyleError
from artstyle.metrics import psnr, ssim

SSIM_WEIGHT = 0.84
"""``l1+ssim``: weight of (1 - SSIM) against L1, as in Zhao et al. 2017 ("Loss functions for image restoration")."""

PSNR_FLOOR_MSE = 1e-5
"""``psnr``: added to each image's MSE before the log, so a perfect image scores 50 dB, not infinity."""


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Per-image loss ``(N,)`` between ``(N, 3, H, W)`` images in [-1, 1], computed on the [0, 1] scale."""
    a, b = (recon.float() + 1) / 2, (target.float() + 1) / 2
    if kind == "mse":
        return (a - b).pow(2).flatten(1).mean(1)
    if kind == "psnr":  # minus each image's PSNR in dB: the mean of it is what the validation monitor averages
        return 10 * torch.log10((a - b).pow(2).flatten(1).mean(1) + PSNR_FLOOR_MSE)
    l1 = (a - b).abs().flatten(1).mean(1)
    if kind == "l1":
        return l1
    if kind == "l1+ssim":
        return SSIM_WEIGHT * (1 - ssim(a, b, data_range=1.0)) + (1 - SSIM_WEIGHT) * l1
    raise ArtstyleError(f"--loss {kind!r} is not one of: {', '.join(LOSSES)}")


def image_scores(recon: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> dict[str, torch.Tensor]:
    """Per-image ``loss``, ``mse``, ``psnr`` and ``ssim`` ``(N,)`` for images ``(N, 3, H, W)`` in [-1, 1]."""
    a, b = (recon.float().clamp(-1, 1) + 1) / 2, (target.float() + 1) / 2
    return {"loss": reconstruction_loss(recon, target, kind), "mse": (a - b).pow(2).flatten(1).mean(1),
            "psnr": psnr(a, b, data_range=1.0), "ssim": ssim(a, b, data_range=1.0)}


class AutoencoderTask:
    """Reconstruction loss for the engine; monitors validation PSNR (higher is better)."""

    monitor = "psnr"
    mode = "max"

    def __init__(self, loss: str = "mse", channels_last: bool = True) -> None:
        if loss not in LOSSES:
            raise ArtstyleError(f"--loss {loss!r} is not one of: {', '.join(LOSSES)}")
        self.loss = loss
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        images, _ = batch
        x = to_float(images).contiguous(memory_format=self.memory_format)
        return reconstruction_loss(model(x), x, self.loss).mean(), {}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, loader: Any, accelerator: Any) -> dict[str, float]:
        model.eval()
        parts: dict[str, list[torch.Tensor]] = {}
        for images, _ in loader:
            x = to_float(images).contiguous(memory_format=self.memory_format)
            with accelerator.autocast():
                recon = model(x)
            scores = accelerator.gather_for_metrics(image_scores(recon, x, self.loss))
            for k, v in scores.items():
                parts.setdefault(k, []).append(v.cpu())
        return {k: float(torch.cat(v).mean()) for k, v in parts.items()}


__all__ = ["AutoencoderTask", "PSNR_FLOOR_MSE", "SSIM_WEIGHT", "image_scores", "reconstruction_loss"]
