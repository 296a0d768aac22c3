"""Stylizer variants trained for the same number of steps on one dataset, judged independently.

Usage: ``python benchmarks/stylize_ablation.py --classifier CLF_RUN --judge JUDGE_RUN [--data builtin:0.1]
[--size 64] [--epochs 5] [--steps 30] [--budget 0] [--pairs 200] [--only 0,1,2] [--out runs/stylize-ablation] [--reuse]``
(writes docs/results.md, section 5).

Every variant trains from scratch for the same ``--epochs`` x ``--steps`` optimiser steps (and, with ``--budget``,
at most that many seconds of wall clock each), one run at a time, against the same frozen loss classifier, and is
then judged by the same independent judge on the same seeded mismatched (test image, target style) pairs. Equal
steps, not equal seconds, is the default because the cores here are shared: wall-clock budgets would measure the
other users' load. The "before" row rebuilds issue 12's earlier network (stylizer version 2) by setting
``artstyle.stylize.train.STYLIZER_VERSION``, which is what a run's config.json records.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results.md"
VARIANTS = [  # (label, StylizeConfig overrides; "version" picks the network)
    ("before: version 2 (full resolution), no style ramp", {"version": 2, "style_ramp": 0}),
    ("**default: version 3 (1/8 grid), --style-ramp RAMP**", {}),
    ("version 3, --style-ramp 0", {"style_ramp": 0}),
    ("version 3, mean-latent style vectors", {"style_source": "mean-latent"}),
    ("version 3, --w-adv 0.1", {"w_adv": 0.1}),
    ("version 3, reconstruction only (--w-style 0 --w-gram 0 --w-content 0)",
     {"w_style": 0.0, "w_gram": 0.0, "w_content": 0.0}),
]


def _row(label: str, run: Path) -> tuple[str, dict]:
    from artstyle.runs import read_json

    metrics = read_json(run / "metrics.json")
    ev, tr = metrics["evaluation"], metrics["training"]
    m = ev["methods"]["stylizer"]
    return (f"| {label} | {tr['epochs_run']} | {tr['train_seconds']:.0f} | {100 * m['hit_rate']:.1f} ± "
            f"{100 * m['hit_rate_se']:.1f}% | {m['ssim']:.3f} | {m['judge_feature_distance']:.3f} |"), ev


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--judge", required=True)
    ap.add_argument("--data", default="builtin:0.1")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30, help="optimiser steps per epoch")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--ramp", type=int, default=100, help="--style-ramp of the variants that do not set it")
    ap.add_argument("--budget", type=float, default=0.0, help="seconds per variant (0 = none: equal steps only)")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--only", default="", help="comma-separated variant indices (default: all)")
    ap.add_argument("--out", default="runs/stylize-ablation")
    ap.add_argument("--reuse", action="store_true", help="read variants already finished under --out, train the rest")
    args = ap.parse_args()
    import artstyle.stylize.train as stylize_train
    from artstyle.stylize import StylizeConfig, train_stylizer

    chosen = [int(i) for i in args.only.split(",")] if args.only else range(len(VARIANTS))
    rows, ev = [], {}
    for i in chosen:
        label, kw = VARIANTS[i]
        kw = {"style_ramp": args.ramp, **kw}
        label = label.replace("RAMP", str(args.ramp))
        stylize_train.STYLIZER_VERSION = kw.pop("version", 3)
        cfg = StylizeConfig(data=args.data, size=args.size, width=args.width, epochs=args.epochs,
                            max_steps_per_epoch=args.steps, batch_size=args.batch, time_budget=args.budget,
                            classifier=args.classifier, judge=args.judge, eval_pairs=args.pairs, progress=False,
                            out=str(Path(args.out) / f"v{i}"), overwrite=True, **kw)
        done = Path(cfg.out) / "metrics.json"
        if args.reuse and done.is_file():  # a variant an earlier invocation finished (same settings, same --out)
            row, ev = _row(label, done.parent)
        else:
            row, ev = _row(label, train_stylizer(cfg))
        rows.append(row)
        print(row, flush=True)
        _write(args, rows, ev)  # after every variant: a cut-short run still documents what it measured


def _write(args: argparse.Namespace, rows: list[str], ev: dict) -> None:
    base = ev["methods"]
    load = os.getloadavg()[0]
    body = "\n".join([
        "#### Stylizer variants at equal steps (issue 12)",
        "",
        f"Each variant trained from scratch for {args.epochs} x {args.steps} steps of batch {args.batch} on "
        f"`{args.data}` at {args.size} px, width {args.width}" + (f", at most {args.budget:.0f} s each" if args.budget
                                                                  else "") +
        f", one after the other (load average {load:.1f} at the end; the cores are shared, so the seconds are "
        f"not comparable between rows), then judged on {args.pairs} mismatched test pairs by the same independent "
        f"judge (accuracy on the inputs' true styles {100 * ev['judge_accuracy_on_inputs']:.1f}%). Baselines on "
        f"the same pairs: identity {100 * base['identity']['hit_rate']:.1f}% at SSIM 1; 50/50 blend with the target "
        f"style's mean image {100 * base['blend']['hit_rate']:.1f}% at SSIM {base['blend']['ssim']:.3f}.",
        "",
        "| variant | epochs | train seconds | judge hit rate on the target style | SSIM to input | "
        "judge-feature cosine distance |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Produced by: `python benchmarks/stylize_ablation.py --classifier CLF --judge JUDGE --data {args.data} "
        f"--size {args.size} --width {args.width} --epochs {args.epochs} --steps {args.steps} --batch {args.batch} "
        f"--ramp {args.ramp} --budget {args.budget:.0f} --pairs {args.pairs}" + (f" --only {args.only}" if args.only else "") +
        f"` ({machine()}); CLF = `artstyle classify train --data {args.data} --size {args.size} --epochs 8 "
        f"--width 16`, JUDGE = the same with `--model simple-cnn --seed 1000`",
    ])
    update_section("stylize-ablation", body, doc=RESULTS)
    print(body)


if __name__ == "__main__":
    main()
