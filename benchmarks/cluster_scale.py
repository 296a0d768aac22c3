"""Clustering at full WikiArt scale: 81,444 x 256 float32 vectors, 27 imbalanced Gaussian blobs.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/cluster_scale.py              # every step, ~3-5 min on 2 cores
    PYTHONPATH=src .venv/bin/python benchmarks/cluster_scale.py --n 20000 --no-tsne

Times each step of ``artstyle cluster`` with the library's own functions (standardise + PCA 50, KMeans,
GMM, Ward agglomerative and HDBSCAN with their subsample-then-assign strategy, scores with silhouette,
PCA / UMAP / t-SNE maps, a map figure) and reports seconds and the process's peak RSS after each step
(``ru_maxrss`` only grows, so a jump marks the step that raised it). Prints a markdown table.
The issue's target: clustering plus a UMAP map of 81,444 x 256 in under 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _report import update_section  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wikiart_blobs(n: int, dim: int, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n, dim) float32, labels (n,))``: 27 Gaussian blobs sized like the WikiArt style counts.

    Centres ~ N(0, spread^2) per dimension, unit noise: with spread 0.15 neighbouring styles overlap
    partly, like real embeddings rather than textbook blobs.
    """
    from artstyle.styles import STYLE_NAMES, get_style

    counts = np.array([get_style(s).wikiart_total_count for s in STYLE_NAMES], dtype=np.float64)
    sizes = np.floor(counts / counts.sum() * n).astype(np.int64)
    sizes[np.argmax(sizes)] += n - sizes.sum()  # exact total
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    centres = rng.normal(0, spread, (len(sizes), dim)).astype(np.float32)
    X = rng.standard_normal((n, dim), dtype=np.float32)
    X += centres[labels]
    return X, labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=81_444, help="Number of vectors (WikiArt: 81,444).")
    parser.add_argument("--dim", type=int, default=256, help="Vector dimension.")
    parser.add_argument("--spread", type=float, default=0.15, help="Std of the blob centres (noise std is 1).")
    parser.add_argument("--pca-dim", type=int, default=50)
    parser.add_argument("--max-points-fit", type=int, default=10_000)
    parser.add_argument("--max-points-tsne", type=int, default=5_000)
    parser.add_argument("--no-tsne", action="store_true", help="Skip the t-SNE map.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--section", default="cluster_scale",
                        help="docs/benchmarks.md block to write (e.g. cluster_scale_448 for --dim 448, the ae-style "
                        "embedding's size, so the 256 table stays)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]

    from artstyle.cluster import compute_map, fit_predict, prepare_features
    from artstyle.metrics import cluster_scores

    rows: list[tuple[str, float, float, str]] = []

    def step(name: str, fn: Callable[[], Any], note: Callable[[Any], str] = lambda _: "") -> Any:
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
        rows.append((name, seconds, peak_rss_mb(), note(out)))
        print(f"{name}: {seconds:.1f} s, peak RSS {peak_rss_mb():.0f} MiB {note(out)}", file=sys.stderr, flush=True)
        return out

    X, y = step("generate vectors", lambda: wikiart_blobs(args.n, args.dim, args.spread, args.seed),
                lambda o: f"{o[0].shape[0]:,} x {o[0].shape[1]} float32, 27 blobs")
    k = len(np.unique(y))
    F = step("standardise + PCA", lambda: prepare_features(X, args.pca_dim, args.seed), lambda o: f"-> {o.shape[1]} dims")
    scores: dict[str, dict] = {}
    for method in ("kmeans", "gmm", "agglomerative", "hdbscan"):
        sub = method in ("agglomerative", "hdbscan") and args.n > args.max_points_fit
        pred = step(method, lambda: fit_predict(method, F, k, args.seed, args.max_points_fit),
                    lambda p: (f"fit on {args.max_points_fit:,}, rest assigned; " if sub else "")
                    + f"{len(np.unique(p[p >= 0]))} clusters")
        scores[method] = step(f"scores ({method}, silhouette on 10k)", lambda: cluster_scores(y, pred, F, args.seed),
                              lambda s: f"ARI {s['ari']:.3f}, NMI {s['nmi']:.3f}, purity {s['purity']:.3f}")
    xy_pca, _ = step("PCA map", lambda: compute_map("pca", F, args.seed))
    xy_umap, idx_umap = step("UMAP map (all points)", lambda: compute_map("umap", F, args.seed),
                             lambda o: f"{len(o[1]):,} points, multi-threaded (unseeded)")

    def figure() -> None:
        from artstyle.figures import save_figure
        from artstyle.figures.clusters import plot_style_map
        from artstyle.styles import STYLE_NAMES

        out = Path(os.environ.get("TMPDIR", "/tmp")) / "artstyle-cluster-bench-map.png"
        save_figure(plot_style_map(xy_umap, y[idx_umap], STYLE_NAMES, title="bench"), out)

    step("map figure (81k points PNG)", figure)
    if not args.no_tsne:
        step(f"t-SNE map ({args.max_points_tsne:,} subsample)",
             lambda: compute_map("tsne", F, args.seed, args.max_points_tsne))

    target = sum(r[1] for r in rows if r[0] in ("standardise + PCA", "kmeans", "gmm", "agglomerative", "hdbscan",
                                                "UMAP map (all points)")
                 or r[0].startswith("scores"))
    import sklearn
    import umap

    cmd = "PYTHONPATH=src .venv/bin/python benchmarks/" + Path(__file__).name + (
        " " + shlex.join(argv if argv is not None else sys.argv[1:]) if (argv or sys.argv[1:]) else "")
    lines = [
        f"## Clustering at WikiArt scale ({args.n:,} x {args.dim})", "",
        f"Produced by: `{cmd}`  ",
        f"Machine: {os.cpu_count()} CPUs visible ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}, scikit-learn {sklearn.__version__}, umap-learn {umap.__version__}  ",
        f"Data: 27 Gaussian blobs sized like WikiArt's styles, centre spread {args.spread}, unit noise; "
        f"standardise + PCA {args.pca_dim}; {k} clusters; 1-minute load average {load:.1f} at the start.", "",
        "| step | seconds | peak RSS so far (MiB) | notes |", "|---|---:|---:|---|",
        *(f"| {name} | {seconds:.1f} | {rss:.0f} | {note} |" for name, seconds, rss, note in rows), "",
        f"Clustering (4 methods + scores) + features + UMAP map: **{target:.0f} s** (target < 180 s); "
        f"peak RSS {peak_rss_mb():.0f} MiB.",
    ]
    body = "\n".join(lines)
    print(body)
    update_section(args.section, body)

if __name__ == "__main__":
    main()
