"""Does the stylizer's 4 px grid artefact come from its initialisation? ICNR on and off at equal steps.

Usage::

    python benchmarks/stylize_grid_pattern.py --classifier CLASSIFY_RUN [--data .cache/real_styles_v2] [--size 256]
        [--crop-size 128] [--steps 60] [--threads 2] [--doc]

Trains two version-3 stylizers for the same ``--steps`` optimiser steps (one epoch, seed 0, the same data and loss
classifier), one with the ICNR initialisation of its two pixel shuffles (``models.stylizer.icnr_``, the default)
and one with independent sub-pixel kernels (as before), then re-renders scikit-image's astronaut, coffee and cat
in every style and measures the share of the change (output minus input) that is a fixed pattern of the shuffles'
periods (4 and 8 px): per colour channel, the spread of the position means of the 4 x 4 (8 x 8) cells over the
spread of the change (0 = no such pattern). ``--doc`` writes docs/results.md's ``stylize-grid-pattern`` block.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results.md"


def grid_share(inputs: np.ndarray, outputs: np.ndarray, period: int = 4) -> float:
    """Mean over images and channels of std(position means of ``period`` x ``period`` cells) / std(change)."""
    shares = []
    for x, y in zip(inputs, outputs):
        h, w = (s // period * period for s in x.shape[:2])
        d = y[:h, :w].astype(np.float64) - x[:h, :w].astype(np.float64)
        cells = d.reshape(h // period, period, w // period, period, 3).mean((0, 2)).reshape(-1, 3)
        shares.append(cells.std(0) / np.maximum(d.reshape(-1, 3).std(0), 1e-9))
    return float(np.mean(shares))


def train(args, out: Path, icnr: bool) -> Path:
    import artstyle.models.stylizer as net
    from artstyle.stylize import StylizeConfig, train_stylizer

    keep = net.icnr_
    if not icnr:
        net.icnr_ = lambda weight, scale: weight  # the initialisation before ICNR
    try:
        return train_stylizer(StylizeConfig(data=args.data, size=args.size, crop_size=args.crop_size, epochs=1,
                                            max_steps_per_epoch=args.steps, batch_size=args.batch_size,
                                            classifier=args.classifier, progress=False, out=str(out), overwrite=True))
    finally:
        net.icnr_ = keep


def measure(run: Path) -> tuple[float, float, int]:
    from skimage import data

    from artstyle.api.stylizer import Stylizer

    model = Stylizer(run)
    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    ins, outs = [], []
    for photo in photos:
        result = model.render(photo, "all")
        for image in result["renders"]:
            ins.append(result["image"])  # the decoded input at the training size, as the renders
            outs.append(image)
    return grid_share(ins, outs, 4), grid_share(ins, outs, 8), len(outs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--classifier", required=True, help="the frozen loss classifier (a classify run)")
    ap.add_argument("--data", default=".cache/real_styles_v2")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--crop-size", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--doc", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="grid-pattern-") as tmp:
        for icnr in (False, True):
            run = train(args, Path(tmp) / ("icnr" if icnr else "plain"), icnr)
            share4, share8, n = measure(run)
            rows.append(f"| {'ICNR (the default now)' if icnr else 'independent sub-pixel kernels (before)'} | "
                        f"{args.steps} | {share4:.3f} | {share8:.3f} | {n} |")
            print(rows[-1], flush=True)
    body = "\n".join([
        "#### The 4 px grid pattern: ICNR against independent sub-pixel kernels", "",
        f"Produced by: `python benchmarks/stylize_grid_pattern.py {shlex.join(sys.argv[1:])}` ({machine()})", "",
        "Share of the change that is a fixed pattern of the last shuffle's 4 px period or of the 8 px period of the "
        "one before (0 = none): per channel, the spread of the position means of the 4 x 4 (8 x 8) cells over the "
        "spread of the change, averaged over scikit-image's astronaut, coffee "
        "and cat in every style.", "",
        "| pixel shuffles initialised with | steps | 4 px pattern share | 8 px pattern share | renderings |",
        "|---|---:|---:|---:|---:|",
        *rows])
    print(body)
    if args.doc:
        update_section("stylize-grid-pattern", body, doc=RESULTS)


if __name__ == "__main__":
    main()
