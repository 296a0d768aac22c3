"""Pictures for the API and the web app, as uint8 arrays: the crop-vote heat overlay of a prediction, and upscaling for display.

Usage::

    heat = vote_heat(pred)                  # float (S, S): mean probability of the top style over covering crops
    img = vote_overlay(pred)                # uint8 (S, S, 3): the decoded image tinted by that heat
    big = enlarge(img, 256)                 # nearest-neighbour upscale, so 32 px runs stay visible
"""

from __future__ import annotations

from typing import Any

import numpy as np


def vote_heat(pred: dict[str, Any]) -> np.ndarray:
    """``(S, S)`` float in [0, 1]: for each pixel, the mean probability of the top style over the crops covering it.

    ``pred`` is :meth:`Classifier.predict`'s result (``image``, ``boxes``, ``per_crop``, ``top``,
    ``probabilities``). Pixels no crop covers are 0.
    """
    image, boxes, per_crop = pred["image"], pred["boxes"], np.asarray(pred["per_crop"])
    top = list(pred["probabilities"]).index(pred["top"][0]["style"])
    total = np.zeros(image.shape[:2], np.float64)
    count = np.zeros(image.shape[:2], np.float64)
    for (y, x, h, w), probs in zip(boxes, per_crop):
        total[y:y + h, x:x + w] += probs[top]
        count[y:y + h, x:x + w] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def vote_overlay(pred: dict[str, Any], alpha: float = 0.5) -> np.ndarray:
    """The decoded image blended with an ``inferno`` colouring of :func:`vote_heat` (bright = voted for the top)."""
    from matplotlib import colormaps

    heat = vote_heat(pred)
    colours = colormaps["inferno"](heat)[..., :3] * 255.0
    out = (1 - alpha) * pred["image"].astype(np.float64) + alpha * colours
    return np.clip(out.round(), 0, 255).astype(np.uint8)


def enlarge(image: np.ndarray, at_least: int = 256) -> np.ndarray:
    """``image (H, W, 3)`` repeated by the smallest integer factor that makes its short side ``>= at_least``."""
    factor = max(1, -(-at_least // max(1, min(image.shape[:2]))))
    return image if factor == 1 else np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


__all__ = ["enlarge", "vote_heat", "vote_overlay"]
