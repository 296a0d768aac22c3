"""The classification task the engine trains, and the class-imbalance strategies that shape its loss.

Usage::

    weights = class_weights(train_counts, "effective", beta=0.999)     # weighted-loss
    offsets = logit_offsets(train_counts, tau=1.0)                     # logit-adjust
    fit(model, ClassificationTask(weights, offsets, label_smoothing=0.1), train_ds, val_ds, run, cfg)
    ClassificationTask(adv_eps=8)   # adversarial training (FGSM with a random start), for a stylizer's loss network
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.engine import to_float


def class_weights(counts: np.ndarray, weighting: str = "effective", beta: float = 0.999) -> np.ndarray:
    """Per-class loss weights ``(C,)``, mean 1 over classes present; 0 for classes without train images."""
    counts = np.asarray(counts, dtype=np.float64)
    w = np.zeros_like(counts)
    present = counts > 0
    if weighting == "inverse":
        w[present] = 1.0 / counts[present]
    else:  # Cui et al. 2019: the effective number of samples (1 - beta^n) / (1 - beta)
        w[present] = (1.0 - beta) / (1.0 - np.power(beta, counts[present]))
    return w / w[present].mean()


def logit_offsets(counts: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """``tau * log(prior)`` per class ``(C,)`` (Menon et al. 2021); added to logits in the training loss only."""
    counts = np.asarray(counts, dtype=np.float64)
    prior = np.maximum(counts, 1e-3) / counts.sum()
    return tau * np.log(prior)


def adversarial_images(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float) -> torch.Tensor:
    """FGSM with a random start (Wong, Rice and Kolter 2020): ``x`` in ``[-1, 1]`` moved by at most ``eps`` (in the
    same units) per pixel to raise the cross-entropy, one gradient step from a uniform random point in the ball.

    Training on these makes a classifier robust, and a robust classifier's gradients point at features people see
    (Santurkar et al. 2019; Nakano 2019 on robust networks as style-transfer losses), meant for a stylizer's loss
    network (where it did not pay: docs/results.md, section 5). The attack runs the underlying module (not a DDP wrapper, whose reducer expects one forward
    per backward) and leaves no gradient on the weights.
    """
    net = getattr(model, "module", model)
    delta = torch.empty_like(x).uniform_(-eps, eps).requires_grad_(True)
    loss = F.cross_entropy(net((x + delta).clamp(-1, 1)).float(), labels)
    (grad,) = torch.autograd.grad(loss, delta)
    delta = (delta.detach() + 1.25 * eps * grad.sign()).clamp(-eps, eps)
    return (x + delta).clamp(-1, 1).detach()


class ClassificationTask:
    """Cross-entropy with optional class weights and logit offsets; monitors balanced accuracy."""

    monitor = "balanced_accuracy"
    mode = "max"

    def __init__(self, weights: np.ndarray | None = None, offsets: np.ndarray | None = None,
                 label_smoothing: float = 0.0, channels_last: bool = True, frozen_features: bool = False,
                 keep: str = "best", adv_eps: float = 0.0, mixup: float = 0.0) -> None:
        self.weights = torch.tensor(weights, dtype=torch.float32) if weights is not None else None
        self.offsets = torch.tensor(offsets, dtype=torch.float32) if offsets is not None else None
        self.label_smoothing = label_smoothing
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.frozen_features = frozen_features
        self.adv_eps = adv_eps / 127.5  # in 0-255 pixel levels; the network's input spans [-1, 1]
        self.mixup = mixup
        self.keep = keep  # engine.fit: the "best" (validation balanced accuracy) or "last" epoch -> best.safetensors

    def train_mode(self, model: torch.nn.Module) -> None:
        if self.frozen_features:  # cRT: BatchNorm statistics of the frozen features must not drift
            model.eval()

    def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        images, labels = batch
        x = to_float(images).contiguous(memory_format=self.memory_format)
        if self.adv_eps > 0:
            x = adversarial_images(model, x, labels, self.adv_eps)
        lam, partner = 1.0, labels
        if self.mixup > 0:  # Zhang et al. 2018: a convex mix of two images, and of their losses
            lam = float(torch.distributions.Beta(self.mixup, self.mixup).sample())  # torch's seeded stream
            order = torch.randperm(len(x), device=x.device)
            x, partner = lam * x + (1 - lam) * x[order], labels[order]
        logits = model(x).float()
        if self.offsets is not None:
            logits = logits + self.offsets.to(logits.device)
        weight = self.weights.to(logits.device) if self.weights is not None else None
        loss = lam * F.cross_entropy(logits, labels, weight=weight, label_smoothing=self.label_smoothing)
        if lam < 1:
            loss = loss + (1 - lam) * F.cross_entropy(logits, partner, weight=weight,
                                                      label_smoothing=self.label_smoothing)
        return loss, {}

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, loader: Any, accelerator: Any) -> tuple[np.ndarray, np.ndarray]:
        model.eval()
        probs, labels = [], []
        for images, y in loader:
            with accelerator.autocast():
                logits = model(to_float(images).contiguous(memory_format=self.memory_format)).float()
            p, y = accelerator.gather_for_metrics((logits.softmax(-1), y))
            probs.append(p.cpu())
            labels.append(y.cpu())
        return torch.cat(probs).numpy(), torch.cat(labels).numpy()

    def evaluate(self, model: torch.nn.Module, loader: Any, accelerator: Any) -> dict[str, float]:
        from sklearn.metrics import balanced_accuracy_score, f1_score

        probs, y = self.predict(model, loader, accelerator)
        pred = probs.argmax(1)
        return {"accuracy": float((pred == y).mean()), "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
                "macro_f1": float(f1_score(y, pred, average="macro"))}


__all__ = ["ClassificationTask", "adversarial_images", "class_weights", "logit_offsets"]
