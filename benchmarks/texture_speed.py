"""What one training step of the texture classifier costs, and what its loader and colour peaks add.

Usage::

    python benchmarks/texture_speed.py --doc                          # real-image benchmark cache, 2 threads
    python benchmarks/texture_speed.py --data builtin:0.1 --threads 1

Measured in one process, one after another, so compare the ratios: (1) the loader's per-image cost for a 64 px
training crop of the 256 px cache, copying the whole cache row first (as before `NativeCrop`) against cropping
the memory-mapped row first (`NativeCrop`), and the crop with the whole picture's view (`GlobalView`);
(2) `colour_peaks` on a batch; (3) a full training step (forward, backward, AdamW) of the texture network with and
without the colour peaks; (4) the step eager against compiled (``classify train --compile``; eager and compiled in
alternating rounds, and the time a cold compile takes, with an empty inductor cache); (5) the picture model's
statistics of one 256 px cached picture (``classify train --picture-stats``), and the share of it that its texture
descriptors take (``classify/texture_stats.py``). Each timing is the median of
``--repeats`` rounds. With ``--doc`` the table goes into docs/benchmarks.md (block ``texture-speed``).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from _report import machine, update_section

WIKIART_IMAGES = 81_444
"""The full WikiArt style set (shared/wikiart/styles.json)."""


def _median_ms(fn, rounds: int, per_round: int) -> float:
    """Median over ``rounds`` of the mean milliseconds of ``per_round`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        times.append((time.perf_counter() - t0) * 1000 / per_round)
    return statistics.median(times)


def loader_ms(cache, rounds: int) -> tuple[float, float, float]:
    """Per-image ms of the old path (copy the row, then crop), of NativeCrop (crop the row, then copy) and of
    GlobalView (NativeCrop's crop and the whole picture's 64 px view: ``--global-view``, the default)."""
    from torchvision.transforms import v2

    from artstyle.classify.crops import GlobalView, NativeCrop
    from artstyle.data.dataset import CachedImages

    old = v2.Compose([v2.RandomCrop(64), v2.RandomHorizontalFlip()])  # the training crop before NativeCrop
    slow, fast = CachedImages(cache, "train", transform=old), CachedImages(cache, "train", transform=NativeCrop(64))
    both = CachedImages(cache, "train", transform=GlobalView(64, NativeCrop(64)))
    n = min(200, len(fast))
    return (_median_ms(lambda: [slow[i] for i in range(n)], rounds, 1) / n,
            _median_ms(lambda: [fast[i] for i in range(n)], rounds, 1) / n,
            _median_ms(lambda: [both[i] for i in range(n)], rounds, 1) / n)


def _stepper(peaks: bool, classes: int, batch: int, compiled: bool):
    """One training step (forward, backward, AdamW) of the texture network on random 64 px crops, channels-last as
    classify train; compiled as ``classify train --compile on`` does (``compiling.compiled``)."""
    from artstyle.compiling import compiled as compile_model
    from artstyle.models.classifier import TextureNet

    torch.manual_seed(0)
    model = TextureNet(classes, peaks=peaks).to(memory_format=torch.channels_last)
    forward = compile_model(model) if compiled else model
    x = (torch.randint(0, 256, (batch, 3, 64, 64)).float() / 127.5 - 1).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, classes, (batch,))
    opt = torch.optim.AdamW(model.parameters(), 2e-3)

    def step() -> None:
        loss = F.cross_entropy(forward(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def step_ms(peaks: bool, classes: int, batch: int, rounds: int) -> float:
    """ms per eager training step of the texture network."""
    return _median_ms(_stepper(peaks, classes, batch, False), rounds, 10)


def compiled_ms(classes: int, batch: int, rounds: int) -> tuple[float, float, float]:
    """(seconds to compile, eager ms per step, compiled ms per step), the two timed in alternating rounds."""
    eager, fast = _stepper(False, classes, batch, False), _stepper(False, classes, batch, True)
    t0 = time.perf_counter()
    for _ in range(3):  # the first calls compile the forward and the backward
        fast()
    compile_s = time.perf_counter() - t0
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(rounds):
        for name, fn in (("eager", eager), ("compiled", fast)):
            times[name].append(_median_ms(fn, 1, 10))
    return compile_s, statistics.median(times["eager"]), statistics.median(times["compiled"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".cache/real_styles_v2", help="dataset whose 256 px cache the loader reads")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (classify train uses all cores)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5, help="rounds per timing; the table shows the median")
    ap.add_argument("--doc", action="store_true", help="write the table into docs/benchmarks.md")
    args = ap.parse_args()
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="inductor-") as kernels:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = kernels  # a cold compile, as on a fresh machine
        measure(args)


def measure(args: argparse.Namespace) -> None:
    """Run the timings and print (and with ``--doc`` write) the table."""
    torch.set_num_threads(args.threads)
    from artstyle.data.cache import prepare_cache
    from artstyle.classify.picture_stats import picture_statistics
    from artstyle.classify.texture_stats import texture_statistics
    from artstyle.models.classifier import colour_peaks

    cache = prepare_cache(args.data, size=256)
    old, new, view = loader_ms(cache, args.repeats)
    x = torch.randint(0, 256, (args.batch_size, 3, 64, 64)).float() / 127.5 - 1
    peaks = _median_ms(lambda: colour_peaks(x), args.repeats, 10)
    plain = step_ms(False, len(cache.classes), args.batch_size, args.repeats)
    with_peaks = step_ms(True, len(cache.classes), args.batch_size, args.repeats)
    compile_s, eager, fast = compiled_ms(len(cache.classes), args.batch_size, args.repeats)
    pictures = np.asarray(cache.images[:32])
    picture = _median_ms(lambda: picture_statistics(pictures), args.repeats, 1) / len(pictures)
    q8 = torch.from_numpy(np.array(pictures)).permute(0, 3, 1, 2).int()
    texture = _median_ms(lambda: texture_statistics(q8), args.repeats, 1) / len(pictures)
    rows = [("loader, per 64 px crop: copy the 256 px row, then crop (before)", old, ""),
            ("loader, per 64 px crop: `NativeCrop` (crop the memory-mapped row, then copy)", new,
             f"{old / new:.1f}x faster"),
            ("loader, per 64 px crop: `GlobalView` (the crop and the whole picture's 64 px view, `--global-view`)",
             view, f"{view / new:.1f}x NativeCrop"),
            (f"`colour_peaks`, per batch of {args.batch_size}", peaks, f"{peaks / plain:.0%} of a plain step"),
            (f"training step, batch {args.batch_size}, texture network without colour peaks", plain, ""),
            (f"training step, batch {args.batch_size}, with colour peaks (--colour-peaks)", with_peaks,
             f"{with_peaks / plain:.2f}x the plain step"),
            (f"training step, batch {args.batch_size}, eager (alternating rounds with the next row)", eager, ""),
            (f"training step, batch {args.batch_size}, compiled (`--compile on`; compiling took {compile_s:.0f} s)",
             fast, f"{eager / fast:.2f}x faster than eager"),
            (f"picture statistics, per {cache.size} px picture (`--picture-stats`; batches of {len(pictures)})",
             picture, f"{WIKIART_IMAGES * picture / 60000:.0f} min for all {WIKIART_IMAGES:,} WikiArt images"),
            ("of which the texture descriptors (local binary patterns, median residual: `texture_stats.py`)",
             texture, f"{texture / picture:.0%} of the picture statistics")]
    body = "\n".join(["| what | ms | ratio |", "|---|---:|---|"] + [f"| {w} | {ms:.2f} | {r} |" for w, ms, r in rows])
    print(body)
    if args.doc:
        argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
        update_section("texture-speed", "### The texture classifier: loader, colour peaks, one training step, compiled or not\n\n"
                       f"Produced by: `python benchmarks/texture_speed.py {argv}`\n\n"
                       f"{machine()}; {args.threads} torch threads; median of {args.repeats} rounds, one process, "
                       f"one after another (compare the ratios). Data: `{args.data}` ({np.asarray(cache.labels).size} "
                       f"images in its {cache.size} px cache).\n\n{body}\n")


if __name__ == "__main__":
    main()
