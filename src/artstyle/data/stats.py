"""Dataset statistics: class counts per split, the imbalance ratio, and the stats run with its figures.

Usage: ``run = write_stats(prepare_cache("builtin"))`` -> ``runs/data/<ts>-stats/`` with stats.json and figures.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np

from artstyle.data.cache import Cache, is_file_key, skipped_items
from artstyle.constants import SPLITS, SYNTHETIC_NOTE
from artstyle.figures import save_figure, save_png
from artstyle.figures.data import plot_class_counts, plot_sample_grid
from artstyle.figures.grids import captioned_grid
from artstyle.runs import create_run, write_config, write_json


def dataset_stats(cache: Cache) -> dict[str, Any]:
    """Counts per class and split, the imbalance ratio (largest / smallest train class) and totals."""
    splits = [s for s in SPLITS if (cache.splits == s).any()]
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
        "skipped": sum(1 for s in skipped if is_file_key(s["key"])),  # files: found = cached + skipped
    }


def sample_cells(cache: Cache, per_class: int = 6, seed: int = 0) -> np.ndarray:
    """``(C, per_class, S, S, 3)`` uint8: a few random train images per class (white where a class has fewer)."""
    rng = np.random.default_rng(seed)
    s = cache.size
    cells = np.full((len(cache.classes), per_class, s, s, 3), 255, np.uint8)
    for c in range(len(cache.classes)):
        rows = np.flatnonzero(cache.labels == c)
        pick = np.sort(rng.choice(rows, size=min(per_class, len(rows)), replace=False)) if len(rows) else []
        for k, r in enumerate(pick):
            cells[c, k] = cache.images[r]
    return cells


def stats_command(data: str, size: int, label_column: str = "style") -> str:
    """The ``artstyle data stats`` line for a dataset at ``size`` px."""
    words = ["artstyle", "data", "stats", "--data", data, "--size", str(size)]
    return shlex.join(words + (["--label-column", label_column] if label_column != "style" else []))


def write_stats(cache: Cache, out: Path | None = None, data: str | None = None, label_column: str = "style") -> Path:
    """Write config.json, stats.json, ``figures/class_counts.png`` and ``figures/samples.png``; return the run dir.

    ``data``, ``label_column``: the ``--data`` and ``--label-column`` the cache was prepared from, for the
    command config.json records (default: the cache's source).
    """
    run = out or create_run("data", "stats")
    (run / "figures").mkdir(parents=True, exist_ok=True)
    data = data or cache.source
    write_config(run, "data-stats", stats_command(data, cache.size, label_column),
                 {"data": data, "size": cache.size, "label_column": label_column, "cache": str(cache.root)})
    stats = dataset_stats(cache)
    write_json(run / "stats.json", stats)
    write_json(run / "classes.json", {"classes": cache.classes})
    save_figure(plot_class_counts(stats), run / "figures" / "class_counts.png")
    save_figure(plot_sample_grid(sample_cells(cache), cache.classes, cache.synthetic), run / "figures" / "samples.png")
    raw, _ = captioned_grid(sample_cells(cache, per_class=8), synthetic=cache.synthetic)
    save_png(raw, run / "figures" / "samples_raw.png")
    return run


__all__ = ["dataset_stats", "sample_cells", "stats_command", "write_stats"]
