"""Peak memory of evaluation passes on caches of two sizes: streaming keeps it flat, whatever the split's size.

Usage: ``python benchmarks/eval_memory.py --images 500,4000 --size 64 --doc``

Each pass runs in a fresh process over every image of a built-in cache (``builtin:<scale>`` at ``--size`` px),
and reports what it adds to that process's resident memory: the peak (``getrusage`` ``ru_maxrss``, which also
counts the pages of a memory-mapped file that stay mapped) minus the resident memory just before the pass
(after imports, the cache's index and the model). The passes: the classifier's test report (``evaluate_on_cache``), the
stylizer's Gram statistics (``style_grams`` streaming from the cache), and as a control the same statistics from
the whole split read into memory first (what ``stylize train`` did before): the control shows the measurement
sees a pass whose memory grows with the split.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, update_section  # noqa: E402

IMAGES_PER_SCALE = 14_000  # builtin:1.0 holds about this many images (train, val and test)
PASSES = {
    "classify-evaluate": "classifier test report (`evaluate_on_cache`, streamed)",
    "stylize-grams": "stylizer Gram statistics (`style_grams`, streamed)",
    "whole-split": "control: Gram statistics of the whole split read into memory at once",
}


def resident_mb() -> float:
    """This process's resident memory now (``VmRSS``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (this benchmark needs Linux)")


def child(name: str, root: str) -> None:
    """Run pass ``name`` over every image of the cache at ``root``; print its peak RSS as JSON."""
    import resource
    import time

    import numpy as np
    import torch

    from artstyle.classify import evaluate_on_cache
    from artstyle.data.cache import load_cache
    from artstyle.models.classifier import build_classifier
    from artstyle.stylize import style_grams

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cache = load_cache(root)
    k, size, rows = len(cache.classes), cache.size, cache.indices("all")
    model = build_classifier("simple-cnn" if name == "classify-evaluate" else "resnet", k, size, width=8).eval()
    before = resident_mb()
    t0 = time.perf_counter()
    if name == "classify-evaluate":
        evaluate_on_cache(model, cache.classes, cache, "all", cache.counts("train"))
    elif name == "stylize-grams":
        style_grams(model, size, cache.images, cache.labels, k, rows=rows)
    else:
        style_grams(model, size, np.asarray(cache.images[rows]), cache.labels[rows], k)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    print(json.dumps({"before_mb": before, "peak_mb": peak / 1024, "seconds": time.perf_counter() - t0}))


def measure(name: str, root: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, str(root)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default="500,4000", help="two approximate cache sizes, in images")
    ap.add_argument("--size", type=int, default=64, help="cache size in px")
    ap.add_argument("--doc", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--child", nargs=2, metavar=("PASS", "CACHE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)

    from artstyle.data.cache import prepare_cache

    caches = []
    for n in (int(s) for s in args.images.split(",")):
        spec = f"builtin:{n / IMAGES_PER_SCALE:.4g}"
        caches.append((spec, prepare_cache(spec, size=args.size, progress=False)))
    small, large = caches[0][1], caches[-1][1]
    mb = [c.size * c.size * 3 * len(c.labels) / 2**20 for _, c in caches]
    rows = [f"| pass | added by the pass, {len(small.labels):,} images | added, {len(large.labels):,} images | "
            "growth | peak RSS (large) | time (large) |", "|---|---:|---:|---:|---:|---:|"]
    for name, label in PASSES.items():
        a, b = measure(name, small.root), measure(name, large.root)
        added_a, added_b = a["peak_mb"] - a["before_mb"], b["peak_mb"] - b["before_mb"]
        rows.append(f"| {label} | {added_a:,.1f} MB | {added_b:,.1f} MB | {added_b - added_a:+,.1f} MB | "
                    f"{b['peak_mb']:,.0f} MB | {b['seconds']:.1f} s |")
    body = "\n".join(rows)
    note = (f"The pixels of the two caches take {mb[0]:,.0f} MB and {mb[-1]:,.0f} MB ({args.size} px, uint8). A pass "
            "that streams adds about the same at either size (torch's buffers; for the report also the sklearn "
            "import); the control grows by about twice the pixel bytes of the split: its copy, plus the "
            "mapped cache pages it read, which the streamed passes unmap chunk by chunk (`artstyle.inference."
            "read_rows`).")
    print(body + "\n\n" + note)
    if args.doc:
        argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
        update_section("eval-memory", "## Evaluation memory\n\n"
                                      f"Produced by: `python benchmarks/eval_memory.py {argv}` ({machine()})\n\n"
                                      "Peak resident memory of one process per pass, over every image of a "
                                      f"built-in cache (CPU, one thread):\n\n{body}\n\n{note}\n")


if __name__ == "__main__":
    main()
