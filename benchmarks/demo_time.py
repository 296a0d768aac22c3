"""Time what `make demo` runs (`artstyle run --profile demo`) into a fresh runs folder; write its doc sections.

Writes docs/benchmarks.md's ``demo`` block and the README's one-line ``demo-summary`` block.

Usage: ``python benchmarks/demo_time.py [--runs runs/demo-time] [--fresh-cache]``

The pipeline goes to ``<runs>/<timestamp>/pipeline`` with ``ARTSTYLE_RUNS=<runs>/<timestamp>``, so nothing
from an earlier run is reused. ``--fresh-cache`` also points ``ARTSTYLE_CACHE`` at an empty folder, so the
built-in dataset is painted too, as on a fresh clone. The pipeline directory is kept (its report.md
and figures can be looked at, or fed to ``python scripts/results_doc.py <pipeline> --doc <a copy>``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTSTYLE = Path(sys.executable).with_name("artstyle")
README = ROOT / "README.md"  # its "What `make demo` shows" quotes the wall time and memory


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def time_demo(runs: Path, fresh_cache: bool) -> dict:
    """Run the demo pipeline once; return wall seconds, peak RSS, CPU share, the pipeline dir and its stages."""
    base = runs / time.strftime("%Y%m%d-%H%M%S")
    pipeline = base / "pipeline"
    env = dict(os.environ, ARTSTYLE_RUNS=str(base))
    if fresh_cache:
        env["ARTSTYLE_CACHE"] = str(base / "cache")
    cmd = [str(ARTSTYLE), "run", "--profile", "demo", "--out", str(pipeline), "--no-progress"]
    base.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(base / "demo.log", "w") as log:
        rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        sys.exit(f"error: the demo failed (exit {rc}); see {base / 'demo.log'}")
    state = json.loads((pipeline / "pipeline.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "rss_gb": after.ru_maxrss / 1024**2, "cpu_pct": 100 * cpu / wall,
            "pipeline": pipeline, "stages": state.get("stages", {})}


def section(result: dict, command: str, fresh_cache: bool, load: float) -> str:
    wall_ok = "met" if result["wall"] <= 15 * 60 else "missed"
    rss_ok = "met" if result["rss_gb"] < 4 else "missed"
    rows = "\n".join(f"| {key} | {rec.get('status', '?')} | {duration(rec.get('seconds', 0.0))} |"
                     for key, rec in result["stages"].items())
    data = "painted from scratch (`--fresh-cache`)" if fresh_cache else "reused from the user cache if already painted"
    return f"""## `make demo`

Produced by: `{command}` ({machine()}; 1-minute load average {load:.1f} at the start; the built-in dataset
{data}). It runs `artstyle run --profile demo` (what `make demo` runs once `.venv` is installed) into a
fresh runs folder.

Target: at most 15 minutes on 2 CPU cores, and under 4 GB of memory.

| measure | value |
|---|---|
| wall time | **{duration(result['wall'])}** ({wall_ok}) |
| peak RSS (largest single process) | **{result['rss_gb']:.2f} GB** ({rss_ok}) |
| CPU use | {result['cpu_pct']:.0f}% of one core |

Time per stage, from the pipeline's `pipeline.json`:

| stage | status | time |
|---|---|---|
{rows}

Every training stage has a time budget (`time_budget` in the demo profile), so on a slower or busier machine
the demo stops training earlier instead of running over; the wall time depends on the load above."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "demo-time", help="parent of the fresh runs folder")
    ap.add_argument("--fresh-cache", action="store_true", help="paint the built-in dataset too, as on a fresh clone")
    ap.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    result = time_demo(args.runs.resolve(), args.fresh_cache)
    command = "python benchmarks/demo_time.py" + (" --fresh-cache" if args.fresh_cache else "")
    body = section(result, command, args.fresh_cache, load)
    summary = (f"Produced by: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, load "
               f"{load:.1f}): {duration(result['wall'])} wall time and {result['rss_gb']:.2f} GB peak RSS.")
    if args.no_doc:
        print(body + "\n\n" + summary)
    else:
        print(f"wrote {update_section('demo', body)} and {update_section('demo-summary', summary, doc=README)}")
    print(f"pipeline: {result['pipeline']}")


if __name__ == "__main__":
    main()
