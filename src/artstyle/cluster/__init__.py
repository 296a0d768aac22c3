"""Do art styles cluster in a learned representation? Cluster embeddings and score against the styles.

Usage::

    from artstyle.cluster import ClusterConfig, cluster_embeddings, compare_embeddings

    run = cluster_embeddings(ClusterConfig(embeddings="emb.npz"))          # runs/cluster/<ts>-<kind>/
    cmp = compare_embeddings([Path("ae.npz"), Path("pixels.npz")])       # runs/cluster/<ts>-compare/

CLI: ``artstyle cluster EMBEDDINGS`` (short for ``artstyle cluster fit``) and ``artstyle cluster compare A.npz B.npz``.

Submodules by role: ``config`` (ClusterConfig), ``methods`` (features, the clustering algorithms),
``maps`` (PCA/t-SNE/UMAP), ``fit`` (cluster_embeddings), ``compare`` (compare_embeddings), ``projector``
(the TensorBoard export), ``inputs`` (checks), ``console`` (printed tables). The scores are in
``artstyle.metrics``, the pictures in ``artstyle.figures.clusters``. Nothing here imports torch.
"""

from artstyle.cluster.compare import compare_embeddings, embedding_comparison_markdown
from artstyle.cluster.config import ClusterConfig
from artstyle.cluster.console import scores_table
from artstyle.cluster.fit import cluster_embeddings
from artstyle.cluster.maps import MAPS, compute_map
from artstyle.cluster.methods import METHODS, fit_predict, prepare_features
from artstyle.cluster.projector import write_projector

__all__ = ["ClusterConfig", "cluster_embeddings", "compare_embeddings", "prepare_features", "fit_predict",
           "compute_map", "write_projector", "embedding_comparison_markdown", "scores_table", "METHODS", "MAPS"]
