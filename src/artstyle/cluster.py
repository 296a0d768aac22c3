"""Do art styles cluster in a learned representation? Cluster embeddings and score against the styles.

Usage::

    run = cluster_embeddings(ClusterConfig(embeddings="emb.npz"))          # runs/cluster/<ts>-<kind>/
    cmp = compare_embeddings([Path("ae.npz"), Path("pixels.npz")])       # runs/cluster/<ts>-compare/
    cluster_scores(labels_true, labels_pred, X)                           # {"ari": ..., "purity": ...}

CLI: ``artstyle cluster EMBEDDINGS`` and ``artstyle cluster compare A.npz B.npz``.

Pipeline: standardise every dimension, PCA to ``pca_dim`` (50), run each clustering method with as many
clusters as styles, score the clusters against the true styles (ARI, NMI, homogeneity, completeness,
V-measure, purity, silhouette), draw clusters x styles contingency heatmaps and 2-D maps (PCA, t-SNE,
UMAP), and export a TensorBoard projector folder.

Scaling choices (all seeded, so a run is reproducible):

* Agglomerative (Ward) needs O(N^2) memory (about 1 GB at 10k points, 3.3 GB at 20k), so above
  ``max_points_fit`` points it is fitted on a uniform random subsample and every other point is assigned
  to the nearest cluster centroid of that fit.
* HDBSCAN is O(N^2) time in 50 dimensions (tree indexes do not help there), so it is fitted the same way
  and every other point takes the label of its nearest fitted point (noise included). HDBSCAN chooses
  its own number of clusters; its noise points are scored as one more cluster, ``-1``.
* t-SNE runs on a uniform random subsample of ``max_points_tsne`` points (proportional to the style
  counts in expectation); PCA and UMAP maps use every point.
* UMAP runs multi-threaded and unseeded unless ``umap_deterministic`` (seeding it forces one thread:
  81k points take minutes instead of about one). Cluster scores never depend on the maps.
* Silhouette is computed on a random subsample of at most 10,000 points (exact silhouette is O(N^2)).
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from artstyle.config import config_dict, opt
from artstyle.errors import ArtstyleError
from artstyle.metrics import (SCORE_LABELS, SCORE_NAMES, SILHOUETTE_MAX_POINTS, chance_scores, cluster_scores,  # noqa: F401
                              contingency, purity_from_table, purity_score)


@dataclass
class ClusterConfig:
    """Settings of ``artstyle cluster`` (one CLI option per field)."""

    embeddings: str = opt("", "Embeddings .npz file written by `artstyle embed export`.", positional=True)
    methods: list[str] = opt(["kmeans", "agglomerative", "gmm", "hdbscan"],
                             "Clustering methods, comma-separated: kmeans, agglomerative (Ward), gmm (diagonal "
                             "Gaussian mixture), hdbscan (finds its own cluster count; noise = cluster -1).")
    n_clusters: int | None = opt(None, "Clusters for kmeans/agglomerative/gmm (default: the number of styles "
                                       "present). HDBSCAN ignores it.")
    pca_dim: int = opt(50, "Every dimension is standardised, then PCA reduces to this many dimensions before "
                           "clustering and maps (0 = no PCA).")
    maps: list[str] = opt(["pca", "tsne", "umap"], "2-D maps to draw, comma-separated: pca, tsne, umap ('' = none).")
    color_by: str = opt("style", "Colour map points by their true style, or by their KMeans cluster.",
                        choices=("style", "cluster"))
    thumbnails: bool = opt(False, "Also draw every map as a mosaic of the items' thumbnails (needs 'thumbs' "
                                  "in the embeddings file).")
    split: str = opt("all", "Use only the items of this split (train, val, test), or 'all'.")
    max_points_tsne: int = opt(5000, "t-SNE runs on a seeded uniform random subsample of at most this many points.")
    umap_deterministic: bool = opt(False, "Seed UMAP exactly: the same map every run, but single-threaded and "
                                          "several times slower. Scores never depend on the maps.")
    max_points_fit: int = opt(10000, "Agglomerative and HDBSCAN (O(N^2)) are fitted on a seeded random subsample of "
                                     "at most this many points; the rest join the nearest centroid (agglomerative) "
                                     "or the cluster of the nearest fitted point (HDBSCAN).")
    hdbscan_min_cluster_size: int = opt(0, "HDBSCAN min_cluster_size (0 = auto: max(5, fitted points / 200)).")
    projector: bool = opt(True, "Write a TensorBoard projector folder (vectors.tsv, metadata.tsv, sprite.png, "
                                "projector_config.pbtxt) to projector/.")
    projector_max_points: int = opt(10000, "The projector export keeps a seeded random subsample of at most this "
                                           "many points (the browser and the 8192 px sprite limit).")
    seed: int = opt(0, "Random seed for subsamples, clustering and maps.")
    out: str | None = opt(None, "Run directory to write (default: runs/cluster/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to name an existing, non-empty directory.")
    name: str = opt("", "Run name suffix (default: the embeddings kind, e.g. 'ae').")


# --------------------------------------------------------------------------------------------- scores



# --------------------------------------------------------------------------------------------- features

def prepare_features(vectors: np.ndarray, pca_dim: int = 50, seed: int = 0) -> np.ndarray:
    """Standardise every dimension, then PCA to ``pca_dim`` when ``0 < pca_dim < D``.

    ``vectors`` (N, D) -> (N, d) float32. Standardising first keeps a few large-scale dimensions (e.g.
    raw pixel or histogram features) from dominating Euclidean clustering.
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(np.asarray(vectors, dtype=np.float32))
    n_comp = min(pca_dim, X.shape[0], X.shape[1])
    if pca_dim > 0 and n_comp < X.shape[1]:
        X = PCA(n_components=n_comp, random_state=seed).fit_transform(X)
    return np.ascontiguousarray(X, dtype=np.float32)


def _subsample(n: int, max_points: int, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded uniform random subsample of ``max_points`` out of ``n``, or None if n fits."""
    if max_points <= 0 or n <= max_points:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


# --------------------------------------------------------------------------------------------- methods
# Each method: (X (N, d), n_clusters, seed, max_points_fit, min_cluster_size) -> labels (N,) int64.

def _kmeans(X: np.ndarray, n_clusters: int, seed: int, max_points_fit: int, min_cluster_size: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    # n_init=3: k-means++ restarts beyond a few rarely change the scores but cost linearly.
    km = KMeans(n_clusters=min(n_clusters, len(X)), n_init=3, random_state=seed)
    return km.fit_predict(X).astype(np.int64)


def _agglomerative(X: np.ndarray, n_clusters: int, seed: int, max_points_fit: int, min_cluster_size: int
                   ) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import pairwise_distances_argmin

    idx = _subsample(len(X), max_points_fit, seed)
    fit_X = X if idx is None else X[idx]
    k = min(n_clusters, len(fit_X))
    fit_labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(fit_X)
    if idx is None:
        return fit_labels.astype(np.int64)
    # Ward merges minimise within-cluster variance, so the nearest centroid is the natural extension.
    centroids = np.stack([fit_X[fit_labels == c].mean(axis=0) for c in range(k)])
    labels = pairwise_distances_argmin(X, centroids).astype(np.int64)
    labels[idx] = fit_labels
    return labels


def _gmm(X: np.ndarray, n_clusters: int, seed: int, max_points_fit: int, min_cluster_size: int) -> np.ndarray:
    from sklearn.mixture import GaussianMixture

    # Diagonal covariances: full ones cost O(k d^2) parameters and are slow and unstable at d = 50.
    gmm = GaussianMixture(n_components=min(n_clusters, len(X)), covariance_type="diag", random_state=seed,
                          reg_covar=1e-4, max_iter=100)
    return gmm.fit(X).predict(X).astype(np.int64)


def _hdbscan(X: np.ndarray, n_clusters: int, seed: int, max_points_fit: int, min_cluster_size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN
    from sklearn.metrics import pairwise_distances_argmin

    idx = _subsample(len(X), max_points_fit, seed)
    fit_X = X if idx is None else X[idx]
    mcs = min_cluster_size if min_cluster_size > 0 else max(5, len(fit_X) // 200)
    mcs = max(2, min(mcs, len(fit_X)))
    fit_labels = HDBSCAN(min_cluster_size=mcs, copy=True).fit_predict(fit_X).astype(np.int64)
    if idx is None:
        return fit_labels
    # Nearest fitted point (noise included): keeps HDBSCAN's shapes, unlike a centroid rule.
    labels = fit_labels[pairwise_distances_argmin(X, fit_X)]
    labels[idx] = fit_labels
    return labels


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "kmeans": _kmeans,
    "agglomerative": _agglomerative,
    "gmm": _gmm,
    "hdbscan": _hdbscan,
}
"""Clustering method name -> ``fn(X, n_clusters, seed, max_points_fit, min_cluster_size) -> labels``."""


def fit_predict(method: str, X: np.ndarray, n_clusters: int, seed: int = 0, max_points_fit: int = 10_000,
                min_cluster_size: int = 0) -> np.ndarray:
    """Cluster ``X`` (N, d) with one of :data:`METHODS`; returns (N,) int64 cluster ids (-1 = HDBSCAN noise)."""
    if method not in METHODS:
        raise ArtstyleError(f"--methods: unknown method {method!r}; choose from {', '.join(METHODS)}")
    return METHODS[method](X, n_clusters, seed, max_points_fit, min_cluster_size)


# --------------------------------------------------------------------------------------------- maps
# Each map: (X (N, d), seed, max_points_tsne, deterministic) -> (xy (M, 2), index (M,) rows of X mapped).

def _map_pca(X: np.ndarray, seed: int, max_points_tsne: int, deterministic: bool) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(X), np.arange(len(X))


def _map_tsne(X: np.ndarray, seed: int, max_points_tsne: int, deterministic: bool) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.manifold import TSNE

    idx = _subsample(len(X), max_points_tsne, seed)
    idx = np.arange(len(X)) if idx is None else idx
    perplexity = min(30.0, max(2.0, (len(idx) - 1) / 3))  # t-SNE requires perplexity < N
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
              random_state=seed).fit_transform(X[idx])
    return xy, idx


def _map_umap(X: np.ndarray, seed: int, max_points_tsne: int, deterministic: bool) -> tuple[np.ndarray, np.ndarray]:
    import warnings

    import umap

    # A fixed random_state forces UMAP onto one thread and a slower path (81k points: minutes instead of
    # about one); the map only illustrates, no score depends on it, so speed is the default.
    seeded = {"random_state": seed, "n_jobs": 1} if deterministic else {"n_jobs": -1}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(X) - 1), min_dist=0.1, **seeded)
        xy = reducer.fit_transform(X)
    return xy, np.arange(len(X))


MAPS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {"pca": _map_pca, "tsne": _map_tsne, "umap": _map_umap}
"""2-D map name -> ``fn(X, seed, max_points_tsne, deterministic) -> (xy (M, 2), index (M,))``."""

MAP_TITLES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def compute_map(name: str, X: np.ndarray, seed: int = 0, max_points_tsne: int = 5000, deterministic: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """2-D map of ``X`` (N, d): returns ``xy`` (M, 2) float32 and the (M,) row indices of ``X`` it covers.

    PCA and t-SNE are always seeded; UMAP only with ``deterministic`` (single-threaded, several times slower).
    """
    if name not in MAPS:
        raise ArtstyleError(f"--maps: unknown map {name!r}; choose from {', '.join(MAPS)}")
    xy, idx = MAPS[name](X, seed, max_points_tsne, deterministic)
    return np.asarray(xy, dtype=np.float32), np.asarray(idx, dtype=np.int64)


# --------------------------------------------------------------------------------------------- helpers

def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _check_names(values: Sequence[str], known: dict[str, Any], flag: str, allow_empty: bool) -> list[str]:
    values = [str(v).strip().lower() for v in values if str(v).strip()]
    bad = [v for v in values if v not in known]
    if bad:
        raise ArtstyleError(f"{flag}: unknown {', '.join(map(repr, bad))}; choose from {', '.join(known)}")
    if not values and not allow_empty:
        raise ArtstyleError(f"{flag} is empty; choose one or more of {', '.join(known)}")
    return list(dict.fromkeys(values))  # drop duplicates, keep order


def _select_split(emb: Any, split: str) -> Any:
    if split == "all":
        return emb
    mask = emb.splits == split
    if not mask.any():
        have = ", ".join(sorted(set(emb.splits.tolist())))
        raise ArtstyleError(f"--split {split!r}: {emb.source} has no items in that split (it has: {have}; or use 'all')")
    return emb.subset(mask)


def _resolve_k(n_clusters: int | None, labels: np.ndarray, source: Any) -> int:
    present = len(np.unique(labels))
    if n_clusters is None:
        if present < 2:
            raise ArtstyleError(f"{source}: only one style is present; clustering scores need at least two "
                                "(choose another --split or pass --n-clusters)")
        return present
    if n_clusters < 2:
        raise ArtstyleError(f"--n-clusters must be at least 2, got {n_clusters}")
    return n_clusters


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from artstyle.runs import write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(path, buf.getvalue())


def _save_fig(fig: Any, path: Path, synthetic: bool) -> None:
    import warnings

    from artstyle.figures import save_figure, stamp_synthetic

    if synthetic:
        # Pull rotated tick labels and outside legends into the figure, leaving the bottom strip to the
        # stamp; otherwise the tight bounding box would grow around them and the stamp would overprint them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.tight_layout(rect=(0, 0.035, 1, 1))
    stamp_synthetic(fig, synthetic)
    save_figure(fig, path)


def _tsv_cell(value: str) -> str:
    # Tabs or newlines inside a path would shift the projector's columns.
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def write_projector(folder: Path, vectors: np.ndarray, labels: np.ndarray, classes: Sequence[str],
                    splits: np.ndarray, paths: np.ndarray, thumbs: np.ndarray | None = None,
                    tensor_name: str = "embeddings") -> Path:
    """Write a TensorBoard projector folder without TensorFlow.

    ``vectors`` (M, D), ``labels``/``splits``/``paths`` (M,), ``thumbs`` (M, t, t, 3) uint8 or None.
    Files: ``vectors.tsv`` (M lines), ``metadata.tsv`` (header ``style\\tsplit\\tpath`` + M lines),
    ``sprite.png`` (when thumbs are given) and ``projector_config.pbtxt``. View with
    ``tensorboard --logdir <folder>`` (Projector tab), or load the two TSVs at projector.tensorflow.org.
    """
    from artstyle.figures import image_grid, save_png
    from artstyle.runs import write_bytes, write_text
    from artstyle.styles import display_name

    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savetxt(buf, np.asarray(vectors, dtype=np.float32), fmt="%.6g", delimiter="\t")
    write_bytes(folder / "vectors.tsv", buf.getvalue())
    names = [display_name(c) for c in classes]
    rows = ["style\tsplit\tpath"] + [f"{_tsv_cell(names[int(y)])}\t{_tsv_cell(s)}\t{_tsv_cell(p)}"
                                     for y, s, p in zip(labels, splits, paths)]
    write_text(folder / "metadata.tsv", "\n".join(rows) + "\n")
    config = ["embeddings {", f'  tensor_name: "{tensor_name}"', '  tensor_path: "vectors.tsv"',
              '  metadata_path: "metadata.tsv"']
    if thumbs is not None and len(thumbs):
        # The projector reads the sprite as a row-major grid of single_image_dim tiles, no padding.
        per_row = int(math.ceil(math.sqrt(len(thumbs))))
        save_png(image_grid(thumbs, nrow=per_row, pad=0), folder / "sprite.png")
        config += ["  sprite {", '    image_path: "sprite.png"', f"    single_image_dim: {thumbs.shape[2]}",
                   f"    single_image_dim: {thumbs.shape[1]}", "  }"]
    config.append("}")
    write_text(folder / "projector_config.pbtxt", "\n".join(config) + "\n")
    return folder


def scores_table(rows: dict[str, dict[str, Any]], title: str,
                 score_names: Sequence[str] = ("ari", "nmi", "v_measure", "purity", "silhouette")) -> Any:
    """A rich Table: one row per entry of ``rows`` (name -> scores dict), one column per score."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("", no_wrap=True)
    for s in score_names:
        table.add_column(SCORE_LABELS.get(s, s), justify="right")
    table.add_column("clusters", justify="right")
    for name, sc in rows.items():
        table.add_row(name, *[_fmt(sc.get(s)) for s in score_names], str(sc.get("n_clusters", "")))
    return table


def _fmt(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


# --------------------------------------------------------------------------------------------- stages

def cluster_embeddings(cfg: ClusterConfig) -> Path:
    """Cluster one embeddings file, score the clusters against the styles, draw maps; returns the run dir.

    Writes ``config.json``, ``classes.json``, ``metrics.json`` (``methods.<name>`` = scores + ``seconds``;
    ``chance`` = a random labelling; ``timings`` = seconds per step), ``metrics.jsonl`` (one line per
    method), ``assignments.npz`` (``labels``, ``index`` rows of the file used, one array per method),
    ``maps.npz`` (``<map>_xy``, ``<map>_index``), ``figures/contingency_<method>.png``,
    ``figures/map_<map>.png``, ``figures/thumbs_<map>.png`` (with ``thumbnails``) and ``projector/``.
    """
    from tqdm.auto import tqdm

    from artstyle.embeddings import load_embeddings
    from artstyle.figures.clusters import plot_contingency, plot_style_map, plot_thumbnail_map
    from artstyle.runs import append_jsonl, create_run, prepare_run_dir, write_json

    methods = _check_names(cfg.methods, METHODS, "--methods", allow_empty=False)
    maps = _check_names(cfg.maps, MAPS, "--maps", allow_empty=True)
    if cfg.color_by not in ("style", "cluster"):
        raise ArtstyleError(f"--color-by {cfg.color_by!r} is not one of: style, cluster")
    if cfg.pca_dim < 0:
        raise ArtstyleError(f"--pca-dim must be 0 (no PCA) or positive, got {cfg.pca_dim}")
    if not cfg.embeddings:
        raise ArtstyleError("no embeddings file given; pass the .npz written by `artstyle embed export`")
    log = _console()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    full = load_embeddings(cfg.embeddings)
    index = np.arange(len(full)) if cfg.split == "all" else np.flatnonzero(full.splits == cfg.split)
    emb = _select_split(full, cfg.split)
    y = emb.labels
    k = _resolve_k(cfg.n_clusters, y, emb.source)
    timings["load"] = time.perf_counter() - t0

    run = prepare_run_dir(cfg.out, overwrite=cfg.overwrite) if cfg.out else create_run("cluster", cfg.name or emb.kind)
    resolved = replace(cfg, methods=methods, maps=maps, n_clusters=k, name=cfg.name or emb.kind)
    write_json(run / "config.json", config_dict(resolved))
    write_json(run / "classes.json", emb.classes)
    syn = " (synthetic data)" if emb.synthetic else ""
    what = f"{emb.kind} embeddings{syn}"
    log.print(f"clustering {len(emb):,} x {emb.dim} {what} from {emb.source} into {k} clusters -> {run}")

    t0 = time.perf_counter()
    X = prepare_features(emb.vectors, cfg.pca_dim, cfg.seed)
    timings["features"] = time.perf_counter() - t0

    results: dict[str, dict[str, Any]] = {}
    assignments: dict[str, np.ndarray] = {"labels": y, "index": index}
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
        _save_fig(fig, run / "figures" / f"contingency_{method}.png", emb.synthetic)
        log.print(f"  {method}: {scores['n_clusters']} clusters, ARI {scores['ari']:.3f}, NMI {scores['nmi']:.3f}, "
                  f"purity {scores['purity']:.3f} ({seconds:.1f} s)")
    _save_npz(run / "assignments.npz", assignments)

    metrics = {"embeddings": str(emb.source), "kind": emb.kind, "synthetic": emb.synthetic, "split": cfg.split,
               "n_points": len(emb), "dim": emb.dim, "features_dim": int(X.shape[1]), "n_classes_present":
               int(len(np.unique(y))), "n_clusters": k, "methods": results,
               "chance": chance_scores(y, k, cfg.seed), "timings": timings}
    write_json(run / "metrics.json", metrics)

    # Colour by KMeans clusters when asked (the first method's clusters when KMeans was not run).
    color_method = "kmeans" if "kmeans" in results else methods[0]
    if cfg.thumbnails and emb.thumbs is None:
        log.print(f"[yellow]--thumbnails: {emb.source} has no thumbnails; skipping the thumbnail maps[/yellow]")
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
            ids, inv = np.unique(assignments[color_method][idx], return_inverse=True)
            names = [("noise" if c < 0 else f"cluster {c}") for c in ids]
            fig = plot_style_map(xy, inv.ravel(), names, title=f"{title}, coloured by {color_method} cluster",
                                 legend_title=f"{color_method} cluster", display_names=False)
        else:
            fig = plot_style_map(xy, y[idx], emb.classes, title=title)
        _save_fig(fig, run / "figures" / f"map_{name}.png", emb.synthetic)
        if cfg.thumbnails and emb.thumbs is not None:
            fig = plot_thumbnail_map(xy, emb.thumbs[idx], title=f"{title}: thumbnails")
            _save_fig(fig, run / "figures" / f"thumbs_{name}.png", emb.synthetic)
        log.print(f"  {name} map: {timings[f'map_{name}']:.1f} s")
    if map_arrays:
        _save_npz(run / "maps.npz", map_arrays)

    if cfg.projector:
        t0 = time.perf_counter()
        sel = _subsample(len(emb), cfg.projector_max_points, cfg.seed)
        sel = np.arange(len(emb)) if sel is None else sel
        write_projector(run / "projector", emb.vectors[sel], y[sel], emb.classes, emb.splits[sel], emb.paths[sel],
                        None if emb.thumbs is None else emb.thumbs[sel], tensor_name=f"artstyle-{emb.kind}")
        timings["projector"] = time.perf_counter() - t0
    write_json(run / "metrics.json", metrics)  # again, now with the map and projector timings
    return run


def _row_labels(embs: list[Any]) -> list[str]:
    """Row names: the representation kind, plus the file stem where two files share a kind."""
    kinds = [e.kind for e in embs]
    return [k if kinds.count(k) == 1 else f"{k} ({Path(e.source).stem})" for k, e in zip(kinds, embs)]


def compare_embeddings(paths: Sequence[Path | str], methods: Sequence[str] | None = None,
                       n_clusters: int | None = None, pca_dim: int = 50, split: str = "all", seed: int = 0,
                       max_points_fit: int = 10_000, hdbscan_min_cluster_size: int = 0,
                       out: str | Path | None = None, name: str = "compare", overwrite: bool = False,
                       print_table: bool = True) -> Path:
    """Score every clustering method on every embeddings file; returns the ``runs/cluster/<ts>-compare/`` dir.

    Writes ``comparison.json`` (all scores per file and method, plus chance rows), ``comparison.md`` (a
    markdown table: rows = representations + a random-labelling chance row, columns = method x
    ARI/NMI/purity) and ``figures/comparison.png`` (grouped bars). No maps are drawn.
    """
    from artstyle.embeddings import load_embeddings
    from artstyle.figures.clusters import plot_comparison
    from artstyle.runs import create_run, prepare_run_dir, write_json, write_text

    if not paths:
        raise ArtstyleError("compare needs at least one embeddings file (two or more to compare)")
    methods = _check_names(list(methods) if methods else list(METHODS), METHODS, "--methods", allow_empty=False)
    log = _console()
    embs = [_select_split(load_embeddings(p), split) for p in paths]  # load all first: fail fast on a bad file
    run = prepare_run_dir(out, overwrite=overwrite) if out else create_run("cluster", name)
    synthetic = any(e.synthetic for e in embs)
    rows: list[dict[str, Any]] = []
    chance: dict[str, dict[str, Any]] = {}
    labels = _row_labels(embs)
    for label, emb in zip(labels, embs):
        k = _resolve_k(n_clusters, emb.labels, emb.source)
        X = prepare_features(emb.vectors, pca_dim, seed)
        scores: dict[str, dict[str, Any]] = {}
        for method in methods:
            t0 = time.perf_counter()
            pred = fit_predict(method, X, k, seed, max_points_fit, hdbscan_min_cluster_size)
            seconds = time.perf_counter() - t0
            scores[method] = {**cluster_scores(emb.labels, pred, X, seed=seed), "seconds": round(seconds, 3)}
            log.print(f"  {label} / {method}: ARI {scores[method]['ari']:.3f} ({seconds:.1f} s)")
        rows.append({"label": label, "kind": emb.kind, "file": str(emb.source), "synthetic": emb.synthetic,
                     "n_points": len(emb), "dim": emb.dim, "n_clusters": k, "methods": scores})
        # The chance floor depends on the label distribution, so files with identical labels share one row.
        key = f"{k}:{hash(emb.labels.tobytes())}"
        if key not in chance:
            chance[key] = {"label": "chance (random labelling)", "rows": [],
                           "scores": chance_scores(emb.labels, k, seed)}
        chance[key]["rows"].append(label)
    chance_rows = list(chance.values())
    if len(chance_rows) > 1:  # different label sets (e.g. other splits): name whose floor each row is
        for c in chance_rows:
            c["label"] = f"chance ({', '.join(c['rows'])})"
    write_json(run / "comparison.json", {"methods": methods, "split": split, "pca_dim": pca_dim, "seed": seed,
                                         "synthetic": synthetic, "rows": rows, "chance": chance_rows})
    md = comparison_markdown(rows, chance_rows, methods, synthetic)
    write_text(run / "comparison.md", md)
    fig = plot_comparison({r["label"]: r["methods"] for r in rows}, methods,
                          chance={c["label"]: c["scores"] for c in chance_rows},
                          title="Do styles cluster? Clusters vs. true styles" + (" (synthetic data)" if synthetic else ""))
    _save_fig(fig, run / "figures" / "comparison.png", synthetic)
    if print_table:
        _print_comparison(rows, chance_rows, methods, synthetic)
    return run


MD_SCORES: tuple[str, ...] = ("ari", "nmi", "purity")
"""The scores shown per method in comparison.md (comparison.json has them all)."""


def comparison_markdown(rows: list[dict[str, Any]], chance_rows: list[dict[str, Any]], methods: Sequence[str],
                        synthetic: bool) -> str:
    """The comparison as a markdown table: representation rows, method x (ARI, NMI, purity) columns."""
    head = ["representation"] + [f"{m} {SCORE_LABELS[s]}" for m in methods for s in MD_SCORES]
    lines = ["# Clustering vs. true styles" + (" (SYNTHETIC data)" if synthetic else ""), ""]
    if synthetic:
        lines += ["Made from artstyle's built-in synthetic dataset, not WikiArt.", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]
    for r in rows:
        cells = [_fmt(r["methods"][m].get(s)) for m in methods for s in MD_SCORES]
        lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    for c in chance_rows:
        cells = [_fmt(c["scores"].get(s)) for _ in methods for s in MD_SCORES]
        lines.append(f"| {c['label']} | " + " | ".join(cells) + " |")
    lines += ["", "ARI: adjusted Rand index (0 = chance, 1 = the styles exactly). NMI: normalised mutual "
                  "information. Purity: share of items in their cluster's majority style (its chance level is "
                  "the largest style's share, hence the chance row). HDBSCAN noise counts as one cluster."]
    return "\n".join(lines) + "\n"


def _print_comparison(rows: list[dict[str, Any]], chance_rows: list[dict[str, Any]], methods: Sequence[str],
                      synthetic: bool) -> None:
    """Print the comparison in long form (one line per representation x method): it fits 80 columns."""
    from rich.console import Console
    from rich.table import Table

    shown = (*MD_SCORES, "silhouette")
    table = Table(title="Clustering vs. true styles" + (" (SYNTHETIC data)" if synthetic else ""))
    table.add_column("embedding")
    table.add_column("method", no_wrap=True, min_width=13)
    for s in shown:
        table.add_column(SCORE_LABELS[s], justify="right")
    table.add_column("clusters", justify="right")
    for r in rows:
        for i, m in enumerate(methods):
            sc = r["methods"][m]
            table.add_row(r["label"] if i == 0 else "", m, *[_fmt(sc.get(s)) for s in shown], str(sc["n_clusters"]),
                          end_section=i == len(methods) - 1)
    for c in chance_rows:
        table.add_row(c["label"], "random", *[_fmt(c["scores"].get(s)) for s in shown],
                      str(c["scores"]["n_clusters"]), style="dim")
    Console().print(table)


__all__ = ["ClusterConfig", "cluster_embeddings", "compare_embeddings", "cluster_scores", "chance_scores",
           "purity_score", "purity_from_table", "contingency", "prepare_features", "fit_predict", "compute_map",
           "write_projector", "comparison_markdown", "scores_table", "METHODS", "MAPS", "SCORE_NAMES"]
