"""The classifier's public loader: rebuild a trained classifier from its run directory alone.

Usage: ``model, info = load_classifier("runs/classify/<ts>-resnet-crt")`` -> ``info["classes"]``, ``info["size"]``.
Other stages (stylize, embed) use this and nothing else of the classifier stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from artstyle.errors import ArtstyleError
from artstyle.runs import find_run, load_weights, read_json


def build_from_args(model_args: dict) -> torch.nn.Module:
    """The untrained network that config.json's ``model`` section describes."""
    from artstyle.models.classifier import build_classifier

    return build_classifier(model_args["arch"], model_args["num_classes"], model_args["img_size"],
                            model_args.get("width", 32), model_args.get("depth", 1))


def load_classifier(run: str | Path, weights: str = "best") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a trained classifier from its run directory alone. Returns ``(model in eval mode, info)``.

    ``info`` has ``classes``, ``size`` and the saved config.
    """
    run = find_run(run)
    info = read_json(run / "config.json")
    if "model" not in info or "arch" not in info.get("model", {}):
        raise ArtstyleError(f"{run} is not a classifier run (config.json has no model section)")
    classes = read_json(run / "classes.json")["classes"]
    model = load_weights(build_from_args(info["model"]), run / f"{weights}.safetensors")
    return model, {"classes": classes, "size": info["model"]["img_size"], "config": info}


__all__ = ["build_from_args", "load_classifier"]
