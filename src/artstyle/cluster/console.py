"""What a cluster run prints: rich tables of scores, one row per method or per representation x method.

Usage: ``Console().print(scores_table({**metrics["methods"], "chance": metrics["chance"]}, "ae embeddings"))``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from artstyle.metrics import SCORE_LABELS

MD_SCORES: tuple[str, ...] = ("ari", "nmi", "purity")
"""The scores shown per method in comparison.md (comparison.json has them all)."""


def stderr_console() -> Any:
    """A rich Console on stderr for progress lines (stdout stays for the result tables)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def fmt_score(value: Any) -> str:
    """A score with 3 decimals; ``-`` for a missing or NaN one (e.g. no silhouette)."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


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
        table.add_row(name, *[fmt_score(sc.get(s)) for s in score_names], str(sc.get("n_clusters", "")))
    return table


def print_comparison(rows: list[dict[str, Any]], chance_rows: list[dict[str, Any]], methods: Sequence[str],
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
            table.add_row(r["label"] if i == 0 else "", m, *[fmt_score(sc.get(s)) for s in shown],
                          str(sc["n_clusters"]), end_section=i == len(methods) - 1)
    for c in chance_rows:
        table.add_row(c["label"], "random", *[fmt_score(c["scores"].get(s)) for s in shown],
                      str(c["scores"]["n_clusters"]), style="dim")
    Console().print(table)


__all__ = ["MD_SCORES", "fmt_score", "print_comparison", "scores_table", "stderr_console"]
