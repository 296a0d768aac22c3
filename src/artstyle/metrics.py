"""Numbers only: classification, image-similarity and clustering metrics. No pictures, no files.

Usage::

    m = classification_report(y_true, probs, classes, train_counts)   # JSON-able dict with baselines
    ssim(x, y), psnr(x, y)                                            # (N,) per image pair, torch tensors
    cluster_scores(labels_true, labels_pred, X)                       # {"ari": ..., "purity": ...}

The ground floor: imports numpy at module level and torch/sklearn inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch



def frequency_groups(train_counts: np.ndarray) -> tuple[list[int], list[int], list[int], dict[str, Any]]:
    """Split classes into head / medium / tail thirds by training-set frequency.

    Thirds of the classes ranked by train count (ties broken by index), so the groups exist at every
    dataset scale; the count thresholds that result are returned so reports can state them.
    """
    order = sorted(range(len(train_counts)), key=lambda c: (-train_counts[c], c))
    k = len(order)
    head, medium, tail = order[: round(k / 3)], order[round(k / 3): round(2 * k / 3)], order[round(2 * k / 3):]
    thresholds = {
        "head": f">= {int(min(train_counts[c] for c in head))} train images" if head else "",
        "medium": (f"{int(min(train_counts[c] for c in medium))}-{int(max(train_counts[c] for c in medium))} train images"
                   if medium else ""),
        "tail": f"<= {int(max(train_counts[c] for c in tail))} train images" if tail else "",
    }
    return head, medium, tail, thresholds


def classification_report(y_true: np.ndarray, probs: np.ndarray, classes: list[str],
                          train_counts: np.ndarray) -> dict[str, Any]:
    """All the numbers: accuracy, balanced accuracy, macro-F1, top-5, per class, per frequency group,
    the confusion matrix, and the majority-class and chance baselines.

    ``y_true``: ``(N,)`` class indices; ``probs``: ``(N, C)`` scores; ``train_counts``: ``(C,)``.
    """
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                                 precision_recall_fscore_support, top_k_accuracy_score)

    y_true = np.asarray(y_true)
    C = len(classes)
    labels = np.arange(C)
    y_pred = probs.argmax(1)
    present = np.unique(y_true)
    k = min(5, C)
    # With 5 or fewer classes top-5 is trivially 1; computed directly to avoid sklearn's warning.
    top5 = top_k_accuracy_score(y_true, probs, k=k, labels=labels) if C > 5 else 1.0
    prec, rec, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    majority = int(np.argmax(train_counts))
    maj_pred = np.full_like(y_true, majority)
    head, medium, tail, thresholds = frequency_groups(np.asarray(train_counts))
    groups = {}
    for name, members in (("head", head), ("medium", medium), ("tail", tail)):
        mask = np.isin(y_true, members)
        groups[name] = {"classes": [classes[c] for c in members], "threshold": thresholds[name],
                        "n": int(mask.sum()),
                        "accuracy": float((y_pred[mask] == y_true[mask]).mean()) if mask.any() else float("nan"),
                        "mean_recall": float(np.mean([rec[c] for c in members if support[c] > 0]))
                        if any(support[c] > 0 for c in members) else float("nan")}
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # sklearn's balanced accuracy averages recall over the classes present in y_true.
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        f"top{k}_accuracy": float(top5),
        "baselines": {
            "majority_class": classes[majority],
            "majority_accuracy": float((maj_pred == y_true).mean()),
            "majority_balanced_accuracy": float(balanced_accuracy_score(y_true, maj_pred)),
            "majority_macro_f1": float(f1_score(y_true, maj_pred, labels=present, average="macro", zero_division=0)),
            "chance_balanced_accuracy": 1.0 / max(1, len(present)),
            "chance_accuracy": 1.0 / C,
        },
        "per_class": {classes[c]: {"precision": float(prec[c]), "recall": float(rec[c]), "f1": float(f1[c]),
                                   "support": int(support[c]), "train_count": int(train_counts[c])} for c in labels},
        "groups": groups,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


# ------------------------------------------------------------------ image similarity (SSIM, PSNR)

PSNR_CAP = 100.0
"""PSNR of identical images is infinite; every PSNR here is capped at this many dB."""


def _gaussian_window(size: int, sigma: float, dtype: "torch.dtype", device: "torch.device") -> "torch.Tensor":
    import torch

    g = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-g ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def ssim(x: "torch.Tensor", y: "torch.Tensor", data_range: float = 1.0, window: int = 11,
         sigma: float = 1.5) -> "torch.Tensor":
    """Differentiable SSIM (Wang et al. 2004) per image: ``(N, C, H, W)`` twice -> ``(N,)``.

    Gaussian window (11, sigma 1.5; the largest odd size that fits for smaller images), valid region only,
    K1 = 0.01, K2 = 0.03 scaled by ``data_range``, per channel then averaged. Computed in float64 when an
    input is float64 (identical images then give exactly 1), else in float32, also under autocast.
    """
    import torch
    import torch.nn.functional as F

    dtype = torch.float64 if torch.float64 in (x.dtype, y.dtype) else torch.float32
    with torch.autocast(device_type=x.device.type, enabled=False):
        x, y = x.to(dtype), y.to(dtype)
        size = min(window, x.shape[-1], x.shape[-2])
        size -= (size + 1) % 2  # an odd window keeps the filter centred
        g = _gaussian_window(size, sigma, dtype, x.device)
        c = x.shape[1]
        kx, ky = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

        def filt(t: torch.Tensor) -> torch.Tensor:  # separable: two 1-D passes instead of one 2-D
            if dtype == torch.float64:  # torch's grouped float64 convolution is several times slower on the CPU
                return (t.unfold(-1, size, 1) @ g).unfold(-2, size, 1) @ g
            return F.conv2d(F.conv2d(t, kx, groups=c), ky, groups=c)

        c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
        mx, my = filt(x), filt(y)
        sxx, syy, sxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
        num = (2 * mx * my + c1) * (2 * sxy + c2)
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        return (num / den).mean((1, 2, 3))


def psnr(x: "torch.Tensor", y: "torch.Tensor", data_range: float = 1.0, cap: float = PSNR_CAP) -> "torch.Tensor":
    """PSNR in dB per image of ``(N, C, H, W)`` twice, capped at ``cap`` (identical images: ``cap``) -> ``(N,)``."""
    import torch

    dtype = torch.float64 if torch.float64 in (x.dtype, y.dtype) else torch.float32
    mse = (x.to(dtype) - y.to(dtype)).pow(2).flatten(1).mean(1) / data_range ** 2
    return (-10 * torch.log10(mse.clamp_min(10 ** (-cap / 10)))).clamp_max(cap)


def ssim_uint8(a: np.ndarray, b: np.ndarray, chunk: int = 32) -> np.ndarray:
    """:func:`ssim` of uint8 images ``(N, H, W, 3)`` twice, in float64 -> ``(N,)`` float64, ``chunk`` pairs at a time."""
    import torch

    out = np.zeros(len(a), np.float64)
    for i in range(0, len(a), chunk):  # a chunk at a time: float64 copies of a whole evaluation would take GBs
        x = torch.from_numpy(np.asarray(a[i:i + chunk])).permute(0, 3, 1, 2).double()
        y = torch.from_numpy(np.asarray(b[i:i + chunk])).permute(0, 3, 1, 2).double()
        out[i:i + chunk] = ssim(x, y, data_range=255.0).numpy()
    return out


def psnr_uint8(a: np.ndarray, b: np.ndarray, cap: float = PSNR_CAP) -> np.ndarray:
    """PSNR in dB per pair of uint8 ``(N, H, W, 3)`` images, capped at ``cap`` (identical images: ``cap``)."""
    mse = ((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).reshape(len(a), -1).mean(1)
    with np.errstate(divide="ignore"):
        value = 10 * np.log10(255.0 ** 2 / mse)
    return np.minimum(value, cap)


# ------------------------------------------------------------------ clustering against the true labels

SILHOUETTE_MAX_POINTS = 10_000
"""Silhouette is computed on a seeded random subsample of at most this many points."""

SCORE_NAMES: tuple[str, ...] = ("ari", "nmi", "homogeneity", "completeness", "v_measure", "purity", "silhouette")
"""Every score :func:`cluster_scores` returns (plus ``n_clusters`` and ``n_noise``)."""

SCORE_LABELS = {"ari": "ARI", "nmi": "NMI", "homogeneity": "homogeneity", "completeness": "completeness",
                "v_measure": "V-measure", "purity": "purity", "silhouette": "silhouette"}



def contingency(labels_true: np.ndarray, labels_pred: np.ndarray, n_classes: int | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Clusters x classes count table.

    ``labels_true`` (N,) class indices in ``[0, n_classes)``, ``labels_pred`` (N,) any integer cluster ids
    (``-1`` = noise). Returns ``(cluster_ids (K,), table (K, n_classes) int64)``, clusters in id order.
    """
    from sklearn.metrics.cluster import contingency_matrix

    labels_true = np.asarray(labels_true, dtype=np.int64)
    labels_pred = np.asarray(labels_pred)
    n_classes = int(labels_true.max()) + 1 if n_classes is None else n_classes
    cluster_ids = np.unique(labels_pred)
    # sklearn's table is (classes present, clusters); widen it to every class index, absent ones at zero.
    present = contingency_matrix(labels_true, labels_pred).T.astype(np.int64)
    table = np.zeros((len(cluster_ids), n_classes), dtype=np.int64)
    table[:, np.unique(labels_true)] = present
    return cluster_ids, table


def purity_from_table(table: np.ndarray) -> float:
    """Purity of a clusters x classes count table ``(K, C)``: sum over clusters of the largest class count / N."""
    table = np.asarray(table)
    total = table.sum()
    return float(table.max(axis=1).sum() / total) if total else float("nan")


def purity_score(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Purity: each cluster votes for its majority class; the fraction of points in their cluster's class.

    1.0 for a perfect clustering, but also for one cluster per point, so read it with ARI/NMI.
    """
    return purity_from_table(contingency(labels_true, labels_pred)[1])


def cluster_scores(labels_true: np.ndarray, labels_pred: np.ndarray, X: np.ndarray | None = None,
                   seed: int = 0, silhouette_max_points: int = SILHOUETTE_MAX_POINTS) -> dict[str, Any]:
    """Score a clustering against the true labels.

    ``labels_true`` (N,) and ``labels_pred`` (N,) integer labels (``-1`` in ``labels_pred`` is HDBSCAN
    noise and is scored as a cluster of its own); ``X`` (N, D) the features the clustering saw, for the
    silhouette (computed on a seeded subsample of at most ``silhouette_max_points``; None when ``X`` is
    not given or there are fewer than 2 clusters). Returns ``ari``, ``nmi``, ``homogeneity``,
    ``completeness``, ``v_measure``, ``purity``, ``silhouette``, ``n_clusters`` (excluding noise) and
    ``n_noise``. NMI uses arithmetic averaging, so it equals the V-measure; both are kept for readers who
    know one name only.
    """
    from sklearn import metrics

    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    if labels_true.shape != labels_pred.shape or labels_true.ndim != 1:
        raise ValueError(f"labels_true {labels_true.shape} and labels_pred {labels_pred.shape} must be equal 1-D shapes")
    h, c, v = metrics.homogeneity_completeness_v_measure(labels_true, labels_pred)
    found = np.unique(labels_pred)
    scores: dict[str, Any] = {
        "ari": float(metrics.adjusted_rand_score(labels_true, labels_pred)),
        "nmi": float(metrics.normalized_mutual_info_score(labels_true, labels_pred)),
        "homogeneity": float(h),
        "completeness": float(c),
        "v_measure": float(v),
        "purity": purity_score(labels_true, labels_pred),
        "silhouette": None,
        "n_clusters": int((found >= 0).sum()),
        "n_noise": int((labels_pred < 0).sum()),
    }
    if X is not None and 2 <= len(found) < len(labels_pred):
        n = len(labels_pred)
        sample = silhouette_max_points if n > silhouette_max_points else None
        try:
            scores["silhouette"] = float(metrics.silhouette_score(X, labels_pred, sample_size=sample,
                                                                  random_state=seed))
        except ValueError:  # the subsample drew a single cluster: no silhouette is defined
            scores["silhouette"] = None
    return scores


def chance_scores(labels_true: np.ndarray, n_clusters: int, seed: int = 0) -> dict[str, Any]:
    """Scores of a uniform random labelling into ``n_clusters`` clusters: the floor to compare against.

    ARI is ~0 by construction, but NMI and purity are not (purity is at least the largest style's share).
    """
    # A separate stream, so a seed that also generated the labels cannot reproduce them by accident.
    rng = np.random.default_rng((seed, 0xC0FFEE))
    random_pred = rng.integers(0, max(1, n_clusters), size=len(labels_true))
    return cluster_scores(labels_true, random_pred)


# ------------------------------------------------------------------ "do styles cluster?", from the scores


def _cluster_entries(comparison: dict[str, Any] | None, cluster: dict[str, Any] | None
                     ) -> tuple[list[dict], list[dict]]:
    """A cluster comparison's or a single cluster run's scores as ``([{label, kind, methods}], [{label, rows,
    scores}])``: the representations, and the random-labelling chance rows."""
    if comparison and comparison.get("rows"):
        return ([{"label": r["label"], "kind": r["kind"], "methods": r["methods"]} for r in comparison["rows"]],
                comparison.get("chance", []))
    if cluster and cluster.get("methods"):
        label = cluster.get("kind", "embeddings")
        return ([{"label": label, "kind": label, "methods": cluster["methods"]}],
                [{"label": "chance (random labelling)", "rows": [label], "scores": cluster.get("chance", {})}])
    return [], []


def cluster_answer(comparison: dict[str, Any] | None, cluster: dict[str, Any] | None = None,
                   synthetic: bool | None = None) -> str:
    """One sentence answering "do styles cluster?" from the scores: the best unsupervised clustering against
    the random-labelling chance row, the other representations, and classifier features as a reference.

    ``comparison`` is a cluster comparison's ``comparison.json``, ``cluster`` a cluster run's ``metrics.json``
    (used when there is no comparison). The verdict is a fixed function of the best ARI's margin over chance.
    """
    entries, chance = _cluster_entries(comparison, cluster)
    if not entries:
        return "Do styles cluster? There are no clustering scores to answer from."
    if synthetic is None:
        synthetic = bool((comparison or {}).get("synthetic") or (cluster or {}).get("synthetic"))

    def best(e: dict) -> tuple[str, dict]:
        method = max(e["methods"], key=lambda k: e["methods"][k].get("ari", float("-inf")))
        return method, e["methods"][method]

    def chance_for(e: dict) -> dict:
        for c in chance:
            if e["label"] in c.get("rows", []):
                return c["scores"]
        return chance[0]["scores"] if chance else {"ari": 0.0, "nmi": float("nan")}

    unsupervised = [e for e in entries if e["kind"] != "classifier"] or entries
    top = max(unsupervised, key=lambda e: best(e)[1]["ari"])
    method, sc = best(top)
    ch = chance_for(top)
    margin = sc["ari"] - ch.get("ari", 0.0)
    verdict = ("No" if margin < 0.02 else "Barely" if margin < 0.1 else "Weakly" if margin < 0.3
               else "Yes, clearly" if margin < 0.6 else "Yes, strongly")
    kind = "unsupervised " if top["kind"] != "classifier" else ""
    chance_nmi = ch.get("nmi")
    chance_nmi_text = (f"{chance_nmi:.3f}" if isinstance(chance_nmi, (int, float)) and not
                       (isinstance(chance_nmi, float) and np.isnan(chance_nmi)) else "-")
    text = (f"Do styles cluster? {verdict}: the best {kind}clustering ({method} on {top['label']} features) matches "
            f"the styles with ARI {sc['ari']:.3f} and NMI {sc['nmi']:.3f}, against {ch.get('ari', 0.0):.3f} and "
            f"{chance_nmi_text} for a random labelling")
    others = [e for e in unsupervised if e is not top]
    if others:
        text += "; " + ", ".join(f"{e['label']} reaches ARI {best(e)[1]['ari']:.3f}" for e in
                                  sorted(others, key=lambda e: -best(e)[1]["ari"]))
    supervised = [e for e in entries if e["kind"] == "classifier" and e is not top]
    if supervised:
        text += (f", while the classifier's features, learned from the style labels, reach ARI "
                 f"{best(supervised[0])[1]['ari']:.3f}")
    return text + (" (on synthetic data)." if synthetic else ".")
