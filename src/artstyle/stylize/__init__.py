"""Re-render any image in any training style with a style-conditioned encoder-decoder, and measure it.

Usage::

    run = train_stylizer(StylizeConfig(data="builtin:0.1", size=64, judge="auto"))
    model, info = load_stylizer(run)
    render(run, ["photo.jpg"], styles=["Ukiyo-e", "Pointillism"])       # grid PNG + one PNG per style
    evaluate_stylizer(run, judge="runs/classify/<other run>", pairs=500)

Modules: ``config`` (StylizeConfig, torch-free), ``task`` (the objective), ``views`` (how a frozen classifier sees a
picture: its size, its pixel scale, random views), ``train``, ``load`` (reload and
re-render arrays), ``rendering`` (image files in, PNGs out), ``judging`` (what the judge says a picture is: its run's recipe or its
network alone), ``evaluate`` (the judge and the baselines) and
``frontier`` (how far overlaying a real painting of the target style gets with the same judge).
Only ``config`` is imported with the package; the rest load on first use, so the CLI's ``--help`` needs no torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from artstyle.stylize.config import StylizeConfig

_LAZY = {
    "StylizeTask": "task", "gram": "task", "gram_scales": "task", "style_grams": "task", "mean_codes": "task",
    "apply_view": "views", "random_views": "views", "classifier_input": "views", "whole_image_size": "views",
    "train_stylizer": "train", "style_mean_images": "train", "init_from_autoencoder": "train",
    "load_stylizer": "load", "stylize_arrays": "load", "stylize_image": "load",
    "render": "rendering", "resolve_styles": "rendering", "expand_images": "rendering",
    "decode_keep_aspect": "rendering", "fit_square": "rendering", "pad_to_multiple": "load",
    "evaluate_stylizer": "evaluate", "evaluate_pairs": "evaluate", "evaluation_markdown": "evaluate",
    "evaluation_grid": "evaluate", "classifier_outputs": "judging", "cosine_distance": "evaluate",
    "sample_pairs": "evaluate", "METHODS": "evaluate", "METHOD_LABELS": "evaluate",
    "load_judge": "judging", "judge_probs": "judging", "JUDGE_VIEWS": "judging",
    "overlay_frontier": "frontier", "overlay": "frontier", "target_paintings": "frontier",
}


def __getattr__(name: str) -> Any:
    """Import the submodule defining ``name`` on first use (they import torch)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = ["StylizeConfig", *_LAZY]
