"""``artstyle stylize``: train a style-conditioned encoder-decoder, re-render images in any style, evaluate it.

Usage: ``artstyle stylize train --data builtin:0.1 --size 64 --judge auto``;
``artstyle stylize render RUN --images photo.jpg --styles Ukiyo-e,Pointillism``;
``artstyle stylize evaluate RUN --judge runs/classify/<run>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from artstyle.config import typer_command
from artstyle.errors import ArtstyleError
from artstyle.runs import read_json
from artstyle.stylize.config import StylizeConfig

app = typer.Typer(help="Re-render images in any training style with a from-scratch, style-conditioned "
                       "encoder-decoder, and measure whether the style input matters.", no_args_is_help=True)


def _print_evaluation(ev: dict | None) -> None:
    if ev:
        typer.echo(ev["table_markdown"])


def _train(cfg: StylizeConfig) -> None:
    from artstyle.dist import is_main_process
    from artstyle.stylize import train_stylizer

    run = train_stylizer(cfg)
    if not is_main_process():
        return
    ev = read_json(run / "metrics.json").get("evaluation")
    _print_evaluation(ev)
    if not ev:
        typer.echo("no --judge given: evaluate later with `artstyle stylize evaluate RUN --judge CLASSIFY_RUN`")
    typer.echo(f"run: {run}")


typer_command(app, "train", StylizeConfig, _train,
              help="Train a style-conditioned encoder-decoder (AdaIN decoder; learned or mean-latent style vectors) "
                   "against a frozen from-scratch classifier, then evaluate it with an independent judge when --judge "
                   "is given. Writes runs/stylize/<timestamp>-<name>/.")


@app.command("render")
def render(run: Path = typer.Argument(..., help="A stylize run directory."),
           more: Optional[List[Path]] = typer.Argument(None, help="More image files or folders (after --images).",
                                                       show_default=False),
           images: Optional[List[Path]] = typer.Option(None, "--images", "-i", help="Image file or folder of images "
                                                       "(repeatable; further paths may follow it)."),
           styles: str = typer.Option("all", help="Comma-separated target styles (names or aliases), or 'all'."),
           out: Optional[Path] = typer.Option(None, help="Output folder (default: RUN/renders/<timestamp>/)."),
           overwrite: bool = typer.Option(False, help="Allow --out to be an existing, non-empty folder (an earlier "
                                                      "render there is emptied first)."),
           ) -> None:
    """Re-render each image in each style: a grid PNG (original first, then one column per style) plus one PNG per (image, style) named <stem>__<Style>.png. Unreadable images are skipped and listed."""  # noqa: E501 - one paragraph in --help
    from artstyle.api import render_files  # the Python API's, over the stage's render

    paths = list(images or []) + list(more or [])
    if not paths:
        raise ArtstyleError("--images: give at least one image file or folder")
    result = render_files(run, paths, styles, out, overwrite)
    for s in result["skipped"]:
        typer.echo(f"skipped {s['path']}: {s['reason']}", err=True)
    typer.echo(f"{len(result['files'])} images in {len(result['styles'])} styles")
    typer.echo(f"grid: {result['grid']}")


@app.command("evaluate")
def evaluate(run: Path = typer.Argument(..., help="A stylize run directory."),
             judge: Path = typer.Option(..., help="An independently trained classify run (not the loss classifier)."),
             data: Optional[str] = typer.Option(None, help="Dataset whose test split is used "
                                                "(default: the run's data)."),
             pairs: int = typer.Option(500, help="Mismatched (test image, target style) pairs."),
             seed: int = typer.Option(0, help="Seed of the pair sample."),
             judge_view: str = typer.Option("recipe", help="How the judge reads a picture: recipe (its run's own "
                                            "prediction: crops at its scale and its picture model, as its test "
                                            "report) or network (the network alone on the whole picture, as "
                                            "evaluations before issue 12's twentieth session).")) -> None:
    """Judge hit rate on the target style, SSIM/PSNR and judge-feature distance to the input, against the identity, mean-image blend and true-style reconstruction baselines. Writes into the run; every judge's verdict is kept, so a second judge of another recipe shows whether the stylizer only fools the first."""  # noqa: E501
    from artstyle.stylize import evaluate_stylizer
    from artstyle.stylize.evaluate import judges_markdown

    _print_evaluation(evaluate_stylizer(run, judge, data, pairs, seed, judge_view=judge_view))
    every_judge = judges_markdown(read_json(run / "metrics.json")["judges"])
    if every_judge:
        typer.echo(every_judge)
    typer.echo(f"report: {run / 'evaluation.md'}; grid: {run / 'figures' / 'evaluation_grid.png'}")
