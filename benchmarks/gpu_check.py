"""One GPU check of artstyle: each training and inference path on an accelerator, as one table.

Usage (repository root, on a CUDA machine with the package installed; `benchmarks/gpu_check.sh` wraps it)::

    python benchmarks/gpu_check.py                      # full built-in dataset, 128 px, a few epochs each
    python benchmarks/gpu_check.py --doc                # also write the table into docs/benchmarks.md
    python benchmarks/gpu_check.py --allow-cpu --scale 0.02 --epochs 1   # a CPU smoke run of the script itself

Rows (each a separate `artstyle` command, so a failure in one does not hide the others):
- the cache build of the built-in dataset (images/s);
- the classifier at 128 px for `--epochs` epochs, fp32 and bf16 (training images/s of the last epoch);
- evaluation of the bf16 classifier on the test split (images/s, wall clock including the model load);
- the stylizer for one epoch (images/s);
- LoRA on the tiny random Stable Diffusion of tests/tiny_sd.py, fp16 and bf16, with and without
  `--cache-latents` (seconds per optimiser step);
- `accelerate launch` with 2 processes, where 2 GPUs exist.

Designed to finish in under 8 minutes on one recent GPU. Exits non-zero when any row failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def sh(cmd: list[str], log: Path, timeout: float) -> tuple[bool, float]:
    """Run ``cmd``, appending its output to ``log``; return (ok, wall seconds)."""
    start = time.perf_counter()
    with log.open("a") as fh:
        fh.write("\n$ " + " ".join(cmd) + "\n")
        fh.flush()
        try:
            ok = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, cwd=ROOT).returncode == 0
        except subprocess.TimeoutExpired:
            fh.write(f"TIMEOUT after {timeout:.0f} s\n")
            ok = False
    return ok, time.perf_counter() - start


def last_record(run: Path, key: str) -> float | None:
    """The last value of ``key`` in a run's metrics.jsonl (None when absent)."""
    path = run / "metrics.jsonl"
    if not path.exists():
        return None
    values = [r[key] for r in map(json.loads, path.read_text().splitlines()) if key in r]
    return float(values[-1]) if values else None


def steady_step_seconds(run: Path) -> float | None:
    """Seconds per optimiser step between the first and the last metrics.jsonl line (start-up excluded)."""
    path = run / "metrics.jsonl"
    rows = [r for r in map(json.loads, path.read_text().splitlines()) if "seconds" in r] if path.exists() else []
    if len(rows) < 2 or rows[-1]["step"] == rows[0]["step"]:
        return None
    return (rows[-1]["seconds"] - rows[0]["seconds"]) / (rows[-1]["step"] - rows[0]["step"])


class Check:
    """Collects the table's rows; each row runs one command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.work, self.rows, self.failed = args, Path(args.work), [], 0
        self.art = [sys.executable, "-m", "artstyle.cli"]
        self.data = "builtin" if args.scale >= 1 else f"builtin:{args.scale}"
        self.log = self.work / "gpu_check.log"

    def row(self, name: str, setting: str, ok: bool, value: str, wall: float) -> None:
        self.failed += not ok
        self.rows.append((name, setting, value if ok else f"FAIL (see {self.log})", f"{wall:.0f}"))
        print(f"{'OK  ' if ok else 'FAIL'} {name} [{setting}]: {value} ({wall:.0f} s)", flush=True)

    def run(self, cmd: list[str], timeout: float = 240) -> tuple[bool, float]:
        return sh(cmd, self.log, timeout * self.args.timeout_scale)

    def classify(self, precision: str) -> Path:
        out = self.work / f"classify-{precision}"
        ok, wall = self.run(self.art + [
            "classify", "train", "--data", self.data, "--size", "128", "--epochs", str(self.args.epochs),
            "--precision", precision, "--batch-size", "256", "--workers", str(self.args.workers), "--tta", "1",
            "--no-progress", "--out", str(out), "--overwrite"])
        rate = last_record(out, "images_per_s")
        self.row("classifier training", f"{precision}, 128 px, {self.args.epochs} epochs", ok and rate is not None,
                 f"{rate or 0:,.0f} img/s", wall)
        return out

    def evaluate(self, run: Path) -> None:
        out = self.work / "evaluate"
        ok, wall = self.run(self.art + ["classify", "evaluate", str(run), "--data", self.data, "--tta", "1",
                                        "--out", str(out), "--overwrite"])
        n = 0
        if ok and (out / "metrics.json").exists():
            report = json.loads((out / "metrics.json").read_text())
            n = sum(g["n"] for g in report.get("groups", {}).values())
        self.row("evaluation", "test split, 1 crop", ok and n > 0, f"{n / max(wall, 1e-9):,.0f} img/s ({n} images)",
                 wall)

    def stylize(self, precision: str) -> None:
        out = self.work / "stylize"
        ok, wall = self.run(self.art + [
            "stylize", "train", "--data", self.data, "--size", "128", "--epochs", "1", "--precision", precision,
            "--workers", str(self.args.workers), "--classifier-epochs", "1", "--judge", "", "--no-progress",
            "--out", str(out), "--overwrite"], timeout=300)
        rate = last_record(out, "images_per_s")
        self.row("stylizer training", f"{precision}, 128 px, 1 epoch", ok and rate is not None, f"{rate or 0:,.0f} img/s",
                 wall)

    def lora(self, tiny: Path, paintings: Path, precision: str, cache: bool) -> None:
        out = self.work / f"lora-{precision}-{'cache' if cache else 'nocache'}"
        steps = self.args.lora_steps
        ok, wall = self.run(self.art + [
            "lora", "train", "--pretrained", str(tiny), "--data", str(paintings), "--out", str(out), "--overwrite",
            "--precision", precision, "--max-steps", str(steps), "--resolution", "64", "--batch-size", "4",
            "--validate-every", "0", "--checkpoint-every", "0", "--log-every", "1", "--no-progress", "--workers", "2",
            "--cache-latents", "on" if cache else "off"])
        loss, step_s = last_record(out, "loss"), steady_step_seconds(out)
        finite = loss is not None and loss == loss and abs(loss) != float("inf")
        self.row("LoRA, tiny model", f"{precision}, {'cached latents' if cache else 'VAE every step'}",
                 ok and finite and step_s is not None, f"{(step_s or 0) * 1000:,.0f} ms/step, loss {loss or 0:.4f}",
                 wall)

    def multi_gpu(self, gpus: int) -> None:
        if gpus < 2:
            self.rows.append(("accelerate launch, 2 processes", "", f"skipped: {gpus} GPU(s) visible", "0"))
            print("skip accelerate launch: fewer than 2 GPUs", flush=True)
            return
        out = self.work / "classify-ddp"
        ok, wall = self.run([sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2",
                             "--mixed_precision", "bf16", "-m", "artstyle.cli", "classify", "train", "--data",
                             self.data, "--size", "128", "--epochs", str(self.args.epochs), "--precision", "bf16",
                             "--batch-size", "256", "--tta", "1", "--no-progress", "--out", str(out), "--overwrite"])
        rate = last_record(out, "images_per_s")
        self.row("accelerate launch, 2 processes", "classifier, bf16", ok and rate is not None,
                 f"{rate or 0:,.0f} img/s (both processes)", wall)


def tiny_lora_inputs(check: Check) -> tuple[Path, Path]:
    """The tiny random pipeline and a few small paintings in the image-folder layout."""
    import numpy as np
    from PIL import Image

    tiny, paintings = check.work / "tiny-sd", check.work / "paintings"
    check.run([sys.executable, "tests/tiny_sd.py", str(tiny)])
    rng = np.random.default_rng(0)
    for ci, style in enumerate(["Baroque", "Pop_Art", "Ukiyo_e"]):
        for split, n in (("train", 8), ("test", 2)):
            for i in range(n):
                arr = np.clip(np.array([ci * 90, 255 - ci * 90, 60]) + rng.integers(-40, 40, (80, 80, 3)), 0, 255)
                path = paintings / split / style / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(arr.astype(np.uint8)).save(path)
    return tiny, paintings


def table(check: Check, device: str, total: float) -> str:
    from _report import machine

    lines = ["## GPU check", "",
             f"Produced by: `bash benchmarks/gpu_check.sh` ({machine()}; device: {device}; "
             f"data {check.data}, total {total:.0f} s).", "",
             "| check | setting | result | wall s |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in check.rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/artstyle-gpu-check", help="Scratch folder (emptied first).")
    parser.add_argument("--scale", type=float, default=1.0, help="Built-in dataset scale (1 = all 13,980 images).")
    parser.add_argument("--epochs", type=int, default=3, help="Classifier epochs per precision.")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="DataLoader workers.")
    parser.add_argument("--lora-steps", type=int, default=20, help="Optimiser steps per LoRA row.")
    parser.add_argument("--allow-cpu", action="store_true", help="Run without a GPU (to test this script).")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="Multiply every row's time limit (240-300 s on a GPU); e.g. 5 for a CPU smoke run.")
    parser.add_argument("--doc", action="store_true", help="Write the table into docs/benchmarks.md.")
    args = parser.parse_args()

    import shutil

    import torch

    gpus = torch.cuda.device_count()
    if not gpus and not args.allow_cpu:
        print("FAIL: no CUDA GPU visible to torch (pass --allow-cpu to smoke-test this script on the CPU)")
        return 1
    device = torch.cuda.get_device_name(0) if gpus else "CPU (smoke run, not a GPU result)"
    print(f"device: {device}, {gpus} GPU(s)", flush=True)
    shutil.rmtree(args.work, ignore_errors=True)
    Path(args.work).mkdir(parents=True)
    os.environ.update(HF_HUB_OFFLINE="1", ARTSTYLE_CACHE=f"{args.work}/cache", ARTSTYLE_RUNS=f"{args.work}/runs")
    check, start = Check(args), time.perf_counter()

    ok, wall = check.run(check.art + ["data", "prepare", "--data", check.data, "--size", "128"], timeout=300)
    found = [line for line in Path(check.log).read_text().splitlines() if line.startswith("found ")]
    n = int(found[-1].split()[1]) if found else 0
    check.row("cache build", f"{check.data}, 128 px, all cores", ok and n > 0,
              f"{n / max(wall, 1e-9):,.0f} img/s ({n:,} images, painting included)", wall)
    # a CPU smoke run stays in fp32: bf16 is emulated (and very slow) on most CPUs
    low = "bf16" if gpus else "fp32"
    run = check.classify(low)
    if gpus:
        check.classify("fp32")
    check.evaluate(run)
    check.stylize(low)
    tiny, paintings = tiny_lora_inputs(check)
    for precision in ("fp16", "bf16") if gpus else ("fp32",):
        for cache in (False, True):
            check.lora(tiny, paintings, precision, cache)
    check.multi_gpu(gpus)
    text = table(check, device, time.perf_counter() - start)
    print("\n" + text)
    if args.doc:
        from _report import update_section

        update_section("gpu_check", text)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
