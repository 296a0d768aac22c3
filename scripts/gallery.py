"""Copy a few figures of finished runs into docs/gallery/ as compact PNGs for the README and docs/results.md.

Usage: ``python scripts/gallery.py runs/results/pipeline-full [--strategies runs/results/strategies]
[--only stylize.png]``

The pipeline gives every picture but one; ``--strategies`` (a ``classify compare`` run) gives strategies.png.
docs/gallery/sources.md records, for each picture written, the run it came from and when: nothing in the
gallery is copied by hand.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PIL import Image

GALLERY = Path(__file__).resolve().parents[1] / "docs" / "gallery"
PICKS = {
    "samples.png": "stages/stats/figures/samples.png",
    "confusion.png": "stages/classify/figures/confusion.png",
    "reconstructions.png": "stages/embed/figures/pca_vs_ae.png",
    "map_umap.png": "stages/cluster/ae/figures/map_umap.png",
    "clusters.png": "stages/cluster/compare/figures/comparison.png",
    "stylize.png": "stages/stylize/figures/evaluation_grid.png",
}
STRATEGIES = {"strategies.png": "figures/comparison.png"}


def compact(src: Path, dst: Path, width: int) -> None:
    """``src`` resized to at most ``width`` px wide and quantised to 192 colours, written to ``dst``."""
    im = Image.open(src).convert("RGB")
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.quantize(colors=192, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)


def copy_picks(run: Path, picks: dict[str, str], out: Path, width: int) -> dict[str, Path]:
    """Write every pick found in ``run`` into ``out``; return {picture: its source}."""
    done = {}
    for name, pattern in picks.items():
        found = sorted(run.glob(pattern))
        if not found:
            print(f"skipped {name}: no {pattern} in {run}")
            continue
        compact(found[-1], out / name, 480 if name == "samples.png" else width)  # 27 rows: 480 px wide is enough
        print(f"{out / name}: {(out / name).stat().st_size / 1024:.0f} KiB")
        done[name] = found[-1]
    return done


def record_sources(out: Path, done: dict[str, Path], command: str) -> None:
    """Update docs/gallery/sources.md: one row per picture, its source run and the date it was copied."""
    table = out / "sources.md"
    rows = {}
    if table.exists():
        for line in table.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("| `") and len(cells) == 4:
                rows[cells[0].strip("`")] = cells
    today = time.strftime("%Y-%m-%d")
    for name, src in done.items():
        rows[name] = [f"`{name}`", f"`{src}`", today, f"`{command}`"]
    body = "\n".join("| " + " | ".join(r) + " |" for _, r in sorted(rows.items()))
    table.write_text("# Where the gallery's pictures come from\n\nWritten by `scripts/gallery.py`; do not edit.\n\n"
                     "| picture | copied from | on | by |\n|---|---|---|---|\n" + body + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pipeline", type=Path, nargs="?", help="a finished `artstyle run` directory")
    ap.add_argument("--strategies", type=Path, help="a finished `artstyle classify compare` run (strategies.png)")
    ap.add_argument("--out", type=Path, default=GALLERY, help="the gallery folder (default docs/gallery)")
    ap.add_argument("--width", type=int, default=1400, help="the widest a picture may be, in pixels")
    ap.add_argument("--only", action="append", choices=sorted(PICKS), metavar="PICTURE",
                    help=f"copy only this picture of the pipeline (repeatable; one of {', '.join(sorted(PICKS))}), "
                    "e.g. the stylizer's grid from a newer run while the other pictures stay those of the run the "
                    "results quote")
    args = ap.parse_args(argv)
    if not args.pipeline and not args.strategies:
        ap.error("give a pipeline directory, --strategies RUN, or both")
    picks = {k: v for k, v in PICKS.items() if not args.only or k in args.only}
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python scripts/gallery.py" + (f" {args.pipeline}" if args.pipeline else "") + (
        f" --strategies {args.strategies}" if args.strategies else "") + "".join(
        f" --only {name}" for name in args.only or [])
    done = copy_picks(args.pipeline, picks, args.out, args.width) if args.pipeline else {}
    if args.strategies:
        done |= copy_picks(args.strategies, STRATEGIES, args.out, args.width)
    record_sources(args.out, done, command)


if __name__ == "__main__":
    main()
