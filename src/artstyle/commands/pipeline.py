"""Top-level ``artstyle run`` (the whole pipeline, resumable) and ``artstyle report`` (report.md + report.html).

Usage: ``artstyle run --profile demo``; ``artstyle run --out runs/pipeline/<ts>-demo`` (resume);
``artstyle report runs/pipeline/<ts>-demo``; ``artstyle report RUN1 RUN2 ... --out my-report``.

The stage modules (torch, scikit-learn, ...) are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from artstyle.errors import ArtstyleError
from artstyle.pipeline.config import PipelineConfig
from artstyle.pipeline.profiles import PROFILE_NAMES


def register(app: typer.Typer) -> None:
    """Add the ``run`` and ``report`` commands to the root ``app``."""

    @app.command("run")
    def run(data: Optional[str] = typer.Option(None, "--data", help="Dataset for every stage: 'builtin' (synthetic), "
                                               "'builtin:<scale>', an image-folder root, hf:<hub id>, a save_to_disk "
                                               "directory or parquet files. Default: the profile's (builtin:0.3 for "
                                               "demo, builtin:0.02 for tiny, builtin for full)."),
            profile: Optional[str] = typer.Option(None, "--profile", help="tiny (tests, about a minute), demo (make "
                                                  "demo: <= 15 min on 2 CPU cores, 64 px), full (real use: 128 px, long "
                                                  "training with early stopping). Default: demo, or the resumed "
                                                  "pipeline's."),
            config: Optional[Path] = typer.Option(None, "--config", help="TOML file overriding any stage's settings; one "
                                                  "table per stage: data, classify, judge, strategies, embed, "
                                                  "embeddings, cluster, stylize, lora, generate."),
            pretrained: Optional[str] = typer.Option(None, "--pretrained", help="Base text-to-image model (hub id in "
                                                     "the local cache or a diffusers folder) for the LoRA stage; "
                                                     "without it LoRA is skipped."),
            out: Optional[Path] = typer.Option(None, "--out", help="Pipeline directory (default: "
                                               "runs/pipeline/<timestamp>-<profile>/). Give an existing one to resume "
                                               "it: stages already done are skipped."),
            progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars and per-epoch "
                                          "lines.")) -> None:
        """Run the whole pipeline: data, stats, classifier (+ judge, + imbalance strategies), autoencoder,
        embeddings, clustering and maps, stylizer, LoRA (with --pretrained), and the report. Resumable."""
        from artstyle.pipeline import run_pipeline

        if profile and profile not in PROFILE_NAMES:
            raise ArtstyleError(f"--profile {profile!r} is not one of: {', '.join(PROFILE_NAMES)}")
        run_pipeline(PipelineConfig(data=data or "", profile=profile or "", config=str(config) if config else "",
                                    pretrained=pretrained or "", out=str(out) if out else "", progress=progress))

    @app.command("report")
    def report(runs: List[Path] = typer.Argument(..., help="A pipeline directory, or stage run directories (data "
                                                 "stats, classify, classify compare, embed, cluster, cluster compare, "
                                                 "stylize, lora) and embeddings .npz files.", show_default=False),
               out: Optional[Path] = typer.Option(None, "--out", help="Folder for report.md and report.html (default: "
                                                  "the pipeline directory, else runs/report/<timestamp>-report/).")
               ) -> None:
        """Write report.md and a self-contained report.html (figures embedded) from finished runs; never retrains."""
        from artstyle.report import write_report

        dest = write_report(list(runs), out)
        typer.echo(f"report: {dest / 'report.html'}")
        typer.echo(f"markdown: {dest / 'report.md'}")
