"""Classification metrics with the baselines beside them, and the confusion-matrix figure.

Usage: ``m = classification_report(y_true, probs, classes, train_counts)`` -> JSON-able dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from artstyle.figures import new_figure, stamp_synthetic
from artstyle.styles import display_name


def frequency_groups(train_counts: np.ndarray) -> tuple[list[int], list[int], list[int], dict[str, Any]]:
    """Split classes into head / medium / tail thirds by training-set frequency.

    Thirds of the classes ranked by train count (ties broken by index), so the groups exist at every
    dataset scale; the count thresholds that result are returned so reports can state them.
    """
    order = sorted(range(len(train_counts)), key=lambda c: (-train_counts[c], c))
    k = len(order)
    head, medium, tail = order[: round(k / 3)], order[round(k / 3): round(2 * k / 3)], order[round(2 * k / 3):]
    thresholds = {
        "head": f">= {int(min(train_counts[c] for c in head))} train images" if head else "",
        "medium": (f"{int(min(train_counts[c] for c in medium))}-{int(max(train_counts[c] for c in medium))} train images"
                   if medium else ""),
        "tail": f"<= {int(max(train_counts[c] for c in tail))} train images" if tail else "",
    }
    return head, medium, tail, thresholds


def classification_report(y_true: np.ndarray, probs: np.ndarray, classes: list[str],
                          train_counts: np.ndarray) -> dict[str, Any]:
    """All the numbers: accuracy, balanced accuracy, macro-F1, top-5, per class, per frequency group,
    the confusion matrix, and the majority-class and chance baselines.

    ``y_true``: ``(N,)`` class indices; ``probs``: ``(N, C)`` scores; ``train_counts``: ``(C,)``.
    """
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                                 precision_recall_fscore_support, top_k_accuracy_score)

    y_true = np.asarray(y_true)
    C = len(classes)
    labels = np.arange(C)
    y_pred = probs.argmax(1)
    present = np.unique(y_true)
    k = min(5, C)
    # With 5 or fewer classes top-5 is trivially 1; computed directly to avoid sklearn's warning.
    top5 = top_k_accuracy_score(y_true, probs, k=k, labels=labels) if C > 5 else 1.0
    prec, rec, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    majority = int(np.argmax(train_counts))
    maj_pred = np.full_like(y_true, majority)
    head, medium, tail, thresholds = frequency_groups(np.asarray(train_counts))
    groups = {}
    for name, members in (("head", head), ("medium", medium), ("tail", tail)):
        mask = np.isin(y_true, members)
        groups[name] = {"classes": [classes[c] for c in members], "threshold": thresholds[name],
                        "n": int(mask.sum()),
                        "accuracy": float((y_pred[mask] == y_true[mask]).mean()) if mask.any() else float("nan"),
                        "mean_recall": float(np.mean([rec[c] for c in members if support[c] > 0]))
                        if any(support[c] > 0 for c in members) else float("nan")}
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # sklearn's balanced accuracy averages recall over the classes present in y_true.
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        f"top{k}_accuracy": float(top5),
        "baselines": {
            "majority_class": classes[majority],
            "majority_accuracy": float((maj_pred == y_true).mean()),
            "majority_balanced_accuracy": float(balanced_accuracy_score(y_true, maj_pred)),
            "majority_macro_f1": float(f1_score(y_true, maj_pred, labels=present, average="macro", zero_division=0)),
            "chance_balanced_accuracy": 1.0 / max(1, len(present)),
            "chance_accuracy": 1.0 / C,
        },
        "per_class": {classes[c]: {"precision": float(prec[c]), "recall": float(rec[c]), "f1": float(f1[c]),
                                   "support": int(support[c]), "train_count": int(train_counts[c])} for c in labels},
        "groups": groups,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def plot_confusion(matrix: np.ndarray, classes: list[str], ax: Any = None, synthetic: bool = False,
                   title: str = "Confusion matrix (rows: true style, normalised)") -> Any:
    """Row-normalised confusion matrix heatmap labelled with style names."""
    m = np.asarray(matrix, dtype=float)
    rows = m.sum(1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    n = len(classes)
    fig, ax = new_figure(ax, figsize=(0.32 * n + 3, 0.32 * n + 2.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    names = [display_name(c) for c in classes]
    ax.set_xticks(range(n), names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if norm[i, j] >= 0.1:
                    ax.text(j, i, f"{norm[i, j]:.1f}"[1:] if norm[i, j] < 1 else "1", ha="center", va="center",
                            fontsize=5.5, color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.04)
    ax.set_title(title + (" - synthetic data" if synthetic else ""), fontsize=9)
    stamp_synthetic(fig, synthetic)
    return fig
