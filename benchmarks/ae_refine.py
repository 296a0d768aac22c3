"""Latent refinement: how much PSNR an `embed train` run gains when each code is refined through its decoder.

Usage::

    python benchmarks/ae_refine.py runs/s13/ae-builtin-w96 runs/s14/builtin-w48 --steps 0,10,25,50 --doc
    python benchmarks/ae_refine.py RUN --steps 0,50 --lr 0.02,0.05,0.1      # the step size

For each run (its best checkpoint, on the images it was validated on), scores the reconstructions of the
encoder's latents (0 steps) and of latents refined by ``steps`` Adam steps on each image's PSNR through the
frozen decoder (``artstyle.embed.refine``), beside PCA with as many components as the latent, fitted on every
training image as `embed train` fits it. Seconds are wall time per image for encoding (and refining) at the
threads given. With ``--doc`` the table goes into docs/results.md (block ``ae-refine``).
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
HEADER = ["run", "data", "model", "refine steps", "lr", "AE PSNR", "AE SSIM", "PCA PSNR", "AE - PCA (dB)",
          "ms per image", "scored on"]


def measure(run: str, steps: list[int], lrs: list[float]) -> list[list[str]]:
    """Table rows for one run: one per (steps, lr), 0 steps once."""
    from artstyle.data.cache import run_cache
    from artstyle.embed.measure import fit_pca, pca_metrics, reconstruction_metrics
    from artstyle.embed.train import load_autoencoder

    model, info = load_autoencoder(run)
    saved = info["config"]["data"]
    cache = run_cache(saved, info["size"], info["config"]["input"]["resize"], progress=False)
    rows = cache.indices(saved.get("val_split", "val"))
    pca = fit_pca(cache, cache.indices("train"), info["latent_dim"])
    base = pca_metrics(pca, cache.images, "mse", rows)
    m = info["config"]["model"]
    label = f"{saved['source']} (SYNTHETIC)" if saved.get("synthetic") else saved["source"]
    model_name = f"`{m['arch']}` w{m['width']}"
    out = []
    for n in steps:
        for lr in (lrs if n else [0.0]):
            t0 = time.perf_counter()
            ae = reconstruction_metrics(model, cache.images, "mse", rows, refine_steps=n, refine_lr=lr or None)
            ms = 1000 * (time.perf_counter() - t0) / len(rows)
            out.append([Path(run).name, label, model_name, str(n), f"{lr:g}" if n else "-", f"{ae['psnr']:.2f}",
                        f"{ae['ssim']:.3f}", f"{base['psnr']:.2f}", f"{ae['psnr'] - base['psnr']:+.2f}", f"{ms:.0f}",
                        f"{len(rows):,}"])
            print(" | ".join(out[-1]), file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="embed train run directories")
    ap.add_argument("--steps", default="0,10,25,50", help="comma-separated refinement step counts (0 = the encoder)")
    ap.add_argument("--lr", default="0.05", help="comma-separated Adam step sizes on the latent")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--doc", action="store_true", help="write the table into docs/results.md")
    args = ap.parse_args(argv)
    import torch

    from artstyle.tables import markdown_table

    torch.set_num_threads(args.threads)
    steps, lrs = [int(s) for s in args.steps.split(",")], [float(x) for x in args.lr.split(",")]
    rows = [row for run in args.runs for row in measure(run, steps, lrs)]
    this = "python benchmarks/ae_refine.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    table = markdown_table(HEADER, rows, right_from=3).rstrip("\n")
    body = (f"### Refined latents: the encoder's code against the best code for the decoder\n\n"
            f"Produced by: `{this}` ({machine()}).\n\n"
            "Each run's best checkpoint on the images it was validated on. `refine steps` 0 is the encoder's latent; "
            "otherwise that latent after that many Adam steps (step size `lr`) on each image's PSNR through the "
            "frozen decoder (`embed train --refine-steps`, `artstyle.embed.refine`). The latent keeps its 256 numbers. "
            "PCA has as many components, fitted on every training image. `ms per image` is the wall time of "
            "encoding (and refining) and decoding, per image, at the stated threads on this 2-core machine.\n\n"
            + table)
    if args.doc:
        update_section("ae-refine", body, doc=DOC)
    print(body)


if __name__ == "__main__":
    main()
