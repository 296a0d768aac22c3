"""What ``artstyle embed export --kind`` can embed with, by name: uint8 images in, one vector per image out.

Usage::

    embedder = EMBEDDERS["ae"](run, None)        # a factory (run, size) -> Embedder
    vectors = embedder.fn(images)                # uint8 (B, S, S, 3) -> (B, D), S = embedder.size
    color_histogram(images)                      # (B, 512), rows sum to 1
    thumbnails(images)                           # uint8 (B, 32, 32, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.embed.train import load_autoencoder
from artstyle.errors import ArtstyleError
from artstyle.inference import on_device, run_precision
from artstyle.runs import find_run, read_json

THUMB_SIZE = 32


@dataclass
class Embedder:
    """What an export kind needs: the cache ``size`` to decode at and ``fn``: uint8 ``(B, S, S, 3)`` -> ``(B, D)``."""

    size: int
    fn: Callable[[np.ndarray], np.ndarray]


def _run_size(run: Path, size: int | None, trained: int, kind: str) -> int:
    if size is not None and size != trained:
        raise ArtstyleError(f"--size {size} does not match the {trained} px the --run {run} was trained at; "
                            f"drop --size for --kind {kind}")
    return trained


def _needs_run(kind: str, run: Path | None, producer: str) -> Path:
    if run is None:
        raise ArtstyleError(f"--kind {kind} needs --run: the directory of an `artstyle {producer}` run")
    return find_run(run)


def _ae_embedder(run: Path | None, size: int | None, refine_steps: int = 0, kind: str = "ae") -> Embedder:
    run = _needs_run(kind, run, "embed train")
    model, info = load_autoencoder(run)
    place = on_device(model, run_precision(info["config"]))

    @torch.no_grad()
    def fn(images: np.ndarray) -> np.ndarray:
        if refine_steps:  # float32: the refinement's gradient steps, as embed train scores them
            from artstyle.embed.refine import refine_latents

            return refine_latents(model, place.images(images), refine_steps).cpu().numpy()
        with place.autocast():
            return model.encode(place.images(images)).float().cpu().numpy()

    return Embedder(_run_size(run, size, info["size"], kind), fn)


REFINED_EXPORT_STEPS = 10
"""``ae-refined``: Adam steps per image (10 gained three quarters of what 50 gained on the built-in set, at a quarter
of the cost: docs/results.md, section 6)."""


def _ae_refined_embedder(run: Path | None, size: int | None) -> Embedder:
    return _ae_embedder(run, size, REFINED_EXPORT_STEPS, "ae-refined")


def _classifier_embedder(run: Path | None, size: int | None) -> Embedder:
    # The classify stage's public loader: the one thing a stage may take from another.
    from artstyle.classify import load_classifier
    from artstyle.models.classifier import CLASSIFIERS

    run = _needs_run("classifier", run, "classify train")
    arch = read_json(run / "config.json").get("model", {}).get("arch")
    if arch not in CLASSIFIERS:
        raise ArtstyleError(f"--run {run} is not a classifier run (model {arch!r}); for an autoencoder run use "
                            "--kind ae")
    model, info = load_classifier(run, picture=False)  # its penultimate features: the network alone
    place = on_device(model, info["precision"])

    @torch.no_grad()
    def fn(images: np.ndarray) -> np.ndarray:
        with place.autocast():
            return model.forward_features(place.images(images)).float().flatten(1).cpu().numpy()

    return Embedder(_run_size(run, size, info["size"], "classifier"), fn)


def _resize(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 ``(B, S, S, 3)`` -> float ``(B, 3, size, size)`` in [0, 1], antialiased."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def _pixels_embedder(run: Path | None, size: int | None) -> Embedder:
    def fn(images: np.ndarray) -> np.ndarray:  # 16x16x3 = 768-d, channel-major, in [0, 1]
        return _resize(images, 16).flatten(1).numpy()

    return Embedder(size or 64, fn)


def color_histogram(images: np.ndarray, bins: int = 8) -> np.ndarray:
    """Joint RGB histogram with ``bins`` per channel: uint8 ``(B, H, W, 3)`` -> float32 ``(B, bins**3)``, rows sum to 1."""
    q = (images.astype(np.int64) * bins) // 256  # bin per channel
    idx = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    n, b3 = len(images), bins ** 3
    flat = (idx.reshape(n, -1) + np.arange(n)[:, None] * b3).ravel()  # one bincount for the whole batch
    counts = np.bincount(flat, minlength=n * b3).reshape(n, b3)
    return (counts / counts.sum(1, keepdims=True)).astype(np.float32)


def _color_hist_embedder(run: Path | None, size: int | None) -> Embedder:
    return Embedder(size or 64, color_histogram)


def _ae_style_embedder(run: Path | None, size: int | None) -> Embedder:
    from artstyle.embed.style_stats import ae_style_encoder  # the statistics live in their own module

    return Embedder(*ae_style_encoder(run, size))


EMBEDDERS: dict[str, Callable[[Path | None, int | None], Embedder]] = {
    "ae": _ae_embedder,
    "ae-refined": _ae_refined_embedder,
    "ae-style": _ae_style_embedder,
    "classifier": _classifier_embedder,
    "pixels": _pixels_embedder,
    "color-hist": _color_hist_embedder,
}
"""Export kind -> factory ``(run, size) -> Embedder``: ``ae`` autoencoder latents (needs an embed run),
``ae-refined`` those latents refined through the decoder (``artstyle.embed.refine``; slower),
``ae-style`` per-channel mean and std of the encoder's feature maps over crops (AdaIN's style; embed run),
``classifier`` penultimate features (needs a classify run), ``pixels`` 16x16x3 raw pixels in [0, 1],
``color-hist`` 8x8x8 joint RGB histogram (normalised)."""


def thumbnails(images: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    """uint8 ``(B, S, S, 3)`` -> uint8 ``(B, size, size, 3)`` thumbnails."""
    return (_resize(images, size) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


__all__ = ["EMBEDDERS", "Embedder", "THUMB_SIZE", "color_histogram", "thumbnails"]
