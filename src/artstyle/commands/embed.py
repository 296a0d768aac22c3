"""``artstyle embed``: train a from-scratch autoencoder (against a PCA baseline) and export embeddings.

Usage::

    artstyle embed train --data builtin:0.1 --size 64 --epochs 3
    artstyle embed export --data builtin:0.1 --kind ae --run runs/embed/<ts>-conv-d256
    artstyle embed export --data builtin:0.1 --kind color-hist --split test
    artstyle embed export --data builtin:0.1 --kind ae-style --run runs/embed/<ts>-grid-d256 --split test
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artstyle.config import typer_command
from artstyle.embed.config import EmbedTrainConfig

app = typer.Typer(help="Compressed representations of paintings: train a convolutional autoencoder from scratch "
                       "(compared with PCA at the same latent size) and export embeddings (autoencoder latents, "
                       "classifier features, raw pixels, colour histograms) for `artstyle cluster`.",
                  no_args_is_help=True)

# "10": embedders.REFINED_EXPORT_STEPS, written out so that --help does not import torch
KINDS_HELP = ("ae (autoencoder latents; needs --run of `embed train`), ae-refined (those latents refined by 10 "
              "Adam steps on each image's PSNR through the decoder, as `embed train --refine-steps 10` scores them; "
              "about 14 times slower), ae-style (per-channel mean and std of the "
              "autoencoder's feature maps over crops and their mirrors: texture, not layout; needs --run of `embed "
              "train`; --size defaults to twice the run's), classifier (penultimate features; needs --run of "
              "`classify train`), pixels (16x16x3 raw pixels), color-hist (8x8x8 RGB histogram).")


def _train(cfg: EmbedTrainConfig) -> None:
    from rich.console import Console
    from rich.table import Table

    from artstyle.dist import is_main_process
    from artstyle.embed import train_autoencoder
    from artstyle.runs import read_json

    run = train_autoencoder(cfg)
    if not is_main_process():
        return
    m = read_json(run / "metrics.json")
    ae, pca, refined = m["autoencoder"], m["pca_baseline"], m.get("autoencoder_refined")
    t = Table(title=f"Reconstruction of {m['n_images']} {m['split']} images, latent size {m['latent_dim']}"
                    + (" (SYNTHETIC built-in data)" if m["synthetic"] else ""))
    cols = [("autoencoder", ae)] + ([(f"refined latents ({refined['steps']} steps)", refined)] if refined else [])
    cols.append((f"PCA ({pca['components']} components)", pca))
    t.add_column("metric", justify="right")
    for col, _ in cols:
        t.add_column(col, justify="right")
    for label, key, fmt in (("PSNR (dB)", "psnr", ".2f"), ("SSIM", "ssim", ".4f"), ("MSE", "mse", ".5f")):
        t.add_row(label, *[format(scores[key], fmt) for _, scores in cols])
    Console().print(t)
    typer.echo(f"run: {run}")


typer_command(app, "train", EmbedTrainConfig, _train,
              help="Train a convolutional autoencoder from scratch on --data, then compare its best checkpoint with "
                   "a PCA baseline of the same latent size on the validation images (PSNR, SSIM). Writes "
                   "runs/embed/<timestamp>-<name>/ with per-epoch reconstruction figures.")


@app.command("export")
def export(data: str = typer.Option("builtin", help="Dataset to embed (labels and classes come from it)."),
           kind: str = typer.Option(..., help="Embedding kind: " + KINDS_HELP),
           run: Optional[Path] = typer.Option(None, help="Run directory for --kind ae, ae-refined, ae-style or classifier."),
           split: str = typer.Option("all", help="Which images: all, train, val or test."),
           out: Optional[Path] = typer.Option(None, help="Output .npz (default: RUN/embeddings-<kind>.npz with "
                                                         "--run, else runs/embed/<timestamp>-<kind>/embeddings.npz)."),
           size: Optional[int] = typer.Option(None, help="Decode size in px (default: the run's size; 64 for "
                                                         "pixels and color-hist)."),
           label_column: str = typer.Option("style", help="Label column for Hugging Face sources (style, genre or "
                                                          "artist): what the maps are coloured and scored by."),
           progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars.")) -> None:
    """Write an embeddings file (vectors, labels, classes, paths, splits, 32 px thumbnails) for `artstyle cluster`."""
    from artstyle.embed import export_embeddings
    from artstyle.embeddings import load_embeddings

    path = export_embeddings(data, kind, run=run, split=split, out=out, size=size, progress=progress,
                             label_column=label_column)
    emb = load_embeddings(path)
    typer.echo(f"{len(emb)} x {emb.dim} {emb.kind} embeddings of {len(emb.classes)} classes"
               + (" (SYNTHETIC built-in data)" if emb.synthetic else "") + f": {path}")
