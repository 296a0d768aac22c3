"""The classification task the engine trains, and the class-imbalance strategies that shape its loss.

Usage::

    weights = class_weights(train_counts, "effective", beta=0.999)     # weighted-loss
    offsets = logit_offsets(train_counts, tau=1.0)                     # logit-adjust
    fit(model, ClassificationTask(weights, offsets, label_smoothing=0.1), train_ds, val_ds, run, cfg)
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


class ClassificationTask:
    """Cross-entropy with optional class weights and logit offsets; monitors balanced accuracy."""

    monitor = "balanced_accuracy"
    mode = "max"

    def __init__(self, weights: np.ndarray | None = None, offsets: np.ndarray | None = None,
                 label_smoothing: float = 0.0, channels_last: bool = True, frozen_features: bool = False,
                 keep: str = "best") -> None:
        self.weights = torch.tensor(weights, dtype=torch.float32) if weights is not None else None
        self.offsets = torch.tensor(offsets, dtype=torch.float32) if offsets is not None else None
        self.label_smoothing = label_smoothing
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.frozen_features = frozen_features
        self.keep = keep  # engine.fit: the "best" (validation balanced accuracy) or "last" epoch -> best.safetensors

    def train_mode(self, model: torch.nn.Module) -> None:
        if self.frozen_features:  # cRT: BatchNorm statistics of the frozen features must not drift
            model.eval()

    def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        images, labels = batch
        logits = model(to_float(images).contiguous(memory_format=self.memory_format)).float()
        if self.offsets is not None:
            logits = logits + self.offsets.to(logits.device)
        weight = self.weights.to(logits.device) if self.weights is not None else None
        loss = F.cross_entropy(logits, labels, weight=weight, label_smoothing=self.label_smoothing)
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


__all__ = ["ClassificationTask", "class_weights", "logit_offsets"]
