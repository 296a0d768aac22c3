"""``artstyle cluster fit``: cluster one embeddings file, score the clusters against the styles, draw maps.

Usage: ``run = cluster_embeddings(ClusterConfig(embeddings="emb.npz"))``  # runs/cluster/<ts>-<kind>/

Pipeline: standardise every dimension, PCA to ``pca_dim`` (50), run each clustering method with as many
clusters as styles, score the clusters against the true styles (ARI, NMI, homogeneity, completeness,
V-measure, purity, silhouette; silhouette on a random subsample of at most 10,000 points, since exact
silhouette is O(N^2)), draw clusters x styles contingency heatmaps and 2-D maps (PCA, t-SNE, UMAP), and
export a TensorBoard projector folder.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from artstyle.cluster.config import ClusterConfig
from artstyle.cluster.console import stderr_console
from artstyle.cluster.inputs import check_names, resolve_k, select_split
from artstyle.cluster.maps import MAP_TITLES, MAPS, compute_map
from artstyle.cluster.methods import METHODS, fit_predict, prepare_features, subsample
from artstyle.cluster.projector import write_projector
from artstyle.config import command_line, config_dict
from artstyle.errors import ArtstyleError
from artstyle.metrics import chance_scores, cluster_scores


def _check_config(cfg: ClusterConfig) -> tuple[list[str], list[str]]:
    """The checked ``(methods, maps)`` of ``cfg``; every other bad setting is a user error here."""
    methods = check_names(cfg.methods, METHODS, "--methods", allow_empty=False)
    maps = check_names(cfg.maps, MAPS, "--maps", allow_empty=True)
    if cfg.color_by not in ("style", "cluster"):
        raise ArtstyleError(f"--color-by {cfg.color_by!r} is not one of: style, cluster")
    if cfg.pca_dim < 0:
        raise ArtstyleError(f"--pca-dim must be 0 (no PCA) or positive, got {cfg.pca_dim}")
    if not cfg.embeddings:
        raise ArtstyleError("no embeddings file given; pass the .npz written by `artstyle embed export`")
    return methods, maps


def _score_methods(run: Path, cfg: ClusterConfig, methods: list[str], emb: Any, X: np.ndarray, k: int, what: str,
                   assignments: dict[str, np.ndarray], timings: dict[str, float], log: Any) -> dict[str, dict]:
    """Fit every method, score it, write its metrics line and contingency figure; returns method -> scores."""
    from tqdm.auto import tqdm

    from artstyle.figures.clusters import plot_contingency, save_cluster_figure
    from artstyle.runs import append_jsonl

    y = emb.labels
    results: dict[str, dict[str, Any]] = {}
    for method in tqdm(methods, desc="clustering", unit="method", disable=None, leave=False):
        t0 = time.perf_counter()
        pred = fit_predict(method, X, k, cfg.seed, cfg.max_points_fit, cfg.hdbscan_min_cluster_size)
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        scores = cluster_scores(y, pred, X, seed=cfg.seed)
        scores["seconds"] = round(seconds, 3)
        timings[method] = seconds
        timings[f"scores_{method}"] = time.perf_counter() - t1
        results[method] = scores
        assignments[method] = pred
        append_jsonl(run / "metrics.jsonl", {"method": method, **scores})
        fig = plot_contingency(y, pred, emb.classes,
                               title=f"{method} clusters x styles, {what}\n"
                                     f"ARI {scores['ari']:.3f}  NMI {scores['nmi']:.3f}  purity {scores['purity']:.3f}")
        save_cluster_figure(fig, run / "figures" / f"contingency_{method}.png", emb.synthetic)
        log.print(f"  {method}: {scores['n_clusters']} clusters, ARI {scores['ari']:.3f}, NMI {scores['nmi']:.3f}, "
                  f"purity {scores['purity']:.3f} ({seconds:.1f} s)")
    return results


def _draw_maps(run: Path, cfg: ClusterConfig, maps: list[str], emb: Any, X: np.ndarray, what: str,
               color_pred: tuple[str, np.ndarray], timings: dict[str, float], log: Any) -> dict[str, np.ndarray]:
    """Compute and draw every 2-D map (and its thumbnail mosaic); returns ``<map>_xy`` / ``<map>_index`` arrays.

    ``color_pred`` is ``(method, labels (N,))`` of the clusters to colour by under ``--color-by cluster``.
    """
    from tqdm.auto import tqdm

    # Looked up at call time (not bound at import), so a test can swap in a recording plot_style_map.
    from artstyle.figures.clusters import plot_style_map, plot_thumbnail_map, save_cluster_figure

    color_method, color_labels = color_pred
    map_arrays: dict[str, np.ndarray] = {}
    for name in tqdm(maps, desc="maps", unit="map", disable=None, leave=False):
        if len(X) < 5:
            log.print(f"[yellow]skipping the {name} map: {len(X)} points are too few[/yellow]")
            continue
        t0 = time.perf_counter()
        xy, idx = compute_map(name, X, cfg.seed, cfg.max_points_tsne, cfg.umap_deterministic)
        timings[f"map_{name}"] = time.perf_counter() - t0
        map_arrays[f"{name}_xy"], map_arrays[f"{name}_index"] = xy, idx
        sub = f" (random {len(idx):,} of {len(X):,})" if len(idx) < len(X) else ""
        title = f"{MAP_TITLES[name]} map of {what}{sub}"
        if cfg.color_by == "cluster":
            ids, inv = np.unique(color_labels[idx], return_inverse=True)
            names = [("noise" if c < 0 else f"cluster {c}") for c in ids]
            fig = plot_style_map(xy, inv.ravel(), names, title=f"{title}, coloured by {color_method} cluster",
                                 legend_title=f"{color_method} cluster", display_names=False)
        else:
            fig = plot_style_map(xy, emb.labels[idx], emb.classes, title=title)
        save_cluster_figure(fig, run / "figures" / f"map_{name}.png", emb.synthetic)
        if cfg.thumbnails and emb.thumbs is not None:
            fig = plot_thumbnail_map(xy, emb.thumbs[idx], title=f"{title}: thumbnails")
            save_cluster_figure(fig, run / "figures" / f"thumbs_{name}.png", emb.synthetic)
        log.print(f"  {name} map: {timings[f'map_{name}']:.1f} s")
    return map_arrays


def cluster_embeddings(cfg: ClusterConfig) -> Path:
    """Cluster one embeddings file, score the clusters against the styles, draw maps; returns the run dir.

    Writes ``config.json``, ``classes.json``, ``metrics.json`` (``methods.<name>`` = scores + ``seconds``;
    ``chance`` = a random labelling; ``timings`` = seconds per step), ``metrics.jsonl`` (one line per
    method), ``assignments.npz`` (``labels``, ``index`` rows of the file used, one array per method),
    ``maps.npz`` (``<map>_xy``, ``<map>_index``), ``figures/contingency_<method>.png``,
    ``figures/map_<map>.png``, ``figures/thumbs_<map>.png`` (with ``thumbnails``) and ``projector/``.
    """
    from artstyle.embeddings import load_embeddings, write_npz
    from artstyle.runs import create_run, prepare_run_dir, write_config, write_json

    methods, maps = _check_config(cfg)
    log = stderr_console()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    full = load_embeddings(cfg.embeddings)
    index = np.arange(len(full)) if cfg.split == "all" else np.flatnonzero(full.splits == cfg.split)
    emb = select_split(full, cfg.split)
    y = emb.labels
    k = resolve_k(cfg.n_clusters, y, emb.source)
    timings["load"] = time.perf_counter() - t0

    run = prepare_run_dir(cfg.out, overwrite=cfg.overwrite) if cfg.out else create_run("cluster", cfg.name or emb.kind)
    resolved = replace(cfg, methods=methods, maps=maps, n_clusters=k, name=cfg.name or emb.kind)
    # The flat config dict, as before; readers ignore the added stage, command and argv keys.
    write_config(run, "cluster", command_line("artstyle cluster fit", resolved), config_dict(resolved))
    write_json(run / "classes.json", emb.classes)
    what = f"{emb.kind} embeddings" + (" (synthetic data)" if emb.synthetic else "")
    log.print(f"clustering {len(emb):,} x {emb.dim} {what} from {emb.source} into {k} clusters -> {run}")

    t0 = time.perf_counter()
    X = prepare_features(emb.vectors, cfg.pca_dim, cfg.seed)
    timings["features"] = time.perf_counter() - t0

    assignments: dict[str, np.ndarray] = {"labels": y, "index": index}
    results = _score_methods(run, cfg, methods, emb, X, k, what, assignments, timings, log)
    write_npz(run / "assignments.npz", assignments)
    metrics = {"embeddings": str(emb.source), "kind": emb.kind, "synthetic": emb.synthetic, "split": cfg.split,
               "n_points": len(emb), "dim": emb.dim, "features_dim": int(X.shape[1]), "n_classes_present":
               int(len(np.unique(y))), "n_clusters": k, "methods": results,
               "chance": chance_scores(y, k, cfg.seed), "timings": timings}
    write_json(run / "metrics.json", metrics)

    # Colour by KMeans clusters when asked (the first method's clusters when KMeans was not run).
    color_method = "kmeans" if "kmeans" in results else methods[0]
    if cfg.thumbnails and emb.thumbs is None:
        log.print(f"[yellow]--thumbnails: {emb.source} has no thumbnails; skipping the thumbnail maps[/yellow]")
    map_arrays = _draw_maps(run, cfg, maps, emb, X, what, (color_method, assignments[color_method]), timings, log)
    if map_arrays:
        write_npz(run / "maps.npz", map_arrays)
    if cfg.projector:
        t0 = time.perf_counter()
        sel = subsample(len(emb), cfg.projector_max_points, cfg.seed)
        sel = np.arange(len(emb)) if sel is None else sel
        write_projector(run / "projector", emb.vectors[sel], y[sel], emb.classes, emb.splits[sel], emb.paths[sel],
                        None if emb.thumbs is None else emb.thumbs[sel], tensor_name=f"artstyle-{emb.kind}")
        timings["projector"] = time.perf_counter() - t0
    write_json(run / "metrics.json", metrics)  # again, now with the map and projector timings
    return run


__all__ = ["cluster_embeddings"]
