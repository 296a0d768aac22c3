"""``artstyle cluster``: do styles cluster in an embedding? Cluster, score against the styles, draw maps.

Usage::

    artstyle cluster runs/embed/.../embeddings.npz --methods kmeans,gmm --maps pca,umap
    artstyle cluster fit EMB.npz            # the same: 'fit' is the default subcommand
    artstyle cluster compare ae.npz classifier.npz pixels.npz

Heavy libraries (scikit-learn, umap, matplotlib) are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click
import typer
from typer.core import TyperGroup

from artstyle.cluster.config import ClusterConfig
from artstyle.config import typer_command


class DefaultToFit(TyperGroup):
    """A command group whose first word, when it is not a subcommand, starts the default ``fit`` command.

    Click groups cannot take a positional argument and have subcommands, so ``artstyle cluster EMB.npz``
    is rewritten to ``artstyle cluster fit EMB.npz`` before parsing.
    """

    default_command = "fit"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultToFit,
    help="Do art styles cluster in a learned representation? Cluster an embeddings file (from `artstyle embed "
         "export`) with KMeans, Ward agglomerative, a Gaussian mixture and HDBSCAN, score the clusters against "
         "the true styles (ARI, NMI, homogeneity, completeness, V-measure, purity, silhouette), and draw "
         "clusters x styles heatmaps, PCA/t-SNE/UMAP maps and a TensorBoard projector export. "
         "`artstyle cluster EMBEDDINGS` is short for `artstyle cluster fit EMBEDDINGS`.",
    no_args_is_help=True)

FIT_HELP = ("Cluster one embeddings file and score the clusters against the true styles. Writes "
            "runs/cluster/<timestamp>-<kind>/ with metrics.json, contingency and map figures, assignments.npz and "
            "projector/ (open with `tensorboard --logdir <run>/projector`).")


def _fit(cfg: ClusterConfig) -> None:
    from rich.console import Console

    from artstyle.cluster import cluster_embeddings, scores_table
    from artstyle.runs import read_json

    run = cluster_embeddings(cfg)
    metrics = read_json(run / "metrics.json")
    syn = " (SYNTHETIC data)" if metrics["synthetic"] else ""
    rows = {**metrics["methods"], "chance": metrics["chance"]}
    Console().print(scores_table(rows, f"{metrics['kind']} embeddings: clusters vs. {metrics['n_classes_present']} "
                                       f"styles, {metrics['n_points']:,} items{syn}"))
    typer.echo(f"run: {run}")


typer_command(app, "fit", ClusterConfig, _fit, help=FIT_HELP)


@app.command("compare")
def compare(embeddings: list[Path] = typer.Argument(..., help="Two or more embeddings .npz files, e.g. from "
                                                               "different models (ae, classifier, pixels)."),
            methods: str = typer.Option("kmeans,agglomerative,gmm,hdbscan",
                                        help="Clustering methods, comma-separated: kmeans, agglomerative, gmm, hdbscan."),
            n_clusters: Optional[int] = typer.Option(None, help="Clusters for kmeans/agglomerative/gmm (default: the "
                                                               "number of styles present in each file)."),
            pca_dim: int = typer.Option(50, help="Standardise, then PCA to this many dimensions (0 = no PCA)."),
            split: str = typer.Option("all", help="Use only this split (train, val, test), or 'all'."),
            max_points_fit: int = typer.Option(10000, help="Agglomerative and HDBSCAN are fitted on a seeded random "
                                                            "subsample of at most this many points."),
            seed: int = typer.Option(0, help="Random seed for subsamples and clustering."),
            out: Optional[Path] = typer.Option(None, help="Run directory (default: runs/cluster/<timestamp>-compare/)."),
            overwrite: bool = typer.Option(False, help="Allow --out to name an existing, non-empty directory."),
            name: str = typer.Option("compare", help="Run name suffix.")) -> None:
    """Score every clustering method on every embeddings file and tabulate the representations side by side.

    Writes comparison.md (rows = representation kind plus a random-labelling chance row, columns = method x
    ARI/NMI/purity), comparison.json (every score) and figures/comparison.png (grouped bars).
    """
    from artstyle.cluster import compare_embeddings

    run = compare_embeddings(embeddings, methods=[m for m in methods.split(",") if m.strip()], n_clusters=n_clusters,
                             pca_dim=pca_dim, split=split, seed=seed, max_points_fit=max_points_fit, out=out,
                             name=name, overwrite=overwrite)
    typer.echo(f"run: {run}")
