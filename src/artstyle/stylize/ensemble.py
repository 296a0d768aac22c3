"""Several frozen loss classifiers as one (``stylize train --classifier RUN_A,RUN_B``), and the one-pass
logits-and-feature-maps call the stylizer's loss uses for any loss network.

Usage::

    clf, info = load_loss_classifier("runs/classify/a,runs/classify/b")   # one run: load_classifier's result
    logits, maps = logits_and_maps(clf, x)                                # maps: every member's, in order

Why (issue 12): a stylizer trained against one frozen classifier learns what fools *that* network, and much of
it does not fool an independent judge. Perturbations that fool several networks at once transfer better to an
unseen one (Liu et al. 2017, "Delving into transferable adversarial examples"). The ensemble's logits are the
members' mean; its feature maps are every member's maps in order, so the Gram term matches each member's
statistics; the content term reads the first member's middle map (:func:`content_network`).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from artstyle.classify import load_classifier
from artstyle.errors import ArtstyleError


class ClassifierEnsemble(nn.Module):
    """Frozen classifiers of one class list and input size as one loss network.

    ``forward(x) -> (N, K)`` mean logits; ``feature_maps(x)`` -> every member's maps, member after member.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2 or not all(hasattr(m, "feature_maps") for m in members):
            raise ArtstyleError("an ensemble needs at least two classifiers, each with feature_maps (resnet, texture)")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x).float() for m in self.members]).mean(0)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [f for m in self.members for f in m.feature_maps(x)]


def logits_and_maps(classifier: nn.Module, x: torch.Tensor, need_maps: bool) -> tuple[torch.Tensor, list]:
    """``(logits (N, K) float, feature maps or [])`` of ``x``, in one pass where the network allows it (resnet:
    the logits from its own last map; an ensemble: each member in turn)."""
    if not need_maps:
        return classifier(x).float(), []
    if isinstance(classifier, ClassifierEnsemble):
        pairs = [logits_and_maps(m, x, True) for m in classifier.members]
        return torch.stack([p[0] for p in pairs]).mean(0), [f for p in pairs for f in p[1]]
    maps = classifier.feature_maps(x)
    if hasattr(classifier, "pool"):  # resnet: head(dropout(pool(...))), dropout off in eval
        return classifier.head(classifier.pool(maps[-1]).flatten(1)).float(), maps
    return classifier(x).float(), maps  # any other classifier with feature_maps (texture): a second pass


def content_network(classifier: nn.Module) -> nn.Module:
    """The network whose middle feature map the content term compares: the classifier, or an ensemble's first
    member (whose maps come first in the ensemble's, so the same index picks it there)."""
    return classifier.members[0] if isinstance(classifier, ClassifierEnsemble) else classifier


def load_loss_classifier(runs: str, input_size: Callable[[dict], int] = lambda info: int(info["size"])
                         ) -> tuple[nn.Module, dict[str, Any]]:
    """``load_classifier`` of one run, or a :class:`ClassifierEnsemble` of comma-separated runs; ``info`` is the
    first run's. Members must share their classes and ``input_size(info)``, the side they see a whole image at
    (``stylize.views.whole_image_size``, which ``train_stylizer`` passes)."""
    names = loss_classifier_runs(runs)
    if len(set(names)) < len(names):
        raise ArtstyleError(f"--classifier {runs}: a run is named twice; name each loss classifier once")
    loaded = [load_classifier(name, picture=False) for name in names]  # a loss network: the crops' network alone
    if len(loaded) == 1:
        return loaded[0]
    first = loaded[0][1]
    for name, (model, info) in zip(names, loaded):
        if not hasattr(model, "feature_maps"):
            raise ArtstyleError(f"--classifier {runs}: {name} is not a resnet or texture classifier; an ensemble "
                                "takes those only (feature_maps)")
        if info["classes"] != first["classes"]:
            raise ArtstyleError(f"--classifier {runs}: {name} was trained on other classes than {names[0]}; an "
                                "ensemble needs the same classes")
        if input_size(info) != input_size(first):
            raise ArtstyleError(f"--classifier {runs}: {name} sees whole images at {input_size(info)} px, {names[0]} "
                                f"at {input_size(first)} px; an ensemble needs the same input size")
    return ClassifierEnsemble([model for model, _ in loaded]).eval(), first


def loss_classifier_runs(runs: str) -> list[str]:
    """The run names in a ``--classifier`` value (comma-separated for an ensemble); an empty name is an error."""
    names = [r.strip() for r in runs.split(",")]
    if not all(names):
        raise ArtstyleError(f"--classifier {runs!r}: an empty run name; separate runs with single commas")
    return names


__all__ = ["ClassifierEnsemble", "content_network", "load_loss_classifier", "logits_and_maps",
           "loss_classifier_runs"]
