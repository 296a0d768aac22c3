"""2-D maps of clustered features by name: PCA, t-SNE and UMAP.

Usage: ``xy, index = compute_map("tsne", X, seed=0)``: ``xy`` (M, 2) for the rows ``X[index]``.

* t-SNE runs on a uniform random subsample of ``max_points_tsne`` points (proportional to the style
  counts in expectation); PCA and UMAP maps use every point.
* UMAP runs multi-threaded and unseeded unless ``deterministic`` (seeding it forces one thread: 81k
  points take minutes instead of about one). Cluster scores never depend on the maps.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from artstyle.cluster.methods import subsample
from artstyle.errors import ArtstyleError

# Each map: (X (N, d), seed, max_points_tsne, deterministic) -> (xy (M, 2), index (M,) rows of X mapped).


def _map_pca(X: np.ndarray, seed: int, max_points_tsne: int, deterministic: bool) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(X), np.arange(len(X))


def _map_tsne(X: np.ndarray, seed: int, max_points_tsne: int, deterministic: bool) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.manifold import TSNE

    idx = subsample(len(X), max_points_tsne, seed)
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


__all__ = ["MAPS", "MAP_TITLES", "compute_map"]
