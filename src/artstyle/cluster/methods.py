"""Clustering by name: standardise + PCA the vectors, then KMeans, Ward, a Gaussian mixture or HDBSCAN.

Usage::

    X = prepare_features(vectors, pca_dim=50, seed=0)         # (N, D) -> (N, 50) float32
    labels = fit_predict("kmeans", X, n_clusters=27, seed=0)  # (N,) int64; -1 = HDBSCAN noise

Scaling choices (all seeded, so a run is reproducible):

* Agglomerative (Ward) needs O(N^2) memory (about 1 GB at 10k points, 3.3 GB at 20k), so above
  ``max_points_fit`` points it is fitted on a uniform random subsample and every other point is assigned
  to the nearest cluster centroid of that fit.
* HDBSCAN is O(N^2) time in 50 dimensions (tree indexes do not help there), so it is fitted the same way
  and every other point takes the label of its nearest fitted point (noise included). HDBSCAN chooses
  its own number of clusters; its noise points are scored as one more cluster, ``-1``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from artstyle.errors import ArtstyleError


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


def subsample(n: int, max_points: int, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded uniform random subsample of ``max_points`` out of ``n``, or None if n fits."""
    if max_points <= 0 or n <= max_points:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


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

    idx = subsample(len(X), max_points_fit, seed)
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

    idx = subsample(len(X), max_points_fit, seed)
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


__all__ = ["METHODS", "fit_predict", "prepare_features", "subsample"]
