"""Dataset figures: images per style, and sample images per style.

Usage: ``save_figure(plot_class_counts(dataset_stats(cache)), run / "figures" / "class_counts.png")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from artstyle.figures import new_figure, stamp_synthetic
from artstyle.figures.grids import image_grid
from artstyle.styles import display_name


def plot_class_counts(stats: dict[str, Any], ax: Any = None) -> Any:
    """Horizontal bars of train (and test) images per class, largest first, log-scaled x axis."""
    train = stats["counts"].get("train", {})
    order = sorted(stats["classes"], key=lambda c: train.get(c, 0))
    fig, ax = new_figure(ax, figsize=(8, 0.28 * len(order) + 1.5))
    y = np.arange(len(order))
    for split, colour, offset in (("train", "#3b6ea8", 0.2), ("test", "#e08a2c", -0.2)):
        if split in stats["counts"]:
            ax.barh(y + offset, [max(stats["counts"][split].get(c, 0), 0.8) for c in order], height=0.4,
                    color=colour, label=split)
    ax.set_yticks(y, [display_name(c) for c in order], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("images (log scale)")
    kind = "synthetic built-in dataset" if stats["synthetic"] else stats["source"]
    ax.set_title(f"Images per style ({kind}); train imbalance {stats['imbalance_ratio']:.0f}:1")
    ax.legend(loc="lower right")
    stamp_synthetic(fig, stats["synthetic"])
    return fig


def plot_sample_grid(cells: np.ndarray, classes: list[str], synthetic: bool = False, thumb: int = 64) -> Any:
    """Sample images ``cells (C, K, S, S, 3)`` uint8, one row per class labelled with its style; ``thumb`` px tiles."""
    from PIL import Image

    per_class, size = cells.shape[1], cells.shape[2]
    grid = image_grid(cells.reshape(-1, *cells.shape[2:]), nrow=per_class)
    scale = thumb / size
    grid = np.asarray(Image.fromarray(grid).resize((int(grid.shape[1] * scale), int(grid.shape[0] * scale))))
    n = len(classes)
    fig, ax = new_figure(figsize=(per_class * 0.9 + 2.2, n * 0.9 + 0.6))
    ax.imshow(grid)
    ax.set_xticks([])
    ax.set_yticks([(i + 0.5) * grid.shape[0] / n for i in range(n)], [display_name(c) for c in classes],
                  fontsize=8)
    ax.set_title("Samples per style" + (" (synthetic)" if synthetic else ""))
    stamp_synthetic(fig, synthetic)
    return fig
