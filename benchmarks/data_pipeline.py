"""Data-pipeline benchmark: cache build rate, epoch time from the cache vs decoding, RSS while iterating.

Usage: ``python benchmarks/data_pipeline.py [--parts build,epoch,rss] [--n 300] [--repeats 3] [--rss-scale 1.0]``
(each part rewrites its own block of docs/benchmarks.md: data_build, data_epoch, data_rss).

Measured:
1. cache build: ``prepare_cache`` with 1 worker against all cores, in the same run, alternating, best of
   ``--repeats`` each (the machine may be shared), with a byte-for-byte comparison of the two caches; single-process
   PIL decode-and-resize loops (plain and with ``draft``) over the same JPEGs for reference; at ~1200x900
   (WikiArt originals) and 416x416 (the course copy);
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


def cache_build(root: Path, out: Path, workers: int) -> float:
    """Build a fresh cache of ``root`` at ``out`` (the whole ``prepare_cache`` call); returns images/s."""
    from artstyle.data.cache import prepare_cache

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    cache = prepare_cache(str(root), size=SIZE, out=out, workers=workers, progress=False)
    return len(cache.labels) / (time.perf_counter() - t0)


def same_cache(a: Path, b: Path) -> bool:
    """Whether two caches hold the same pixels, rows and skipped files, byte for byte."""
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in ("images.u8", "index.jsonl", "skipped.jsonl"))


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


def pil_parallel(paths: list[Path], procs: int) -> float:
    """``procs`` draft loops side by side, each over its share of ``paths``: the machine's own parallel ceiling."""
    import multiprocessing as mp

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(procs) as pool:
        t0 = time.perf_counter()
        pool.starmap(pil_loop, [(paths[i::procs], True) for i in range(procs)])
        return len(paths) / (time.perf_counter() - t0)


def bench_build(args: argparse.Namespace, tmp: Path) -> str:
    cores = os.cpu_count() or 1
    rows, runs = [], []
    for wh in ((1200, 900), (416, 416)):
        root = tmp / f"{wh[0]}x{wh[1]}"
        paths = make_jpegs(root, args.n, wh)
        plain = pil_loop(paths, draft=False)
        draft, draft_n, one, many = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so a burst of load elsewhere hits every variant
            draft.append(pil_loop(paths, draft=True))
            draft_n.append(pil_parallel(paths, cores))
            one.append(cache_build(root, tmp / "c1", workers=1))
            many.append(cache_build(root, tmp / "cn", workers=cores))
        same = same_cache(tmp / "c1", tmp / "cn")
        ratio = max(many) / max(one)
        rows.append(f"| {wh[0]}x{wh[1]} | {plain:.0f} | {max(draft):.0f} | {max(draft_n):.0f} | {max(one):.0f} | "
                    f"{max(many):.0f} | {ratio:.2f}x | {max(draft_n) / max(draft):.2f}x | "
                    f"{'yes' if same else '**no**'} | {'met' if ratio >= 0.8 * cores and same else 'missed'} |")
        runs.append(f"{wh[0]}x{wh[1]}: 1 worker {', '.join(f'{r:.0f}' for r in one)}; {cores} workers "
                    f"{', '.join(f'{r:.0f}' for r in many)}")
    return f"""## Data pipeline: cache build

Produced by: `python benchmarks/data_pipeline.py --parts build --n {args.n} --repeats {args.repeats}` ({machine()}).

Images/s decoding and resizing {args.n} JPEGs to {SIZE} px: the whole `prepare_cache` call (listing, decoding,
writing, fsync, reopening) with 1 worker and with {cores}, whose workers write their rows straight into the cache
file; the two caches compared byte for byte. For reference, bare PIL loops (decode + resize only), one process and
{cores} side by side: their ratio is what this machine gives at best. Each variant runs {args.repeats} times,
interleaved, and the best run counts (other jobs only ever slow a run down). Target: {cores} workers at least
{0.8 * cores:.1f}x (0.8 x cores) the 1-worker build, with the same bytes.

| JPEG size | plain PIL, 1 process | PIL + draft, 1 process | PIL + draft, {cores} processes | prepare_cache, 1 worker | prepare_cache, {cores} workers | speed-up | machine's ceiling | same bytes | |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Every cache build (images/s): {'; '.join(runs)}.
"""


def bench_epoch(args: argparse.Namespace, tmp: Path) -> str:
    from artstyle.data.cache import load_cache
    from artstyle.data.dataset import CachedImages

    root = tmp / "416x416"
    paths = sorted(root.rglob("*.jpg")) or make_jpegs(root, args.n, (416, 416))
    cache_build(root, tmp / "c416", workers=os.cpu_count() or 1)
    cached = epoch_seconds(CachedImages(load_cache(tmp / "c416"), "all"), workers=0)
    decoded = epoch_seconds(DecodeEveryEpoch(paths), workers=0)
    return f"""## Data pipeline: one epoch

Produced by: `python benchmarks/data_pipeline.py --parts epoch --n {args.n}` ({machine()}).

One epoch of batches (seconds; batch 64, the data pipeline only: the model's compute is the same either way).
Target: the cache at least 20x faster.

| data | decode every epoch (PIL) | from the cache | ratio | |
|---|---|---|---|---|
| {len(paths)} JPEGs 416x416 -> {SIZE} px | {decoded:.2f} | {cached:.3f} | {decoded / cached:.1f}x | {'met' if decoded / cached >= 20 else 'missed'} |
"""


def bench_rss(args: argparse.Namespace) -> str:
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
    return f"""## Data pipeline: memory

Produced by: `python benchmarks/data_pipeline.py --parts rss --rss-scale {args.rss_scale:g}` ({machine()}).

Peak RSS iterating twice over the built-in dataset's cache at {SIZE} px, at two dataset sizes (MB).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="build,epoch,rss", help="comma-separated: build, epoch, rss")
    parser.add_argument("--n", type=int, default=300, help="JPEGs per resolution")
    parser.add_argument("--repeats", type=int, default=3, help="cache builds per worker count (the best is kept)")
    parser.add_argument("--rss-scale", type=float, default=1.0, help="built-in dataset scale for the RSS test")
    parser.add_argument("--no-doc", action="store_true", help="print the sections, leave docs/benchmarks.md alone")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := set(parts) - {"build", "epoch", "rss"}:
        parser.error(f"--parts: unknown {', '.join(sorted(unknown))}; choose from build, epoch, rss")
    tmp = Path(tempfile.mkdtemp(prefix="artstyle-bench-"))
    os.environ.setdefault("ARTSTYLE_CACHE", str(tmp / "cache"))
    try:
        for part in parts:
            body = bench_build(args, tmp) if part == "build" else bench_epoch(args, tmp) if part == "epoch" \
                else bench_rss(args)
            print(body)
            if not args.no_doc:
                update_section(f"data_{part}", body)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
