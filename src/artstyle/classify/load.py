"""The classifier's public loader: rebuild a trained classifier from its run directory alone.

Usage: ``model, info = load_classifier("runs/classify/<ts>-resnet-crt")`` -> ``info["classes"]``, ``info["size"]``.
Other stages (stylize, embed) use this and nothing else of the classifier stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from artstyle.errors import ArtstyleError
from artstyle.inference import run_precision
from artstyle.runs import find_run, load_weights, read_json


def build_from_args(model_args: dict) -> torch.nn.Module:
    """The untrained network that config.json's ``model`` section describes (a texture run without ``highpass``
    or ``peaks`` predates that input and gets the network it was trained as)."""
    from artstyle.models.classifier import build_classifier

    return build_classifier(model_args["arch"], model_args["num_classes"], model_args["img_size"],
                            model_args.get("width", 32), model_args.get("depth", 1), model_args.get("pool", "avg"),
                            highpass=model_args.get("highpass", False), peaks=model_args.get("peaks", False),
                            global_view=model_args.get("global_view", False))


def load_classifier(run: str | Path, weights: str = "best", picture: bool = True
                    ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a trained classifier from its run directory alone. Returns ``(model in eval mode, info)``.

    With ``picture`` (the default) a run's picture model (``picture_head.safetensors``,
    :mod:`artstyle.classify.picture_stats`) rides along as ``model.picture_head``, and every prediction through
    :func:`artstyle.classify.crops.predict_crops` combines its vote with the crops'.

    ``info`` has ``classes``, ``size`` (the network's input), ``cache_size`` (the side images are decoded at
    before cropping; ``size`` for runs without crops), ``tta`` (the crop grid prediction averages), ``precision``
    (the run's ``--precision``, which inference uses on a GPU) and the config. The model stays on the CPU; the
    inference functions move it (``artstyle.inference.on_device``).
    """

    run = find_run(run)
    info = read_json(run / "config.json")
    if "model" not in info or "arch" not in info.get("model", {}):
        raise ArtstyleError(f"{run} is not a classifier run (config.json has no model section)")
    classes = read_json(run / "classes.json")["classes"]
    model = load_weights(build_from_args(info["model"]), run / f"{weights}.safetensors")
    if picture and weights == "best":  # its weight was chosen against best.safetensors
        from artstyle.classify.picture_stats import attach, load_picture_head

        attach(model, load_picture_head(run, len(classes)))
    size = info["model"]["img_size"]
    crops = info.get("input", {})
    return model, {"classes": classes, "size": size, "cache_size": crops.get("cache_size", size),
                   "tta": crops.get("tta", 1), "precision": run_precision(info), "config": info}


__all__ = ["build_from_args", "load_classifier"]
