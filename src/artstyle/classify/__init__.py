"""Style classification from scratch: train with an imbalance strategy, evaluate honestly, predict, compare.

Usage::

    run = train_classifier(ClassifyConfig(data="builtin", imbalance="crt", epochs=10))
    model, info = load_classifier(run)
    evaluate_classifier(run, data="/data/wikiart")       # maps classes by name
    predict(run, ["a.jpg"], topk=5)

Submodules: ``config`` (ClassifyConfig, torch-free), ``task`` (the loss and the imbalance strategies),
``train`` (training and cRT), ``load`` (the public loader), ``evaluate`` (evaluation and prediction),
``compare`` (strategies side by side), ``crops`` (native-scale crops and the multi-crop prediction),
``picture_stats`` (``--picture-stats``: the whole picture's statistics and the linear model on them). Importing
this package does not import torch: the names below are loaded from their submodule on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from artstyle.classify.config import IMBALANCE, ClassifyConfig

if TYPE_CHECKING:
    from artstyle.classify.compare import compare_strategies
    from artstyle.classify.crops import grid_crops, grid_offsets, model_crops, predict_crops, whole_view
    from artstyle.classify.evaluate import (evaluate_classifier, evaluate_on_cache, map_classes, predict,
                                           predict_arrays, run_policy)
    from artstyle.classify.load import load_classifier
    from artstyle.classify.picture_stats import picture_statistics, predict_and_vote
    from artstyle.classify.task import ClassificationTask, class_weights, logit_offsets
    from artstyle.classify.train import train_classifier

# Public name -> the submodule that defines it (those import torch).
_LAZY = {"ClassificationTask": "task", "class_weights": "task", "logit_offsets": "task",
         "train_classifier": "train", "load_classifier": "load", "evaluate_classifier": "evaluate",
         "evaluate_on_cache": "evaluate", "map_classes": "evaluate", "predict": "evaluate",
         "predict_arrays": "evaluate", "run_policy": "evaluate", "compare_strategies": "compare",
         "predict_crops": "crops", "grid_crops": "crops", "grid_offsets": "crops", "whole_view": "crops",
         "model_crops": "crops", "picture_statistics": "picture_stats", "predict_and_vote": "picture_stats"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"artstyle.classify.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'artstyle.classify' has no attribute {name!r}")


__all__ = ["IMBALANCE", "ClassifyConfig", *_LAZY]
