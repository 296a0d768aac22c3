"""Reconstructions of cached images and their scores, for the autoencoder and its PCA baseline.

Usage::

    recon = reconstruct(model, images)                              # uint8 (N, H, W, 3) -> uint8 (N, H, W, 3)
    ae = reconstruction_metrics(model, cache.images, "mse", rows)   # {"loss", "mse", "psnr", "ssim"} means
    pca = fit_pca(cache, cache.indices("train"), n_components=256)
    base = pca_metrics(pca, cache.images, "mse", rows)              # the same scores for the baseline

``images`` may be the cache's memmap: it is read a batch of rows at a time.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch

from artstyle.embed.task import image_scores
from artstyle.engine import to_float, to_uint8


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def default_device() -> torch.device:
    """Where trained models run for evaluation and export: the GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _recon(model: torch.nn.Module, x: torch.Tensor, refine_steps: int, refine_lr: float | None = None) -> torch.Tensor:
    """The model's reconstruction of float images ``x``; with ``refine_steps``, decoded from refined latents."""
    if refine_steps <= 0:
        return model(x)
    from artstyle.embed.refine import refine_latents

    with torch.no_grad():
        return model.decode(refine_latents(model, x, refine_steps, refine_lr))


@torch.no_grad()
def reconstruct(model: torch.nn.Module, images: np.ndarray, batch_size: int = 128, refine_steps: int = 0) -> np.ndarray:
    """uint8 ``(N, H, W, 3)`` -> the model's uint8 reconstructions ``(N, H, W, 3)`` (eval mode, restored after);
    ``refine_steps`` > 0 decodes latents refined by :func:`artstyle.embed.refine.refine_latents`."""
    was_training, device = model.training, _device(model)
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size])).permute(0, 3, 1, 2).to(device)
        out.append(to_uint8(_recon(model, to_float(x), refine_steps)).permute(0, 2, 3, 1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros_like(images)


def _batches(images: np.ndarray, rows: np.ndarray | None, batch_size: int) -> Iterator[np.ndarray]:
    """Yield uint8 ``(B, H, W, 3)`` arrays of ``images[rows]`` (all rows when None), one batch in memory at a time."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    for i in range(0, len(rows), batch_size):
        yield np.ascontiguousarray(images[rows[i:i + batch_size]])


@torch.no_grad()
def reconstruction_metrics(model: torch.nn.Module, images: np.ndarray, loss: str = "mse", rows: np.ndarray | None = None,
                           batch_size: int = 128, refine_steps: int = 0,
                           refine_lr: float | None = None) -> dict[str, float]:
    """Mean ``loss``, ``mse``, ``psnr``, ``ssim`` of ``model`` on uint8 ``images[rows]`` ``(N, H, W, 3)``;
    ``refine_steps`` > 0 scores the reconstructions of refined latents (:mod:`artstyle.embed.refine`; Adam step
    ``refine_lr``, default ``REFINE_LR``).

    ``images`` may be the cache's memmap: it is read ``batch_size`` rows at a time.
    """
    was_training, device = model.training, _device(model)
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in _batches(images, rows, batch_size):
        x = to_float(torch.from_numpy(batch).permute(0, 3, 1, 2).to(device))
        for k, v in image_scores(_recon(model, x, refine_steps, refine_lr), x, loss).items():
            parts.setdefault(k, []).append(v.cpu())
    model.train(was_training)
    return {k: float(torch.cat(v).mean()) for k, v in parts.items()}


# ---------------------------------------------------------------- PCA baseline


PCA_MEMORY = 1 << 30
"""Bytes of float32 pixels the PCA baseline may be fitted on: 21,845 images at 64 px, 5,461 at 128 px."""


def pca_sample_cap(size: int, max_samples: int = 0, memory_budget: int = PCA_MEMORY) -> int:
    """How many images of ``size`` px a PCA fit takes: ``max_samples`` (0 = no limit), within ``memory_budget``."""
    fit = memory_budget // (4 * size * size * 3)
    return max(2, min(max_samples, fit) if max_samples else fit)


def pca_rows(rows: np.ndarray, size: int, max_samples: int = 0, seed: int = 0,
             memory_budget: int = PCA_MEMORY) -> np.ndarray:
    """The rows a PCA of ``size`` px images is fitted on: all of ``rows`` within :func:`pca_sample_cap`, else a seeded
    random subsample, sorted (sequential memmap reads)."""
    cap = pca_sample_cap(size, max_samples, memory_budget)
    return rows if len(rows) <= cap else np.sort(np.random.default_rng(seed).choice(rows, size=cap, replace=False))


def fit_pca(cache: Any, rows: np.ndarray, n_components: int, max_samples: int = 0, seed: int = 0,
            memory_budget: int = PCA_MEMORY) -> Any:
    """sklearn PCA (randomized SVD) fitted on the pixels of ``rows`` (in [0, 1]): all of them by default, or a
    random subsample of ``max_samples``, and never more than ``memory_budget`` bytes of float32 pixels.

    A PCA fitted on a subsample is a weaker baseline: on the full built-in set (12,013 training images at 64 px),
    256 components fitted on 2,000 of them score 23.69 dB on the validation images, fitted on all 24.67 dB
    (docs/results.md, section 6). With fewer images than ``n_components`` the PCA gets as many components as images.
    """
    from sklearn.decomposition import PCA

    dim = cache.size * cache.size * 3
    pick = pca_rows(rows, cache.size, max_samples, seed, memory_budget)
    x = np.asarray(cache.images[pick], dtype=np.float32).reshape(len(pick), -1)
    x /= 255.0  # in place, and copy=False below: the pixel matrix is the one big allocation
    k = min(n_components, len(pick), dim)
    return PCA(n_components=k, svd_solver="randomized", random_state=seed, copy=False).fit(x)


def pca_reconstruct(pca: Any, images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` -> PCA reconstructions as float32 ``(N, 3, H, W)`` in [-1, 1] (clipped)."""
    x = np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0
    rec = np.clip(pca.inverse_transform(pca.transform(x)), 0, 1).reshape(images.shape)
    return torch.from_numpy(rec.astype(np.float32)).permute(0, 3, 1, 2) * 2 - 1


def pca_metrics(pca: Any, images: np.ndarray, loss: str = "mse", rows: np.ndarray | None = None,
                batch_size: int = 256) -> dict[str, float]:
    """The same metrics as :func:`reconstruction_metrics`, for the PCA baseline, on ``images[rows]``."""
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in _batches(images, rows, batch_size):
        target = to_float(torch.from_numpy(batch).permute(0, 3, 1, 2))
        for k, v in image_scores(pca_reconstruct(pca, batch), target, loss).items():
            parts.setdefault(k, []).append(v)
    return {k: float(torch.cat(v).mean()) for k, v in parts.items()}


__all__ = ["PCA_MEMORY", "default_device", "fit_pca", "pca_metrics", "pca_reconstruct", "pca_rows", "pca_sample_cap", "reconstruct",
           "reconstruction_metrics"]
