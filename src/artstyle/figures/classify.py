"""Classification figures: the confusion matrix and the comparison of imbalance strategies.

Usage: ``save_figure(plot_confusion(m["confusion_matrix"], classes), run / "figures" / "confusion.png")``;
``save_figure(plot_strategies(comparison["summary"], synthetic), run / "figures" / "comparison.png")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from artstyle.figures import new_figure, stamp_synthetic
from artstyle.styles import display_name


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


def plot_strategies(table: list[dict], synthetic: bool, ax: Any = None) -> Any:
    """Grouped bars: accuracy, balanced accuracy and macro-F1 per (model, strategy), with std error bars.

    ``table``: comparison.json's ``summary`` (one entry per model and strategy, means and ``<metric>_std``).
    """
    fig, ax = new_figure(ax, figsize=(max(6, 1.3 * len(table) + 2), 4))
    metrics = ("accuracy", "balanced_accuracy", "macro_f1")
    x = np.arange(len(table))
    for i, m in enumerate(metrics):
        ax.bar(x + (i - 1) * 0.27, [100 * e[m] for e in table], 0.27, yerr=[100 * e[m + "_std"] for e in table],
               label=m.replace("_", " "), capsize=2)
    ax.set_xticks(x, [f"{e['model']}\n{e['strategy']}" for e in table], fontsize=8)
    ax.set_ylabel("% on the test split")
    ax.set_title("Imbalance strategies" + (" (synthetic data)" if synthetic else ""))
    ax.legend(fontsize=8)
    stamp_synthetic(fig, synthetic)
    return fig
