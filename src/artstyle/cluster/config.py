"""The ``artstyle cluster fit`` settings, importable without numpy or torch (the CLI builds ``--help`` from them).

Usage: ``cluster_embeddings(ClusterConfig(embeddings="emb.npz", methods=["kmeans", "gmm"], maps=["pca"]))``.
"""

from __future__ import annotations

from dataclasses import dataclass

from artstyle.config import opt


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


__all__ = ["ClusterConfig"]
