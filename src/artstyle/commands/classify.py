"""``artstyle classify``: train, evaluate, predict and compare from-scratch style classifiers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from artstyle.classify.config import ClassifyConfig
from artstyle.config import typer_command

app = typer.Typer(help="Style classifiers trained from scratch (no pretrained weights), with class-imbalance "
                       "strategies and honest metrics.", no_args_is_help=True)


def _train(cfg: ClassifyConfig) -> None:
    from artstyle.classify import train_classifier
    from artstyle.dist import is_main_process
    from artstyle.runs import read_json

    run = train_classifier(cfg)
    if not is_main_process():
        return
    m = read_json(run / "metrics.json")
    _print_report(m)
    typer.echo(f"run: {run}")


def _print_report(m: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    b = m["baselines"]
    split = m["data"].get("split", "test")  # evaluate --split train/val reports that split, not the test split
    t = Table(title=f"{split.capitalize()} split" + (" (SYNTHETIC built-in data)" if m["data"]["synthetic"] else ""))
    for col in ("metric", "model", "majority class", "chance"):
        t.add_column(col, justify="right")
    top = next(k for k in m if k.startswith("top") and k.endswith("_accuracy"))
    t.add_row("accuracy", f"{100 * m['accuracy']:.1f}%", f"{100 * b['majority_accuracy']:.1f}%", f"{100 * b['chance_accuracy']:.1f}%")
    t.add_row("balanced accuracy", f"{100 * m['balanced_accuracy']:.1f}%", f"{100 * b['majority_balanced_accuracy']:.1f}%",
              f"{100 * b['chance_balanced_accuracy']:.1f}%")
    t.add_row("macro-F1", f"{100 * m['macro_f1']:.1f}%", f"{100 * b['majority_macro_f1']:.1f}%", "")
    t.add_row(top.replace("_", " "), f"{100 * m[top]:.1f}%", "", "")
    for g, v in m["groups"].items():
        t.add_row(f"{g} recall ({v['threshold']})", f"{100 * v['mean_recall']:.1f}%", "", "")
    picture = m.get("picture_head")
    if picture:  # --picture-stats: what each view scores alone
        for view in ("crops_alone", "picture_alone"):
            score = picture[view]["balanced_accuracy"]
            t.add_row(f"balanced accuracy, {view.replace('_', ' ')}", f"{100 * score:.1f}%", "", "")
    Console().print(t)
    if picture:
        typer.echo("the model combines the crops' vote with the whole picture's statistics, weight "
                   f"{picture['weight']:g} (--picture-stats)")


typer_command(app, "train", ClassifyConfig, _train,
              help="Train a style classifier from scratch on --data, then evaluate its best checkpoint on the test "
                   "split against the majority-class and chance baselines. Writes runs/classify/<timestamp>-<name>/.")


@app.command("evaluate")
def evaluate(run: Path = typer.Argument(..., help="A classify run directory."),
             data: str = typer.Option("builtin", help="Dataset to evaluate on; classes are matched by name."),
             split: str = typer.Option("test", help="Split to evaluate: train, val or test."),
             label_column: str = typer.Option("style", help="Label column for Hugging Face sources."),
             out: Optional[Path] = typer.Option(None, help="Output directory (default runs/evaluate/<timestamp>-<run>/)."),
             overwrite: bool = typer.Option(False, help="Allow --out to be an existing, non-empty directory (an "
                                                        "earlier run there is emptied first)."),
             tta: int = typer.Option(0, help="Average the predictions over a TTA x TTA grid of crops (0 = the run's "
                                             "grid, as in its test report).")) -> None:
    """Evaluate a trained classifier on any dataset, mapping classes by name (unknown names are an error).

    The data is decoded at the run's image size with the run's resize policy, as in training."""
    from artstyle.classify import evaluate_classifier
    from artstyle.runs import read_json

    dest = evaluate_classifier(run, data, split, label_column, out, overwrite, tta)
    _print_report(read_json(dest / "metrics.json"))
    typer.echo(f"evaluation: {dest}")


@app.command("predict")
def predict(run: Path = typer.Argument(..., help="A classify run directory."),
            images: List[Path] = typer.Argument(..., help="Image files to classify; a folder stands for its image files "
                                                         "(not its subfolders)."),
            topk: int = typer.Option(5, help="How many styles to show per image."),
            tta: int = typer.Option(0, help="Average the predictions over a TTA x TTA grid of crops (0 = the run's "
                                            "grid, as in its test report)."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table (with each crop's vote).")
            ) -> None:
    """Top-k styles with probabilities for each image; unreadable files are listed with the reason."""
    from artstyle.api import predict_files  # the Python API's predict, which `artstyle serve` uses too
    from artstyle.styles import display_name

    preds, skipped = predict_files(run, images, topk, tta)
    if as_json:
        typer.echo(json.dumps({"predictions": preds, "skipped": skipped}, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table("image", "top styles")
        for p in preds:
            t.add_row(p["path"], ", ".join(f"{display_name(s['style'])} {100 * s['probability']:.0f}%" for s in p["top"]))
        Console().print(t)
        for s in skipped:
            typer.echo(f"skipped {s['path']}: {s['reason']}", err=True)
    if skipped and not preds:
        raise typer.Exit(1)


def _compare(cfg: ClassifyConfig, strategies: str, seeds: int, models: str) -> None:
    from artstyle.classify import compare_strategies

    # --out, --name and --overwrite name the comparison run; the runs it trains go inside it.
    out = compare_strategies(cfg, [s.strip() for s in strategies.split(",") if s.strip()], seeds,
                             [m.strip() for m in models.split(",") if m.strip()] or None,
                             out=Path(cfg.out) if cfg.out else None, name=cfg.name or None, overwrite=cfg.overwrite)
    typer.echo((out / "comparison.md").read_text())
    typer.echo(f"comparison: {out}")


typer_command(app, "compare", ClassifyConfig, _compare,
              help="Train every imbalance strategy (and model) for several seeds; write a mean ± std table and a bar chart.",
              extra={"strategies": (str, typer.Option("none,resample,weighted-loss,logit-adjust,crt",
                                                      help="Comma-separated strategies.")),
                     "seeds": (int, typer.Option(3, help="Seeds per strategy.")),
                     "models": (str, typer.Option("", help="Comma-separated models (default: --model)."))})
