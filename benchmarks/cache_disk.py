"""Disk cost of the decode-once cache by cache size: measured on a dataset, extrapolated to all of WikiArt.

Usage: ``python benchmarks/cache_disk.py --data .cache/real_styles_data --sizes 128,256,384 --doc``

The cache stores uint8 pixels (``size * size * 3`` bytes per image) plus a small index; ``--cache-size``
(classify) chooses the size. The measured bytes per image are those of the real files on disk.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, update_section  # noqa: E402

WIKIART_IMAGES = 81_444  # huggan/wikiart, all splits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="builtin:0.1", help="dataset whose caches are measured")
    ap.add_argument("--sizes", default="128,256,384", help="comma-separated cache sizes in px")
    ap.add_argument("--doc", action="store_true", help="write the table into docs/benchmarks.md")
    args = ap.parse_args()

    from artstyle.data.cache import prepare_cache

    rows = ["| cache size | bytes per image (measured) | this dataset | all of WikiArt (81,444 images) |",
            "|---:|---:|---:|---:|"]
    for size in (int(s) for s in args.sizes.split(",")):
        cache = prepare_cache(args.data, size=size, progress=False)
        total = sum(f.stat().st_size for f in cache.root.iterdir() if f.is_file())
        per_image = total / max(1, len(cache.labels))
        rows.append(f"| {size} px | {per_image / 1e3:,.0f} kB | {total / 1e6:,.0f} MB ({len(cache.labels)} images) | "
                    f"{per_image * WIKIART_IMAGES / 1e9:,.1f} GB |")
    body = "\n".join(rows)
    print(body)
    if args.doc:
        argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
        update_section("cache-disk", "## Cache size on disk\n\n"
                                     f"Produced by: `python benchmarks/cache_disk.py {argv}` ({machine()})\n\n"
                                     "`classify train --cache-size` keeps images larger than the network's input, "
                                     "so it can train on native-resolution crops; the disk cost grows with the "
                                     f"square of the cache size:\n\n{body}\n")


if __name__ == "__main__":
    main()
