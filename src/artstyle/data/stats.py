"""Dataset statistics: class counts per split, imbalance ratio, a bar chart and a sample grid.

Usage: ``run = write_stats(prepare_cache("builtin"))`` -> ``runs/data/<ts>-stats/`` with stats.json and figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artstyle.data.cache import Cache, skipped_items
from artstyle.figures import SYNTHETIC_NOTE, image_grid, new_figure, save_figure, save_png, stamp_synthetic
from artstyle.runs import create_run, write_json
from artstyle.styles import display_name


def dataset_stats(cache: Cache) -> dict[str, Any]:
    """Counts per class and split, the imbalance ratio (largest / smallest train class) and totals."""
    splits = [s for s in ("train", "val", "test") if (cache.splits == s).any()]
    counts = {s: {c: int(n) for c, n in zip(cache.classes, cache.counts(s))} for s in splits}
    train = np.array([counts.get("train", {}).get(c, 0) for c in cache.classes])
    nonzero = train[train > 0]
    skipped = skipped_items(cache)
    return {
        "source": cache.source,
        "synthetic": cache.synthetic,
        "note": SYNTHETIC_NOTE if cache.synthetic else "real data",
        "size": cache.size,
        "classes": cache.classes,
        "counts": counts,
        "totals": {s: int(sum(counts[s].values())) for s in splits},
        "imbalance_ratio": float(nonzero.max() / nonzero.min()) if len(nonzero) else float("nan"),
        "majority_class": cache.classes[int(train.argmax())] if len(nonzero) else None,
        "classes_without_train_images": [c for c, n in zip(cache.classes, train) if n == 0],
        "found": int(cache.meta.get("n_found", len(cache.labels) + len(skipped))),
        "cached": int(len(cache.labels)),
        "skipped": len([s for s in skipped if not s["key"].startswith("class:")]),
    }


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


def sample_grid(cache: Cache, per_class: int = 6, seed: int = 0) -> np.ndarray:
    """``(C*h, per_class*w, 3)`` uint8: a few random train images per class, one row per class."""
    rng = np.random.default_rng(seed)
    s = cache.size
    tiles = []
    for c in range(len(cache.classes)):
        rows = np.flatnonzero(cache.labels == c)
        pick = np.sort(rng.choice(rows, size=min(per_class, len(rows)), replace=False)) if len(rows) else []
        imgs = [np.asarray(cache.images[r]) for r in pick]
        imgs += [np.full((s, s, 3), 255, np.uint8)] * (per_class - len(imgs))
        tiles.extend(imgs)
    return image_grid(np.stack(tiles), nrow=per_class)


def plot_sample_grid(cache: Cache, per_class: int = 6, thumb: int = 64, seed: int = 0) -> Any:
    """A labelled figure of :func:`sample_grid`, thumbnails resized to ``thumb`` px."""
    from PIL import Image

    grid = sample_grid(cache, per_class, seed)
    scale = thumb / cache.size
    grid = np.asarray(Image.fromarray(grid).resize((int(grid.shape[1] * scale), int(grid.shape[0] * scale))))
    n = len(cache.classes)
    fig, ax = new_figure(figsize=(per_class * 0.9 + 2.2, n * 0.9 + 0.6))
    ax.imshow(grid)
    ax.set_xticks([])
    ax.set_yticks([(i + 0.5) * grid.shape[0] / n for i in range(n)], [display_name(c) for c in cache.classes],
                  fontsize=8)
    ax.set_title("Samples per style" + (" (synthetic)" if cache.synthetic else ""))
    stamp_synthetic(fig, cache.synthetic)
    return fig


def write_stats(cache: Cache, out: Path | None = None) -> Path:
    """Write stats.json, ``figures/class_counts.png`` and ``figures/samples.png``; return the run dir."""
    run = out or create_run("data", "stats")
    (run / "figures").mkdir(parents=True, exist_ok=True)
    stats = dataset_stats(cache)
    write_json(run / "stats.json", stats)
    write_json(run / "classes.json", {"classes": cache.classes})
    save_figure(plot_class_counts(stats), run / "figures" / "class_counts.png")
    save_figure(plot_sample_grid(cache), run / "figures" / "samples.png")
    raw = sample_grid(cache, per_class=8)
    save_png(_caption_synthetic(raw) if cache.synthetic else raw, run / "figures" / "samples_raw.png")
    return run


def _caption_synthetic(grid: np.ndarray) -> np.ndarray:
    """``grid`` with a white band below it carrying the synthetic-data note in red (figures have no title here)."""
    from PIL import Image, ImageDraw

    band = Image.new("RGB", (grid.shape[1], 16), (255, 255, 255))
    ImageDraw.Draw(band).text((4, 2), SYNTHETIC_NOTE, fill=(176, 0, 32))
    return np.concatenate([grid, np.asarray(band)], axis=0)


__all__ = ["dataset_stats", "plot_class_counts", "sample_grid", "plot_sample_grid", "write_stats", "save_png"]
