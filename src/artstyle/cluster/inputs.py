"""What a cluster run reads, checked: method and map names, the split, the number of clusters.

Usage::

    methods = check_names(cfg.methods, METHODS, "--methods", allow_empty=False)
    emb = select_split(load_embeddings(path), "test")
    k = resolve_k(None, emb.labels, emb.source)            # the number of styles present
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from artstyle.errors import ArtstyleError


def check_names(values: Sequence[str], known: dict[str, Any], flag: str, allow_empty: bool) -> list[str]:
    """``values`` lower-cased, stripped and de-duplicated (order kept); an unknown name is a user error."""
    values = [str(v).strip().lower() for v in values if str(v).strip()]
    bad = [v for v in values if v not in known]
    if bad:
        raise ArtstyleError(f"{flag}: unknown {', '.join(map(repr, bad))}; choose from {', '.join(known)}")
    if not values and not allow_empty:
        raise ArtstyleError(f"{flag} is empty; choose one or more of {', '.join(known)}")
    return list(dict.fromkeys(values))  # drop duplicates, keep order


def select_split(emb: Any, split: str) -> Any:
    """The items of ``split`` of an :class:`artstyle.embeddings.Embeddings` (all of them for ``'all'``)."""
    if split == "all":
        return emb
    mask = emb.splits == split
    if not mask.any():
        have = ", ".join(sorted(set(emb.splits.tolist())))
        raise ArtstyleError(f"--split {split!r}: {emb.source} has no items in that split (it has: {have}; or use 'all')")
    return emb.subset(mask)


def resolve_k(n_clusters: int | None, labels: np.ndarray, source: Any) -> int:
    """``n_clusters`` checked, or the number of styles present in ``labels`` (N,) when it is None."""
    present = len(np.unique(labels))
    if n_clusters is None:
        if present < 2:
            raise ArtstyleError(f"{source}: only one style is present; clustering scores need at least two "
                                "(choose another --split or pass --n-clusters)")
        return present
    if n_clusters < 2:
        raise ArtstyleError(f"--n-clusters must be at least 2, got {n_clusters}")
    return n_clusters


__all__ = ["check_names", "resolve_k", "select_split"]
