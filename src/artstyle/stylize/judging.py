"""The judge's verdict on a picture: what an independent classify run says its style is.

Usage::

    judge, info = load_judge("runs/classify/<run>")               # view "recipe", the default
    probs = judge_probs(judge, info, images)                      # uint8 (N, S, S, 3) -> (N, C)

Two views (``--judge-view``):

- ``recipe`` (the default since issue 12's twentieth session): the run's own prediction, the numbers of its test
  report and of ``classify predict``: the pictures at the run's cache scale, its grid of crops averaged
  (``classify.predict_crops``), fused with its picture model when it has one (``--picture-stats``). For a texture
  run of the real-image benchmark that is the best recipe we have (docs/results.md, section 7), as issue 12 asks of
  the judge.
- ``network``: the network alone on the whole picture at its cache scale (``views.whole_image_size``), what every
  stylize evaluation used before; kept so that older numbers can be reproduced.

Any other size than the run's cache size is resized to it (bilinear, antialiased) first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.classify import load_classifier, predict_crops
from artstyle.errors import ArtstyleError
from artstyle.inference import chunks, on_device
from artstyle.stylize.views import classifier_input, whole_image_size

JUDGE_VIEWS = ("recipe", "network")


def load_judge(judge: str | Path, view: str = "recipe") -> tuple[torch.nn.Module, dict[str, Any]]:
    """The judge network and its run info, with ``info["judge_view"]``; the picture model is attached for
    ``recipe`` only (a loss network or the ``network`` view never reads it)."""
    if view not in JUDGE_VIEWS:
        raise ArtstyleError(f"--judge-view {view!r} is not one of: {', '.join(JUDGE_VIEWS)}")
    model, info = load_classifier(judge, picture=view == "recipe")
    return model, {**info, "judge_view": view, "picture_model": getattr(model, "picture_head", None) is not None}


def at_size(images: np.ndarray, side: int) -> np.ndarray:
    """uint8 ``(N, S, S, 3)`` resized to ``side`` (bilinear, antialiased; unchanged when ``S == side``)."""
    images = np.asarray(images)
    if images.shape[1] == side and images.shape[2] == side:
        return images
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def classifier_outputs(model: torch.nn.Module, images: np.ndarray, size: int, batch_size: int = 128, *,
                       precision: str | None = None, device: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Class scores ``(N, C)`` and ``forward_features`` ``(N, D)`` for uint8 ``images (N, S, S, 3)``,
    resized to the classifier's ``size`` when needed. Runs on ``device`` (None: the accelerator's) under the
    judge run's ``precision`` (:mod:`artstyle.inference`)."""
    place = on_device(model, precision, device)
    logits, feats = [], []
    with place.autocast():
        for _, batch in chunks(images, None, batch_size):
            f = model.forward_features(classifier_input(place.images(batch), size))
            feats.append(f.double().cpu().numpy())
            logits.append(model.head(f).float().cpu().numpy())  # logits = head(features) (dropout off in eval)
    if not logits:
        return np.zeros((0, 0)), np.zeros((0, 0))
    return np.concatenate(logits), np.concatenate(feats)


def _softmax(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(logits).float(), 1).numpy() if len(logits) else logits


def _recipe_probs(judge: torch.nn.Module, info: dict[str, Any], images: np.ndarray, batch_size: int) -> np.ndarray:
    """The ``recipe`` view: the run's crops at its cache scale, fused with its picture model."""
    side = int(info.get("cache_size") or info["size"])
    out = [predict_crops(judge, at_size(images[i:i + batch_size], side), int(info["size"]), int(info.get("tta") or 1),
                         precision=info.get("precision"))[0] for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, len(info["classes"])))


def judge_probs(judge: torch.nn.Module, info: dict[str, Any], images: np.ndarray,
                batch_size: int = 64) -> np.ndarray:
    """Class probabilities ``(N, C)`` of uint8 ``images (N, S, S, 3)`` under ``info["judge_view"]`` (module
    docstring; default ``recipe``). Read ``batch_size`` pictures at a time."""
    if info.get("judge_view", "recipe") == "network":
        logits, _ = classifier_outputs(judge, images, whole_image_size(info), precision=info.get("precision"))
        return _softmax(logits)
    return _recipe_probs(judge, info, images, batch_size)


def judge_outputs(judge: torch.nn.Module, info: dict[str, Any], images: np.ndarray,
                  batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What an evaluation reads of ``images``, each pass run once: the probabilities of :func:`judge_probs`, and the
    whole-picture network's logits ``(N, C)`` and ``forward_features`` ``(N, D)`` (:func:`classifier_outputs`)."""
    logits, feats = classifier_outputs(judge, images, whole_image_size(info), precision=info.get("precision"))
    if info.get("judge_view", "recipe") == "network":
        return _softmax(logits), logits, feats
    return _recipe_probs(judge, info, images, batch_size), logits, feats


def judge_label(info: dict[str, Any]) -> str:
    """How a table names the judge's view: ``crops + picture model`` or ``whole picture``."""
    if info.get("judge_view", "recipe") == "network":
        return "network on the whole picture"
    return "the run's recipe (crops" + (" + picture model)" if info.get("picture_model") else ")")


__all__ = ["JUDGE_VIEWS", "at_size", "classifier_outputs", "judge_label", "judge_outputs", "judge_probs", "load_judge"]
