"""A learning curve by photographs: the real-image benchmark with only a seeded share of its training photographs.

    python benchmarks/photo_subset.py .cache/real_styles_v2 .cache/rs_half --fraction 0.5 --seed 0
    artstyle classify train --data .cache/rs_half ...                     # then train on it as on the whole
    python benchmarks/photo_subset.py .cache/real_styles_v2 .cache/rs_val6 --fraction 1 --val-photos 6

Reads SRC/benchmark.json (written by ``benchmarks/real_styles.py``), keeps a seeded ``--fraction`` of the training
split's photographs, and writes OUT/train/<Style>/ with the tiles cut from those photographs and OUT/test/<Style>/
with every test tile, unchanged, so that scores stay comparable with the whole benchmark's. The tiles are symbolic
links into SRC (nothing is copied or re-rendered). OUT/subset.json names the photographs kept and the counts.

``--val-photos N`` moves every tile of N seeded photographs among those kept into OUT/val/<Style>/. artstyle then
validates on photographs it does not train on (with no val/ folder it carves validation tiles from train/, which
share photographs with the training tiles).
docs/results.md, section 7 (tenth session), used it: half the photographs cost 2 to 5 points.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path


def pick_photos(photos: list[str], count: int, seed: int) -> set[str]:
    """``count`` seeded ``photos``, independent of their listed order."""
    ordered = sorted(photos)
    random.Random(seed).shuffle(ordered)
    return set(ordered[:count])


def keep_photos(photos: list[str], fraction: float, seed: int) -> set[str]:
    """A seeded ``fraction`` of ``photos`` (at least one), independent of their listed order."""
    return pick_photos(photos, max(1, int(fraction * len(photos))), seed)


def write_subset(src: Path, out: Path, fraction: float, seed: int, val_photos: int = 0) -> dict:
    """Link the kept training tiles and every test tile of ``src`` under ``out``, the tiles of ``val_photos`` of
    the kept photographs under ``out/val``; returns what subset.json holds."""
    meta = json.loads((src / "benchmark.json").read_text())
    kept = keep_photos([p["id"] for p in meta["photos"]["train"]], fraction, seed)
    if not 0 <= val_photos < len(kept):
        raise ValueError(f"--val-photos {val_photos} must leave training photographs: {len(kept)} are kept")
    val = pick_photos(sorted(kept), val_photos, seed + 1)
    counts: dict[str, dict[str, int]] = {"train": {}, "val": {}, "test": {}}
    for image in meta["images"]:
        split, style, name = image["file"].split("/")
        if split == "train" and image["photo"] not in kept:
            continue
        if split == "train" and image["photo"] in val:
            split = "val"
        folder = out / split / style
        folder.mkdir(parents=True, exist_ok=True)
        os.symlink((src / image["file"]).resolve(), folder / name)
        counts[split][style] = counts[split].get(style, 0) + 1
    record = {"source": str(src), "fraction": fraction, "seed": seed, "train_photos": sorted(kept - val),
              "val_photos": sorted(val), "of_train_photos": len(meta["photos"]["train"]), "counts": counts}
    (out / "subset.json").write_text(json.dumps(record, indent=1))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="a benchmark folder written by benchmarks/real_styles.py")
    parser.add_argument("out", type=Path, help="a new folder for the subset (refused if it exists)")
    parser.add_argument("--fraction", type=float, default=0.5, help="share of the training photographs kept")
    parser.add_argument("--seed", type=int, default=0, help="which photographs (the same seed, the same ones)")
    parser.add_argument("--val-photos", type=int, default=0,
                        help="this many of the kept photographs become a val/ folder (default 0: none)")
    args = parser.parse_args()
    if not (args.src / "benchmark.json").is_file():
        sys.exit(f"error: {args.src}/benchmark.json not found; build the benchmark first: "
                 f"python benchmarks/real_styles.py {args.src}")
    if args.out.exists():
        sys.exit(f"error: {args.out} exists; remove it or give another folder")
    if not 0 < args.fraction <= 1:
        sys.exit(f"error: --fraction {args.fraction} is not in (0, 1]")
    try:
        record = write_subset(args.src, args.out, args.fraction, args.seed, args.val_photos)
    except ValueError as exc:  # raised before anything is written
        sys.exit(f"error: {exc}")
    tiles = sum(record["counts"]["train"].values())
    val = f", {len(record['val_photos'])} validation photographs ({sum(record['counts']['val'].values())} tiles)"
    print(f"{args.out}: {len(record['train_photos'])} of {record['of_train_photos']} training photographs, "
          f"{tiles} training tiles{val if args.val_photos else ''}, "
          f"{sum(record['counts']['test'].values())} test tiles (all of them)")


if __name__ == "__main__":
    main()
