"""Count a classify run's test errors on the real-image benchmark per source photograph.

Usage::

    python benchmarks/errors_by_photo.py RUN [RUN ...] [--data .cache/real_styles_v2] [--threads 1]

`benchmarks/real_styles.py` names every tile ``<split>_<number>_<photo>.jpg`` and cuts several tiles from each
photograph, so test errors that sit in a few photographs are a property of those photographs, not of a style.
Prints, per run, the errors and the tiles of every photograph that has errors (the same 5 x 5 grid as the test
report: ``artstyle classify predict --json``).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
from pathlib import Path

TILE = re.compile(r"^[a-z]+_\d+_(?P<photo>.+)\.[a-z]+$")


def photo_of(name: str) -> str:
    """The source photograph of a tile's file name or path (``train_00012_By_the_Water.jpg`` -> By_the_Water);
    a name in another form is its own photograph (its stem)."""
    match = TILE.match(Path(name).name)
    return match.group("photo") if match else Path(name).stem


def predictions(run: str, files: list[Path], threads: int) -> list[dict]:
    """``artstyle classify predict RUN FILES --json --topk 1``'s predictions (a subprocess, as a user runs it)."""
    cmd = [sys.executable, "-m", "artstyle", "--threads", str(threads), "classify", "predict", run,
           *map(str, files), "--json", "--topk", "1"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["predictions"]


def errors_by_photo(preds: list[dict]) -> tuple[collections.Counter, collections.Counter]:
    """(tiles, errors) per source photograph; a tile's true style is its folder's name."""
    tiles, errors = collections.Counter(), collections.Counter()
    for p in preds:
        path = Path(p["path"])
        photo = photo_of(path.name)
        tiles[photo] += 1
        errors[photo] += p["top"][0]["style"] != path.parent.name
    return tiles, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="classify run directories")
    parser.add_argument("--data", default=".cache/real_styles_v2", help="the benchmark (its test/<Style>/ tiles)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    files = sorted(Path(args.data, "test").glob("*/*.jpg"))
    if not files:
        sys.exit(f"error: no test tiles under {args.data}/test/<Style>/; build it with benchmarks/real_styles.py")
    for run in args.runs:
        tiles, errors = errors_by_photo(predictions(run, files, args.threads))
        total = sum(errors.values())
        print(f"{run}: {total} errors in {sum(tiles.values())} tiles from {len(tiles)} photographs")
        for photo, n in errors.most_common():
            if n:
                print(f"  {photo:<24} {n:>3} of {tiles[photo]:>3} tiles")


if __name__ == "__main__":
    main()
