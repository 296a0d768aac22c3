"""Reload a trained stylizer from its run directory alone, and re-render uint8 arrays with it.

Usage::

    model, info = load_stylizer("runs/stylize/<run>")
    out = stylize_arrays(model, images, targets)      # uint8 (N, S, S, 3), style indices (N,) -> uint8 (N, S, S, 3)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle.engine import to_uint8
from artstyle.errors import ArtstyleError
from artstyle.inference import chunks, on_device, run_precision
from artstyle.runs import find_run, load_safetensors, load_weights, read_json


def load_stylizer(run: str | Path, weights: str = "best") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a trained stylizer from its run directory alone. Returns ``(model in eval mode, info)``.

    ``info``: ``classes``, ``size``, ``style_source``, ``policy`` (resize), ``synthetic``, ``train_counts``,
    ``mean_images`` (``(K, S, S, 3)`` float32 or None), ``precision`` (the run's ``--precision``, which inference
    uses on a GPU) and the saved ``config``. The model stays on the CPU; :func:`stylize_arrays` moves it.
    """
    from artstyle.models.stylizer import build_stylizer

    run = find_run(run)
    cfg = read_json(run / "config.json")
    if cfg.get("model", {}).get("style_source") is None:
        raise ArtstyleError(f"{run} is not a stylize run (config.json has no stylizer model section)")
    classes = read_json(run / "classes.json")["classes"]
    model = load_weights(build_stylizer(cfg["model"]), run / f"{weights}.safetensors")
    stats = run / "style_stats.safetensors"
    mean_images = load_safetensors(stats)["mean_images"].numpy() if stats.is_file() else None
    counts = cfg.get("train_counts") or [1] * len(classes)
    return model, {"classes": classes, "size": cfg["model"]["img_size"], "style_source": cfg["model"]["style_source"],
                   "policy": cfg.get("input", {}).get("resize", "center-crop"),
                   "synthetic": bool(cfg.get("data", {}).get("synthetic")), "train_counts": np.asarray(counts),
                   "mean_images": mean_images, "precision": run_precision(cfg), "config": cfg,
                   "run": run}


@torch.no_grad()
def stylize_arrays(model: torch.nn.Module, images: np.ndarray, targets: np.ndarray, batch_size: int = 64, *,
                   precision: str | None = None, device: Any = None) -> np.ndarray:
    """Re-render uint8 ``images (N, S, S, 3)`` in style indices ``targets (N,)`` -> uint8 ``(N, S, S, 3)``.

    The model moves to ``device`` (None: the accelerator's) and runs under ``precision`` there (the run's
    ``info["precision"]``; None = auto; always fp32 on the CPU), see :mod:`artstyle.inference`.
    """
    place = on_device(model, precision, device)
    targets = np.asarray(targets)
    out = []
    with place.autocast():
        for where, batch in chunks(images, None, batch_size):
            y = model(place.images(batch), place.labels(targets[where]))
            out.append(to_uint8(y).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *images.shape[1:]), np.uint8)


@torch.no_grad()
def stylize_image(model: torch.nn.Module, image: np.ndarray, targets: np.ndarray, batch_size: int = 16, *,
                  precision: str | None = None, device: Any = None) -> np.ndarray:
    """Re-render ONE uint8 image ``(H, W, 3)`` of any size in each style of ``targets (k,)`` -> ``(k, H, W, 3)``.

    The network is fully convolutional but halves the size two or three times: the image is padded by reflection on
    the right and bottom to multiples of ``model.multiple`` (8; 4 for older runs) and the result cropped back, so
    any aspect ratio and size render.
    """
    place = on_device(model, precision, device)
    h, w = image.shape[:2]
    targets = np.asarray(targets)
    x = place.images(pad_to_multiple(image, model.multiple)[None])
    out = []
    with place.autocast():
        for start in range(0, len(targets), batch_size):
            t = place.labels(targets[start:start + batch_size])
            y = model(x.expand(len(t), -1, -1, -1), t)[..., :h, :w]
            out.append(to_uint8(y).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, h, w, 3), np.uint8)


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """uint8 ``(H, W, 3)`` padded on the right and bottom to sides divisible by ``multiple`` (crop the result back
    with ``[:H, :W]``): by reflection, or by edge replication where the image is too small to reflect."""
    h, w = image.shape[:2]
    pad_h, pad_w = -h % multiple, -w % multiple
    if not (pad_h or pad_w):
        return image
    mode = "reflect" if pad_h < h and pad_w < w else "edge"  # reflection needs the padding < the side
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


__all__ = ["load_stylizer", "pad_to_multiple", "stylize_arrays", "stylize_image"]
