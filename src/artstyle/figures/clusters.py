"""Cluster figures: style maps, clusters x styles heatmaps, thumbnail maps, comparison bars.

Usage::

    fig = plot_style_map(xy, labels, classes, title="UMAP map")      # xy: (N, 2), labels: (N,)
    save_cluster_figure(fig, run / "figures" / "map_umap.png", synthetic=True)

Every plot function is pure: it draws into ``ax`` (or a new figure) and returns the Figure; callers save it
(with :func:`save_cluster_figure`, which makes room for the synthetic-data stamp).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artstyle.figures import new_figure, plt, save_figure, stamp_synthetic

MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Marker shapes; style i gets colour ``i % 10`` and marker ``i // 10``, so 27 styles stay distinguishable."""


def style_marker(i: int) -> tuple[Any, str]:
    """``(colour, marker)`` of class ``i``: 10 tab10 colours x 8 markers = 80 distinct combinations."""
    colours = plt().get_cmap("tab10").colors
    return colours[i % 10], MARKERS[(i // 10) % len(MARKERS)]


def plot_style_map(xy: np.ndarray, labels: np.ndarray, classes: Sequence[str], ax: Any = None, title: str = "",
                   legend_title: str = "Style", display_names: bool = True) -> Any:
    """Scatter a 2-D map, each class with its own colour *and* marker, legend outside the axes.

    ``xy`` (N, 2) coordinates, ``labels`` (N,) indices into ``classes``. The legend has one entry per
    class present, in class order, with display names (``Post-Impressionism``) when ``display_names``.
    Large classes are drawn first so small ones stay visible on top.
    """
    from matplotlib.lines import Line2D

    from artstyle.styles import display_name

    xy = np.asarray(xy)
    labels = np.asarray(labels)
    fig, ax = new_figure(ax, figsize=(10, 7))
    present, counts = np.unique(labels, return_counts=True)
    size = float(np.clip(400 / math.sqrt(max(len(xy), 1)), 1.0, 25.0))
    for rank, c in enumerate(present[np.argsort(-counts, kind="stable")]):
        colour, marker = style_marker(int(c))
        pts = xy[labels == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, color=colour, marker=marker, alpha=0.7, linewidths=0,
                   zorder=2 + rank)
    handles = []
    for c in present:
        colour, marker = style_marker(int(c))
        name = display_name(classes[int(c)]) if display_names else str(classes[int(c)])
        handles.append(Line2D([], [], linestyle="", marker=marker, color=colour, markersize=6, label=name))
    ax.legend(handles=handles, title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
              fontsize=7, title_fontsize=8, ncol=1 if len(handles) <= 30 else 2, frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return fig


def _sorted_rows(cluster_ids: np.ndarray, table: np.ndarray, max_rows: int
                 ) -> tuple[list[str], np.ndarray]:
    """Order clusters by their majority style, then by how pure they are, so the heatmap reads diagonally.

    Noise (-1) goes last; beyond ``max_rows`` the smallest clusters are merged into one 'other' row.
    """
    sizes = table.sum(axis=1)
    keep = np.arange(len(cluster_ids))
    other = None
    if len(keep) > max_rows:
        keep = np.sort(np.argsort(-sizes, kind="stable")[: max_rows - 1])
        rest = np.setdiff1d(np.arange(len(cluster_ids)), keep)
        other = (f"other ({len(rest)} clusters)", table[rest].sum(axis=0))
    dominant = table[keep].argmax(axis=1)
    purity = table[keep].max(axis=1) / np.maximum(sizes[keep], 1)
    is_noise = cluster_ids[keep] < 0
    order = keep[np.lexsort((-purity, dominant, is_noise))]
    names = [("noise" if cluster_ids[i] < 0 else f"c{cluster_ids[i]}") + f" ({sizes[i]:,})" for i in order]
    rows = table[order]
    if other is not None:
        names.append(other[0])
        rows = np.vstack([rows, other[1]])
    return names, rows


def plot_contingency(labels_true: np.ndarray, labels_pred: np.ndarray, classes: Sequence[str], ax: Any = None,
                     title: str = "", max_rows: int = 40) -> Any:
    """Clusters x styles heatmap: colour = share of the cluster in each style, counts written in small tables.

    ``labels_true`` (N,) indices into ``classes``; ``labels_pred`` (N,) cluster ids (-1 = noise). Only styles
    present are shown; rows are sorted by majority style (see :func:`_sorted_rows`).
    """
    from artstyle.metrics import contingency
    from artstyle.styles import display_name

    cluster_ids, table = contingency(labels_true, labels_pred, len(classes))
    cols = np.flatnonzero(table.sum(axis=0) > 0)
    names, rows = _sorted_rows(cluster_ids, table[:, cols], max_rows)
    n_rows, n_cols = rows.shape
    fig, ax = new_figure(ax, figsize=(max(6.0, 0.34 * n_cols + 3), max(4.0, 0.28 * n_rows + 2.5)))
    share = rows / np.maximum(rows.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(share, cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(n_cols), [display_name(classes[c]) for c in cols], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n_rows), names, fontsize=7)
    ax.set_xlabel("true style")
    ax.set_ylabel("cluster (size)")
    if n_rows * n_cols <= 400:  # numbers only where they stay legible
        for (r, c), v in np.ndenumerate(rows):
            if v:
                ax.text(c, r, str(v), ha="center", va="center", fontsize=6,
                        color="black" if share[r, c] > 0.6 else "white")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="share of cluster")
    ax.set_title(title, fontsize=10)
    return fig


def plot_thumbnail_map(xy: np.ndarray, thumbs: np.ndarray, ax: Any = None, grid: int = 30, title: str = "") -> Any:
    """Thumbnails placed on a 2-D map: one per occupied cell of a ``grid`` x ``grid`` lattice.

    ``xy`` (N, 2), ``thumbs`` (N, t, t, 3) uint8. In each cell the point nearest its centre is shown, so
    dense regions do not hide everything under a pile of overlapping images.
    """
    xy = np.asarray(xy, dtype=np.float64)
    fig, ax = new_figure(ax, figsize=(10, 10))
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    unit = (xy - lo) / np.maximum(hi - lo, 1e-12)  # (N, 2) in [0, 1]
    cell = np.minimum((unit * grid).astype(np.int64), grid - 1)
    cell_id = cell[:, 0] * grid + cell[:, 1]
    dist = np.linalg.norm(unit * grid - (cell + 0.5), axis=1)
    order = np.lexsort((dist, cell_id))
    first = order[np.r_[True, cell_id[order][1:] != cell_id[order][:-1]]]  # nearest-to-centre point per cell
    for i in first:
        x0, y0 = cell[i] / grid
        ax.imshow(thumbs[i], extent=(x0, x0 + 1 / grid, y0, y0 + 1 / grid), interpolation="nearest")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return fig


def plot_embedding_comparison(results: dict[str, dict[str, dict[str, Any]]], methods: Sequence[str],
                    scores: Sequence[str] = ("ari", "nmi", "purity"),
                    chance: dict[str, dict[str, Any]] | None = None, title: str = "") -> Any:
    """Grouped bars: one panel per score, methods on the x axis, one bar per representation.

    ``results`` maps representation -> method -> scores dict; ``chance`` maps a label -> scores of a random
    labelling, drawn as dashed lines.
    """
    pyplot = plt()
    reps = list(results)
    fig, axes = pyplot.subplots(1, len(scores), figsize=(4.2 * len(scores) + 1.5, 4.2), squeeze=False)
    width = 0.8 / max(len(reps), 1)
    x = np.arange(len(methods))
    colours = pyplot.get_cmap("tab10").colors
    for ax, score in zip(axes[0], scores):
        for j, rep in enumerate(reps):
            vals = [results[rep][m].get(score) for m in methods]
            vals = [np.nan if v is None else v for v in vals]
            ax.bar(x - 0.4 + width * (j + 0.5), vals, width, label=rep, color=colours[j % 10])
        for j, (label, sc) in enumerate((chance or {}).items()):
            if sc.get(score) is not None:
                ax.axhline(sc[score], color="black", linestyle=(0, (4, 2 + j)), linewidth=1, label=label)
        ax.set_xticks(x, list(methods), rotation=20, fontsize=8)
        ax.set_title({"ari": "ARI", "nmi": "NMI"}.get(score, score), fontsize=10)
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.0)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    axes[0][-1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def save_cluster_figure(fig: Any, path: Path, synthetic: bool) -> Path:
    """Save a cluster figure as PNG (atomically, then closed), stamped when the data is synthetic."""
    import warnings

    if synthetic:
        # Pull rotated tick labels and outside legends into the figure, leaving the bottom strip to the
        # stamp; otherwise the tight bounding box would grow around them and the stamp would overprint them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.tight_layout(rect=(0, 0.035, 1, 1))
    stamp_synthetic(fig, synthetic)
    return save_figure(fig, path)


__all__ = ["plot_style_map", "plot_contingency", "plot_thumbnail_map", "plot_embedding_comparison",
           "save_cluster_figure", "style_marker", "MARKERS"]
