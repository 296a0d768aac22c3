"""Data-pipeline benchmark: cache build rate, epoch time from the cache vs decoding, RSS while iterating.

Usage: ``python benchmarks/data_pipeline.py [--n 300] [--rss-scale 1.0]`` (writes docs/benchmarks.md).

Measured:
1. cache build (``prepare_cache``, all cores, draft mode) against single-process PIL decode-and-resize loops
   (plain and with ``draft``) over the same JPEGs, at ~1200x900 (WikiArt originals) and 416x416 (course copy);
2. one epoch of batches at 128 px from the cache against an image-folder dataset that decodes every image
   every epoch (the data pipeline alone: the model's compute is the same in both, so it is left out);
3. peak RSS of a process iterating over a 13k-image cache (the built-in dataset at scale 1).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402

SIZE = 128


def make_jpegs(root: Path, n: int, wh: tuple[int, int], seed: int = 0) -> list[Path]:
    """Painting-like JPEGs: smooth colour fields plus brush-stroke noise (compresses like real paintings)."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        w, h = wh
        small = rng.integers(0, 255, size=(h // 40 + 2, w // 40 + 2, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
        noise = Image.fromarray(rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)).filter(ImageFilter.BoxBlur(1))
        im = Image.blend(im, noise, 0.25)
        style = f"S{i % 5}"
        path = root / "train" / style / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def pil_loop(paths: list[Path], draft: bool) -> float:
    """Single-process decode + shorter-side resize + centre crop; returns images/s."""
    from PIL import Image

    t0 = time.perf_counter()
    for p in paths:
        with Image.open(p) as im:
            if draft:
                w, h = im.size
                s = SIZE / min(w, h)
                im.draft("RGB", (int(w * s) + 1, int(h * s) + 1))
            im = im.convert("RGB")
            w, h = im.size
            side = min(w, h)
            box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
            np.asarray(im.resize((SIZE, SIZE), Image.Resampling.BICUBIC, box=box))
    return len(paths) / (time.perf_counter() - t0)


def cache_build(root: Path, out: Path) -> float:
    from artstyle.data.cache import prepare_cache

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    cache = prepare_cache(str(root), size=SIZE, out=out, progress=False)
    return len(cache.labels) / (time.perf_counter() - t0)


class DecodeEveryEpoch:
    """The course code's approach: an image-folder dataset that opens and resizes each file per access."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):  # noqa: ANN204
        import torch
        from PIL import Image

        with Image.open(self.paths[i]) as im:
            arr = np.asarray(im.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BICUBIC))
        return torch.from_numpy(arr.transpose(2, 0, 1).copy()), 0


def epoch_seconds(dataset, workers: int) -> float:  # noqa: ANN001
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=workers)
    t0 = time.perf_counter()
    for images, _ in loader:
        images.float()
    return time.perf_counter() - t0


def _status_mb() -> tuple[float, float]:
    """This process's anonymous and file-backed resident memory (MB), from /proc/self/status."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("RssAnon", float("nan")), fields.get("RssFile", float("nan"))


def rss_child(cache_dir: str) -> None:
    """Runs in a subprocess: iterate over the whole cache twice; print N, peak RSS, peak anonymous and file MB."""
    from torch.utils.data import DataLoader

    from artstyle.data.cache import load_cache
    from artstyle.data.dataset import CachedImages

    cache = load_cache(cache_dir)
    ds = CachedImages(cache, "all")
    anon = file = 0.0
    for _ in range(2):
        for images, _ in DataLoader(ds, batch_size=64, shuffle=True, num_workers=0):
            images.float()
            a, f = _status_mb()
            anon, file = max(anon, a), max(file, f)
    print(len(ds), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, anon, file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="JPEGs per resolution")
    parser.add_argument("--rss-scale", type=float, default=1.0, help="built-in dataset scale for the RSS test")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="artstyle-bench-"))
    os.environ.setdefault("ARTSTYLE_CACHE", str(tmp / "cache"))
    rows = []
    epoch_rows = []
    try:
        for wh in ((1200, 900), (416, 416)):
            root = tmp / f"{wh[0]}x{wh[1]}"
            paths = make_jpegs(root, args.n, wh)
            plain = pil_loop(paths, draft=False)
            draft = pil_loop(paths, draft=True)
            built = cache_build(root, tmp / f"c{wh[0]}")
            target = 0.8 * cores * draft
            rows.append(f"| {wh[0]}x{wh[1]} | {plain:.0f} | {draft:.0f} | {built:.0f} | {built / draft:.2f}x | "
                        f"{target:.0f} | {'met' if built >= target else 'missed'} |")
            if wh == (416, 416):
                from artstyle.data.cache import load_cache
                from artstyle.data.dataset import CachedImages

                cached = epoch_seconds(CachedImages(load_cache(tmp / f"c{wh[0]}"), "all"), workers=0)
                decoded = epoch_seconds(DecodeEveryEpoch(paths), workers=0)
                epoch_rows.append(f"| {len(paths)} JPEGs 416x416 -> {SIZE} px | {decoded:.2f} | {cached:.3f} | "
                                  f"{decoded / cached:.1f}x | {'met' if decoded / cached >= 20 else 'missed'} |")
        from artstyle.data.cache import prepare_cache
        from artstyle.data.sources import ensure_builtin

        rss_rows, anons, peaks = [], [], []
        for scale in sorted({args.rss_scale / 4, args.rss_scale}):
            spec = f"builtin:{scale:g}"
            ensure_builtin(spec)
            cache = prepare_cache(spec, size=SIZE, progress=False)
            out = subprocess.run([sys.executable, __file__, "--rss-child", str(cache.root)], capture_output=True,
                                 text=True, check=True).stdout.split()
            n_rss, rss, anon, file = int(out[0]), *map(float, out[1:])
            cache_mb = (cache.root / "images.u8").stat().st_size / 2**20
            rss_rows.append(f"| {n_rss} | {cache_mb:.0f} | {rss:.0f} | {anon:.0f} | {file:.0f} |")
            anons.append(anon)
            peaks.append(rss)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    body = f"""## Data pipeline

Produced by: `python benchmarks/data_pipeline.py --n {args.n} --rss-scale {args.rss_scale:g}` ({machine()}).

**Cache build** (images/s, decode + resize to {SIZE} px; `prepare_cache` uses all {cores} cores with JPEG draft mode).
Target: at least 0.8 x cores x the single-process draft rate.

| JPEG size | plain PIL, 1 process | PIL + draft, 1 process | prepare_cache | vs draft | target | |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

**One epoch of batches** (seconds; batch 64, the data pipeline only: the model's compute is the same either way).
Target: the cache at least 20x faster.

| data | decode every epoch (PIL) | from the cache | ratio | |
|---|---|---|---|---|
{chr(10).join(epoch_rows)}

**Peak RSS** iterating twice over the built-in dataset's cache at {SIZE} px, at two dataset sizes (MB).
Target: under 1 GB, and not growing with the dataset. The memmap's pages are file-backed: they count towards
RSS while resident, but the kernel drops them under memory pressure (they are re-read from disk, never
swapped); the anonymous memory (the process's own allocations: Python, torch, batches) is what must stay flat.

| images | cache on disk | peak RSS | peak anonymous | peak file-backed |
|---|---|---|---|---|
{chr(10).join(rss_rows)}

Verdict: anonymous memory {anons[0]:.0f} to {anons[-1]:.0f} MB for 4x the images:
{'met (flat)' if anons[-1] < 1.25 * anons[0] else 'missed (it grows)'}. Total peak RSS at the larger size:
{peaks[-1]:.0f} MB, {'met' if peaks[-1] < 1024 else 'missed'} against 1 GB (resident memmap pages count towards it).
"""
    print(body)
    update_section("data_pipeline", body)


if __name__ == "__main__":
    main()
