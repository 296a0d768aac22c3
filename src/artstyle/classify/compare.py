"""Compare imbalance strategies (and models) over several seeds: a mean +/- std table and a bar chart.

Usage: ``run = compare_strategies(ClassifyConfig(data="builtin"), ["none", "resample", "crt"], seeds=3)``
-> ``runs/classify/<ts>-compare/`` with comparison.json, comparison.md, figures/comparison.png and the
trained runs under ``runs/<model>-<strategy>-seed<n>/``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from artstyle.classify.config import IMBALANCE, ClassifyConfig, train_command
from artstyle.config import config_dict
from artstyle.errors import ArtstyleError
from artstyle.runs import create_run, prepare_run_dir, read_json, write_config, write_json, write_text
from artstyle.tables import markdown_table

_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "tail_recall", "train_seconds")


def compare_strategies(base: ClassifyConfig, strategies: list[str], seeds: int = 3, models: list[str] | None = None,
                       out: Path | None = None, name: str | None = None, overwrite: bool = False) -> Path:
    """Train every (model, strategy, seed) and write a mean +/- std table and a bar chart. Returns the run.

    The run is ``out`` when given (``overwrite``: it may be an existing, non-empty directory), else
    ``runs/classify/<timestamp>-<name or "compare">/``; the trained runs go inside it.
    """
    from artstyle.classify.train import check_options, train_classifier
    from artstyle.figures import save_figure
    from artstyle.figures.classify import plot_strategies

    for s in strategies:
        if s not in IMBALANCE:
            raise ArtstyleError(f"--strategies: {s!r} is not one of: {', '.join(IMBALANCE)}")
    from artstyle.classify.recipe import resolve_recipe

    models = models or [resolve_recipe(base).model]
    jobs = [(model, strategy, seed) for model in models for strategy in strategies
            for seed in range(base.seed, base.seed + seeds)]
    for job in jobs:  # a bad combination fails now, not after the other models' runs
        check_options(resolve_recipe(_job_config(base, *job, Path())))
    run = prepare_run_dir(out, overwrite) if out else create_run("classify", name or "compare")
    reproduce = replace(base, out=str(out) if out else "", name=name or "", overwrite=overwrite, resume="")
    write_config(run, "classify-compare",
                 train_command(reproduce, "artstyle classify compare",
                               {"strategies": strategies, "seeds": seeds, "models": models}),
                 {"config": config_dict(base), "strategies": strategies, "seeds": seeds, "models": models})
    rows = [_row(model, strategy, seed, train_classifier(_job_config(
        base, model, strategy, seed, run / "runs" / f"{model}-{strategy}-seed{seed}")))
        for model, strategy, seed in jobs]
    table = summarise(rows)
    write_json(run / "comparison.json", {"rows": rows, "summary": table, "config": config_dict(base)})
    write_text(run / "comparison.md", strategies_markdown(table, rows))
    save_figure(plot_strategies(table, rows[0]["synthetic"] if rows else False), run / "figures" / "comparison.png")
    return run


def _job_config(base: ClassifyConfig, model: str, strategy: str, seed: int, out: Path) -> ClassifyConfig:
    """The configuration of one (model, strategy, seed) run: the base's, with the texture model's options only where
    they apply."""
    return ClassifyConfig(**{**config_dict(base), "model": model, "imbalance": strategy, "seed": seed,
                             "highpass": base.highpass or model != "texture",
                             "colour_peaks": base.colour_peaks and model == "texture",
                             "global_view": base.global_view or model != "texture",
                             "out": str(out), "name": "", "resume": ""})


def _row(model: str, strategy: str, seed: int, run: Path) -> dict:
    """One trained run's line of comparison.json, from its metrics.json."""
    m = read_json(run / "metrics.json")
    return {"model": model, "strategy": strategy, "seed": seed, "run": str(run),
            "accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"],
            "macro_f1": m["macro_f1"], "tail_recall": m["groups"]["tail"]["mean_recall"],
            "train_seconds": m["training"]["train_seconds"], "synthetic": m["data"]["synthetic"],
            "majority_accuracy": m["baselines"]["majority_accuracy"],
            "chance_balanced_accuracy": m["baselines"]["chance_balanced_accuracy"]}


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and std per (model, strategy) over seeds."""
    keys = sorted({(r["model"], r["strategy"]) for r in rows}, key=lambda k: [r["model"] for r in rows].index(k[0]))
    out = []
    for model, strategy in keys:
        group = [r for r in rows if r["model"] == model and r["strategy"] == strategy]
        entry = {"model": model, "strategy": strategy, "seeds": len(group)}
        for metric in _METRICS:
            vals = np.array([r[metric] for r in group], dtype=float)
            entry[metric] = float(np.nanmean(vals))
            entry[f"{metric}_std"] = float(np.nanstd(vals))
        out.append(entry)
    return out


def strategies_markdown(table: list[dict], rows: list[dict]) -> str:
    """comparison.md: the mean ± std table (in %) and the majority-class baseline."""
    header = ["model", "strategy", "seeds", "accuracy", "balanced accuracy", "macro-F1", "tail recall", "train s"]
    body = [[e["model"], e["strategy"], e["seeds"],
             *(f"{100 * e[m]:.1f} ± {100 * e[m + '_std']:.1f}" for m in _METRICS[:4]), f"{e['train_seconds']:.0f}"]
            for e in table]
    text = markdown_table(header, body, right_from=2)
    if rows:
        text += (f"\nMajority-class baseline: accuracy {100 * rows[0]['majority_accuracy']:.1f}%, balanced accuracy "
                 f"{100 * rows[0]['chance_balanced_accuracy']:.1f}% (= chance). Numbers in %, mean ± std over seeds."
                 + (" Data: SYNTHETIC built-in dataset." if rows[0]["synthetic"] else "") + "\n")
    return text


__all__ = ["compare_strategies", "strategies_markdown", "summarise"]
