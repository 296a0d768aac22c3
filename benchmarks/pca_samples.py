"""How strong is the PCA baseline? PCA-256 fitted on more or fewer training images, scored where `embed train` scores.

Usage::

    python benchmarks/pca_samples.py --data builtin --samples 600,2000,0 --doc
    python benchmarks/pca_samples.py --data builtin:0.3 --data .cache/real_styles_v2 --samples 600,2000,0

For each dataset (prepared at 64 px, as `embed train` does by default), fits PCA with ``embed.measure.fit_pca`` on a
random subsample of each ``--samples`` count of the training images (0 = all of them, `embed train`'s default) and
reports the mean per-image PSNR and SSIM on the validation images, with the fit time. A PCA fitted on a subsample
generalises worse, so an autoencoder compared with it looks better than it is. With ``--doc`` the table goes into
docs/results.md (block ``pca-samples``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "results.md"


def measure(data: str, samples: list[int], components: int, size: int) -> list[list[str]]:
    """One table row per sample count: data, images fitted, of how many, PSNR, SSIM, fit seconds."""
    from artstyle.data.cache import prepare_cache
    from artstyle.embed.measure import fit_pca, pca_metrics, pca_sample_cap

    cache = prepare_cache(data, size=size, progress=False)
    train, rows = cache.indices("train"), cache.indices("val" if (cache.splits == "val").any() else "test")
    out, seen = [], set()
    for n in samples:
        fitted = min(pca_sample_cap(size, n), len(train))
        if fitted in seen:  # e.g. 2,000 of 1,980 images: the same fit as all of them
            continue
        seen.add(fitted)
        t0 = time.perf_counter()
        pca = fit_pca(cache, train, components, max_samples=n)
        seconds = time.perf_counter() - t0
        m = pca_metrics(pca, cache.images, "mse", rows)
        label = f"{data} (SYNTHETIC)" if cache.synthetic else data
        out.append([label, f"{pca.n_samples_:,}", f"{len(train):,}", f"{m['psnr']:.2f}", f"{m['ssim']:.3f}",
                    f"{seconds:.0f}", f"{len(rows):,}"])
        print(" | ".join(out[-1]), file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", help="dataset(s) (repeat; default: builtin)")
    ap.add_argument("--samples", default="600,2000,0", help="comma-separated training-image counts (0 = all)")
    ap.add_argument("--components", type=int, default=256)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--doc", action="store_true", help="write the table into docs/results.md")
    args = ap.parse_args(argv)
    samples = [int(s) for s in args.samples.split(",")]
    rows = [row for data in (args.data or ["builtin"]) for row in measure(data, samples, args.components, args.size)]
    this = "python benchmarks/pca_samples.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    table = "\n".join(["| data | fitted on | of training images | PSNR | SSIM | fit s | scored on |",
                       "|---|---:|---:|---:|---:|---:|---:|"] + ["| " + " | ".join(r) + " |" for r in rows])
    body = (f"### How strong is the PCA baseline?\n\nProduced by: `{this}` ({machine()}).\n\n"
            f"PCA-{args.components} of {args.size} px images, fitted on a random subsample of the training images "
            "(all of them in the rows where both counts agree), scored on the validation images (mean per-image "
            "PSNR and SSIM, as `embed train` scores the autoencoder).\n\n" + table)
    if args.doc:
        update_section("pca-samples", body, doc=DOC)
    print(body)


if __name__ == "__main__":
    main()
