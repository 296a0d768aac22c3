"""``artstyle cluster compare``: which representation clusters by style best? Every method on every file.

Usage: ``run = compare_embeddings([Path("ae.npz"), Path("pixels.npz")])``  # runs/cluster/<ts>-compare/
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any, Sequence

from artstyle.cluster.console import MD_SCORES, fmt_score, print_comparison, stderr_console
from artstyle.cluster.inputs import check_names, resolve_k, select_split
from artstyle.cluster.methods import METHODS, fit_predict, prepare_features
from artstyle.errors import ArtstyleError
from artstyle.metrics import SCORE_LABELS, chance_scores, cluster_scores
from artstyle.tables import markdown_table


def _row_labels(embs: list[Any]) -> list[str]:
    """Row names: the representation kind, plus the file stem where two files share a kind."""
    kinds = [e.kind for e in embs]
    return [k if kinds.count(k) == 1 else f"{k} ({Path(e.source).stem})" for k, e in zip(kinds, embs)]


def compare_command(files: Sequence[str], methods: Sequence[str], n_clusters: int | None, pca_dim: int, split: str,
                    seed: int, max_points_fit: int) -> str:
    """The ``artstyle cluster compare`` line that reproduces a comparison (options at their default left out)."""
    words = ["artstyle", "cluster", "compare", *files, "--methods", ",".join(methods), "--split", split,
             "--pca-dim", str(pca_dim), "--seed", str(seed)]
    if n_clusters is not None:
        words += ["--n-clusters", str(n_clusters)]
    if max_points_fit != 10_000:
        words += ["--max-points-fit", str(max_points_fit)]
    return shlex.join(words)


def _chance_rows(embs: list[Any], labels: list[str], ks: list[int], seed: int) -> list[dict[str, Any]]:
    """One random-labelling row per distinct label set: ``{"label", "rows" (whose floor), "scores"}``."""
    chance: dict[str, dict[str, Any]] = {}
    for label, emb, k in zip(labels, embs, ks):
        # The chance floor depends on the label distribution, so files with identical labels share one row.
        key = f"{k}:{hash(emb.labels.tobytes())}"
        if key not in chance:
            chance[key] = {"label": "chance (random labelling)", "rows": [],
                           "scores": chance_scores(emb.labels, k, seed)}
        chance[key]["rows"].append(label)
    rows = list(chance.values())
    if len(rows) > 1:  # different label sets (e.g. other splits): name whose floor each row is
        for c in rows:
            c["label"] = f"chance ({', '.join(c['rows'])})"
    return rows


def compare_embeddings(paths: Sequence[Path | str], methods: Sequence[str] | None = None,
                       n_clusters: int | None = None, pca_dim: int = 50, split: str = "all", seed: int = 0,
                       max_points_fit: int = 10_000, hdbscan_min_cluster_size: int = 0,
                       out: str | Path | None = None, name: str = "compare", overwrite: bool = False,
                       print_table: bool = True) -> Path:
    """Score every clustering method on every embeddings file; returns the ``runs/cluster/<ts>-compare/`` dir.

    Writes ``config.json`` (stage ``cluster-compare`` and the command that reproduces it),
    ``comparison.json`` (all scores per file and method, plus chance rows), ``comparison.md`` (a
    markdown table: rows = representations + a random-labelling chance row, columns = method x
    ARI/NMI/purity) and ``figures/comparison.png`` (grouped bars). No maps are drawn.
    """
    from artstyle.embeddings import load_embeddings
    from artstyle.figures.clusters import plot_embedding_comparison, save_cluster_figure
    from artstyle.runs import create_run, prepare_run_dir, write_config, write_json, write_text

    if not paths:
        raise ArtstyleError("compare needs at least one embeddings file (two or more to compare)")
    methods = check_names(list(methods) if methods else list(METHODS), METHODS, "--methods", allow_empty=False)
    log = stderr_console()
    embs = [select_split(load_embeddings(p), split) for p in paths]  # load all first: fail fast on a bad file
    run = prepare_run_dir(out, overwrite=overwrite) if out else create_run("cluster", name)
    files = [str(e.source) for e in embs]
    settings = {"files": files, "methods": methods, "n_clusters": n_clusters, "pca_dim": pca_dim, "split": split,
                "seed": seed, "max_points_fit": max_points_fit, "hdbscan_min_cluster_size": hdbscan_min_cluster_size}
    write_config(run, "cluster-compare", compare_command(files, methods, n_clusters, pca_dim, split, seed,
                                                         max_points_fit), settings)
    synthetic = any(e.synthetic for e in embs)
    rows: list[dict[str, Any]] = []
    labels = _row_labels(embs)
    ks = [resolve_k(n_clusters, emb.labels, emb.source) for emb in embs]
    for label, emb, k in zip(labels, embs, ks):
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
    chance_rows = _chance_rows(embs, labels, ks, seed)
    write_json(run / "comparison.json", {"methods": methods, "split": split, "pca_dim": pca_dim, "seed": seed,
                                         "synthetic": synthetic, "rows": rows, "chance": chance_rows})
    write_text(run / "comparison.md", embedding_comparison_markdown(rows, chance_rows, methods, synthetic))
    fig = plot_embedding_comparison({r["label"]: r["methods"] for r in rows}, methods,
                                    chance={c["label"]: c["scores"] for c in chance_rows},
                                    title="Do styles cluster? Clusters vs. true styles"
                                          + (" (synthetic data)" if synthetic else ""))
    save_cluster_figure(fig, run / "figures" / "comparison.png", synthetic)
    if print_table:
        print_comparison(rows, chance_rows, methods, synthetic)
    return run


def embedding_comparison_markdown(rows: list[dict[str, Any]], chance_rows: list[dict[str, Any]],
                                  methods: Sequence[str], synthetic: bool) -> str:
    """The comparison as a markdown table: representation rows, method x (ARI, NMI, purity) columns."""
    head = ["representation"] + [f"{m} {SCORE_LABELS[s]}" for m in methods for s in MD_SCORES]
    body = [[r["label"], *[fmt_score(r["methods"][m].get(s)) for m in methods for s in MD_SCORES]] for r in rows]
    body += [[c["label"], *[fmt_score(c["scores"].get(s)) for _ in methods for s in MD_SCORES]] for c in chance_rows]
    lines = ["# Clustering vs. true styles" + (" (SYNTHETIC data)" if synthetic else ""), ""]
    if synthetic:
        lines += ["Made from artstyle's built-in synthetic dataset, not WikiArt.", ""]
    note = ("ARI: adjusted Rand index (0 = chance, 1 = the styles exactly). NMI: normalised mutual information. "
            "Purity: share of items in their cluster's majority style (its chance level is the largest style's "
            "share, hence the chance row). HDBSCAN noise counts as one cluster.")
    return "\n".join(lines) + "\n" + markdown_table(head, body) + "\n" + note + "\n"


__all__ = ["compare_command", "compare_embeddings", "embedding_comparison_markdown"]
