"""Equal wall-clock comparison of classifier configurations: whole downscaled images against native-scale crops.

Usage::

    python benchmarks/real_styles.py .cache/real_styles_v2           # the real-photo benchmark (needs apt, cv2)
    python benchmarks/texture_compare.py --data .cache/real_styles_v2 --budget 300 --doc
    python benchmarks/texture_compare.py --data builtin:0.1 --size 64 --cache-size 128 --budget 120 --doc

Each configuration runs ``artstyle classify train`` in its own process with the same ``--time-budget`` (the
wall-clock time of the whole command, cache build included) and the same epoch count, one after another, so
they share the machine's state as far as a noisy machine allows. The table (balanced accuracy, accuracy,
macro-F1, tail recall, epochs reached, wall time) goes to stdout and, with ``--doc``, into docs/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, update_section  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results.md"

# name -> (what it is, flags), for a network input of SIZE px and a crop cache of CACHE px. The texture-net*
# configs were measured before the colour peaks existed; --no-colour-peaks keeps their tables reproducible. Every
# texture config but texture-gv was measured before the global view and --keep (ninth session): --no-global-view
# --keep best keep them as they were, and every texture config but auto predates the picture model (seventeenth
# session): --picture-stats off.
CONFIGS: dict[str, tuple[str, list[str]]] = {
    "auto": ("no flags: what `artstyle classify train --data ROOT` does (on real data: the texture model with its "
             "high-pass input, 64 px crops of a 256 px cache, 5x5 grid at test, resample, compiled training step; since "
             "the ninth session also the whole picture's palette and the last epoch's weights; since the seventeenth "
             "the picture model beside the crops, and since the nineteenth its texture descriptors)", []),
    "texture-s16": ("the default of the sixteenth session: as auto without the picture model (--picture-stats off)",
                    ["--model", "texture", "--size", "0", "--picture-stats", "off"]),
    "texture-auto": ("the texture model as auto picks it for real data (--model texture --size 0), with the picture "
                     "model", ["--model", "texture", "--size", "0"]),
    "resnet-picture": ("resnet, whole image downscaled to SIZE px, with the picture model (--picture-stats on)",
                       ["--model", "resnet", "--picture-stats", "on"]),
    "texture-eager": ("as texture-eighth, not compiled (--compile off; auto compiles the texture model's training "
                      "step since the eighth session)", ["--model", "texture", "--size", "0", "--compile", "off",
                                              "--no-global-view", "--keep", "best", "--picture-stats", "off"]),
    "texture-no-peaks": ("as texture-eighth without the colour peaks (--no-colour-peaks; auto had them while they "
                         "were the default)",
                         ["--model", "texture", "--size", "0", "--no-colour-peaks",  # --size 0: auto's
                          "--no-global-view", "--keep", "best", "--picture-stats", "off"]),
    "texture-peaks": ("as texture-eighth with the colour peaks (--colour-peaks)",
                      ["--model", "texture", "--size", "0", "--colour-peaks", "--no-global-view", "--keep", "best",
                       "--picture-stats", "off"]),
    "texture-gv": ("as auto since the ninth session: the whole picture's palette beside each crop (--global-view), "
                   "the last epoch's weights (--keep last)",
                   ["--model", "texture", "--size", "0", "--global-view", "--keep", "last", "--picture-stats", "off"]),
    "texture-eighth": ("the default of the eighth session: crops alone (--no-global-view), the best validation epoch "
                       "(--keep best)", ["--model", "texture", "--size", "0", "--no-global-view", "--keep", "best",
                                         "--picture-stats", "off"]),
    "inclass": ("course baseline, whole image downscaled to SIZE px", ["--model", "inclass"]),
    "default": ("resnet, whole image downscaled to SIZE px (the default before the texture model)",
                ["--model", "resnet"]),
    "texture-net": ("texture model (multi-scale mean/std pooling), SIZE px crops of a CACHE px cache, 3x3 grid at "
                    "test", ["--model", "texture", "--cache-size", "CACHE", "--no-colour-peaks", "--no-global-view",
                             "--keep", "best", "--picture-stats", "off"]),
    "texture-net-small": ("texture model, SIZE/2 px crops of a CACHE px cache, 5x5 grid at test",
                          ["--model", "texture", "--cache-size", "CACHE", "--size", "HALF", "--tta", "5",
                           "--no-colour-peaks", "--no-global-view", "--keep", "best", "--picture-stats", "off"]),
    "texture-rgb": ("as texture-net-small without the high-pass input (--no-highpass): the default before it",
                    ["--model", "texture", "--cache-size", "CACHE", "--size", "HALF", "--tta", "5", "--no-highpass",
                     "--no-colour-peaks", "--no-global-view", "--keep", "best", "--picture-stats", "off"]),
    "texture-net-jitter": ("as texture-net, crops with 1.25x scale jitter (resampled)",
                           ["--model", "texture", "--cache-size", "CACHE", "--crop-jitter", "1.25",
                            "--no-colour-peaks", "--no-global-view", "--keep", "best", "--picture-stats", "off"]),
    "texture": ("resnet, SIZE px crops of a CACHE px cache, 3x3 crop grid at test",
                ["--model", "resnet", "--cache-size", "CACHE"]),
    "texture-gem": ("as texture, generalised-mean pooling", ["--model", "resnet", "--cache-size", "CACHE", "--pool",
                                                             "gem"]),
    "texture-cov": ("as texture, second-order (covariance) pooling", ["--model", "resnet", "--cache-size", "CACHE",
                                                                      "--pool", "cov"]),
    "texture-small": ("resnet, SIZE/2 px crops of a CACHE px cache, 5x5 crop grid at test",
                      ["--model", "resnet", "--cache-size", "CACHE", "--size", "HALF", "--tta", "5"]),
    "texture-small-gem": ("as texture-small, generalised-mean pooling",
                          ["--model", "resnet", "--cache-size", "CACHE", "--size", "HALF", "--tta", "5", "--pool", "gem"]),
}


def config(name: str, size: int, cache: int) -> tuple[str, list[str]]:
    """The description and flags of ``name`` with SIZE and CACHE filled in."""
    what, flags = CONFIGS[name]
    if not flags:  # the defaults as a user gets them: not even --size
        return what, []
    fill = {"SIZE": str(size), "CACHE": str(cache), "HALF": str(size // 2)}
    flags = [fill.get(f, f) for f in flags]
    what = what.replace("SIZE/2", str(size // 2)).replace("SIZE", str(size)).replace("CACHE", str(cache))
    return what, (flags if "--size" in flags else ["--size", str(size), *flags])


def run_one(data: str, name: str, flags: list[str], budget: float, epochs: int, seed: int, out: Path,
            threads: int) -> dict:
    """Train one configuration in a fresh process; return its test metrics and wall time."""
    cmd = [sys.executable, "-m", "artstyle", "--threads", str(threads), "classify", "train", "--data", data,
           *flags, "--epochs", str(epochs), "--time-budget", str(budget), "--seed", str(seed), "--no-progress",
           "--workers", "1", "--out", str(out)]
    t0 = time.perf_counter()
    # each run compiles from cold, as on a fresh machine (inductor's kernel cache would otherwise carry over)
    with tempfile.TemporaryDirectory(prefix="inductor-") as kernels:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": kernels})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"error: {name} failed ({shlex.join(cmd)}):\n{proc.stderr[-2000:]}")
    m = json.loads((out / "metrics.json").read_text())
    return {"config": name, "seed": seed, "balanced_accuracy": m["balanced_accuracy"], "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"], "tail_recall": m["groups"]["tail"]["mean_recall"],
            "epochs": m["training"]["epochs_run"], "stopped": m["training"].get("stopped", ""), "wall_s": wall,
            "synthetic": m["data"]["synthetic"],
            "crops_alone": m.get("picture_head", {}).get("crops_alone", {}).get("balanced_accuracy")}


def table(rows: list[dict], size: int, cache: int) -> str:
    """Mean over seeds per configuration, as a Markdown table."""
    import numpy as np

    lines = ["| config | what the network sees | seeds | balanced acc. | accuracy | macro-F1 | tail recall | "
             "crops alone | epochs | wall s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in dict.fromkeys(r["config"] for r in rows):
        rs = [r for r in rows if r["config"] == name]

        def pct(key: str) -> str:
            if any(r.get(key) is None for r in rs):  # crops alone: a run without the picture model
                return "-"
            v = np.array([r[key] for r in rs]) * 100
            return f"{v.mean():.1f}" + (f" ± {v.std():.1f}" if len(v) > 1 else "")

        lines.append(f"| {name} | {config(name, size, cache)[0]} | {len(rs)} | {pct('balanced_accuracy')} | {pct('accuracy')} | "
                     f"{pct('macro_f1')} | {pct('tail_recall')} | {pct('crops_alone')} | "
                     f"{np.mean([r['epochs'] for r in rs]):.0f} | "
                     f"{np.mean([r['wall_s'] for r in rs]):.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".cache/real_styles_v2", help="dataset (default: the real-photo benchmark)")
    ap.add_argument("--configs", default="inclass,default,texture-net",
                    help=f"comma-separated, from: {', '.join(CONFIGS)}")
    ap.add_argument("--size", type=int, default=128, help="network input in px, the same for every config")
    ap.add_argument("--cache-size", type=int, default=256, help="cache side of the crop configs, px")
    ap.add_argument("--budget", type=float, default=240, help="--time-budget of every run, seconds")
    ap.add_argument("--epochs", type=int, default=60, help="epochs (the budget usually stops runs first)")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per configuration")
    ap.add_argument("--first-seed", type=int, default=0, help="the first seed (then --first-seed + 1, ...)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per run")
    ap.add_argument("--extra", default="", help="flags added to every run, e.g. '--batch-size 32 --width 16'")
    ap.add_argument("--section", default="", help="name of the docs/results.md block (default: texture-real or "
                                                  "texture-builtin)")
    ap.add_argument("--doc", action="store_true", help="write the table into docs/results.md")
    ap.add_argument("--keep-runs", default="", help="keep every run directory under this folder (default: a temporary "
                                                    "folder, deleted at the end)")
    args = ap.parse_args()
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise SystemExit(f"error: --configs {', '.join(unknown)}: unknown; choose from {', '.join(CONFIGS)}")
    rows, load = [], os.getloadavg()[0]  # the machine is often shared: say how busy it was
    with tempfile.TemporaryDirectory(prefix="texture-") as tmp:
        where = Path(args.keep_runs or tmp)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for name in names:
                flags = config(name, args.size, args.cache_size)[1] + shlex.split(args.extra)
                rows.append(run_one(args.data, name, flags, args.budget, args.epochs, seed, where / f"{name}-{seed}",
                                    args.threads))
                print(json.dumps(rows[-1]), flush=True)
    body = table(rows, args.size, args.cache_size)
    print(body)
    if args.doc:
        argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
        kind = "SYNTHETIC built-in data" if rows[0]["synthetic"] else "real images"
        slug = args.section or "texture-" + ("builtin" if rows[0]["synthetic"] else "real")
        seeds = f"{args.seeds} seed{'s' if args.seeds > 1 else ''}"
        update_section(slug, f"### Whole images or native-scale crops: {args.data} ({kind}), {args.budget:g} s, {seeds}\n\n"
                             f"Produced by: `python benchmarks/texture_compare.py {argv}`\n\n"
                             f"Every run: `--time-budget {args.budget:g}` s wall-clock (cache build included), "
                             f"`--epochs {args.epochs}{' ' + args.extra if args.extra else ''}`" + f" (each model's `--imbalance auto`: resample for texture, crt for the others, unless the flags say otherwise); {machine()}; load average {load:.1f} at the start.\n\n{body}\n",
                       doc=RESULTS)


if __name__ == "__main__":
    main()
