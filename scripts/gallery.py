"""Copy a few figures of a pipeline run into docs/gallery/ as compact PNGs for the README.

Usage: ``python scripts/gallery.py runs/results/pipeline-full`` (docs/gallery/strategies.png is copied by hand
from the strategies comparison of scripts/results.sh).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

PICKS = {
    "samples.png": "stages/stats/figures/samples.png",
    "confusion.png": "stages/classify/figures/confusion.png",
    "reconstructions.png": "stages/embed/figures/pca_vs_ae.png",
    "map_umap.png": "stages/cluster/ae/figures/map_umap.png",
    "clusters.png": "stages/cluster/compare/figures/comparison.png",
    "stylize.png": "stages/stylize/figures/evaluation_grid.png",
}


def main(run: Path, out: Path = Path(__file__).resolve().parents[1] / "docs" / "gallery", width: int = 1400) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, pattern in PICKS.items():
        found = sorted(run.glob(pattern))
        if not found:
            print(f"skipped {name}: no {pattern} in {run}")
            continue
        im = Image.open(found[-1]).convert("RGB")
        w = 480 if name == "samples.png" else width  # a tall grid of 27 rows: 480 px wide is enough
        if im.width > w:
            im = im.resize((w, round(im.height * w / im.width)), Image.LANCZOS)
        im.quantize(colors=192, method=Image.Quantize.MEDIANCUT).save(out / name, optimize=True)
        print(f"{out / name}: {(out / name).stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
