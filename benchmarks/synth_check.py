"""Check the built-in synthetic dataset: how fast it paints, and that colour alone cannot tell the styles apart.

Usage::

    python benchmarks/synth_check.py                       # scale 1, 128 px, all cores, temp dir
    python benchmarks/synth_check.py --scale 0.3 --workers 2 --keep /tmp/builtin

(a) Times ``write_builtin`` into a fresh folder and reports seconds and images/s.
(b) Fits a logistic regression on normalised 8x8x8 RGB colour histograms of the train split and reports
    balanced accuracy and accuracy on the test split, next to the majority-class baseline. The painters
    are designed so this stays well below 50% balanced accuracy: styles differ in texture and structure,
    not in palette.

Prints a small markdown table, with the exact command line, for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402


def colour_histogram(path: Path, bins: int = 8) -> np.ndarray:
    """Normalised bins^3 RGB histogram of one image."""
    img = np.asarray(Image.open(path).convert("RGB"))
    q = (img.astype(np.int32) * bins) // 256
    idx = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    return np.bincount(idx.ravel(), minlength=bins ** 3) / idx.size


def load_split(root: Path, split: str, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    feats, labels = [], []
    for ci, name in enumerate(names):
        for f in sorted((root / split / name).glob("*.jpg")):
            feats.append(colour_histogram(f))
            labels.append(ci)
    return np.asarray(feats), np.asarray(labels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None, help="default: os.cpu_count()")
    ap.add_argument("--keep", type=Path, default=None, help="write the dataset here instead of a temp dir")
    args = ap.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.preprocessing import StandardScaler

    from artstyle.data.synth import class_counts, write_builtin
    from artstyle.styles import STYLE_NAMES

    counts = class_counts(args.scale)
    n_images = sum(sum(c.values()) for c in counts.values())
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="artstyle-synth-") as tmp:
        root = args.keep or Path(tmp) / "builtin"
        t0 = time.perf_counter()
        write_builtin(root, scale=args.scale, size=args.size, seed=args.seed, workers=workers, progress=False)
        paint_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        x_train, y_train = load_split(root, "train", STYLE_NAMES)
        x_test, y_test = load_split(root, "test", STYLE_NAMES)
        scaler = StandardScaler().fit(x_train)
        clf = LogisticRegression(max_iter=1000).fit(scaler.transform(x_train), y_train)
        pred = clf.predict(scaler.transform(x_test))
        fit_s = time.perf_counter() - t0

    majority = np.bincount(y_train).argmax()
    base = np.full_like(y_test, majority)
    rows = [
        ("colour-histogram logistic regression", balanced_accuracy_score(y_test, pred), accuracy_score(y_test, pred)),
        (f"majority class ({STYLE_NAMES[majority]})", balanced_accuracy_score(y_test, base),
         accuracy_score(y_test, base)),
    ]
    cmd = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    lines = [
        "## The built-in dataset", "",
        f"Produced by: `{cmd}` ({machine()}; {workers} workers; scale {args.scale:g}, {args.size} px, seed {args.seed}).",
        "", "Painting speed (target: scale 1 at 128 px in at most 2 minutes on 2 cores):", "",
        "| write_builtin | images | seconds | images/s |", "|---|---:|---:|---:|",
        f"| {len(x_train)} train + {len(x_test)} test | {n_images} | {paint_s:.1f} | {n_images / paint_s:.0f} |", "",
        "Colour alone must not give the styles away (target: a colour-histogram classifier below 50% balanced "
        "accuracy). Logistic regression on normalised 8x8x8 RGB histograms:", "",
        f"| test split ({len(y_test)} images, 27 styles) | balanced accuracy | accuracy |", "|---|---:|---:|",
        *(f"| {name} | {bal:.1%} | {acc:.1%} |" for name, bal, acc in rows),
        "", f"(histogram features + fit: {fit_s:.0f} s)",
    ]
    body = "\n".join(lines)
    print(body)
    update_section("synth", body)

if __name__ == "__main__":
    main()
