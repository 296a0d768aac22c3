"""``artstyle lora train --cache-latents``: its disk cost for all of WikiArt at 512 px, and the step time with and
without it on the tiny random Stable Diffusion of tests/tiny_sd.py (CPU).

Usage: ``python benchmarks/lora_latents.py [--steps 30] [--resolution 64] [--repeats 2]``
(rewrites the ``lora_latents`` block of docs/lora.md).

Disk: ``artstyle.lora.latents.estimate_bytes`` with SD 1.5's VAE (4 latent channels, 8x downsampling: 4x64x64
latents at 512 px; the cache stores mean and log-variance, 8x64x64, per flip) and CLIP ViT-L text encoder
(77 x 768 per prompt). Step time: the same run (same seed, flips on, batch 2) with ``--cache-latents off`` and
``on``, the encoding pass excluded (it is paid once, by the first run), best of ``--repeats``; the seconds are
``metrics.jsonl``'s time from the loop's start to its last step, divided by the steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _report import machine, update_section  # noqa: E402

WIKIART_IMAGES = 81_444
DOC = Path(__file__).resolve().parents[1] / "docs" / "lora.md"
SD15_VAE = {"latent_channels": 4, "block_out_channels": [128, 256, 512, 512]}


def disk_table() -> str:
    import torch

    from artstyle.lora.latents import estimate_bytes

    rows = ["| what is stored, all 81,444 WikiArt images at 512 px | fp16 / bf16 | fp32 |", "|---|---:|---:|"]
    for label, views in (("VAE posterior (mean + log-variance, 8x64x64), both flips (`--flip`, the default)", 2),
                         ("the same, one view (`--no-flip`)", 1)):
        sizes = [estimate_bytes(WIKIART_IMAGES, 0, views, 512, SD15_VAE, (77, 768), d) / 1e9
                 for d in (torch.float16, torch.float32)]
        rows.append(f"| {label} | {sizes[0]:.2f} GB | {sizes[1]:.2f} GB |")
    per_prompt = [estimate_bytes(0, 1, 1, 512, SD15_VAE, (77, 768), d) / 1e3 for d in (torch.float16, torch.float32)]
    rows.append(f"| text-encoder output per distinct prompt (77x768) | {per_prompt[0]:.0f} kB | {per_prompt[1]:.0f} kB |")
    pixels = WIKIART_IMAGES * 512 * 512 * 3 / 1e9
    rows.append(f"| for comparison: the decode-once pixel cache (uint8 512x512x3) | {pixels:.1f} GB | |")
    return "\n".join(rows)


def _paintings(root: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for ci, style in enumerate(["Baroque", "Pop_Art", "Ukiyo_e"]):
        for i in range(8):
            arr = np.clip(np.array([ci * 90, 255 - ci * 90, 60]) + rng.integers(-40, 40, (80, 80, 3)), 0, 255)
            path = root / "train" / style / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr.astype(np.uint8)).save(path)
    return root


def step_seconds(model: Path, data: Path, out: Path, mode: str, steps: int, resolution: int) -> float:
    from artstyle.lora import LoraTrainConfig, train_lora

    cfg = LoraTrainConfig(pretrained=str(model), data=str(data), out=str(out), overwrite=True, max_steps=steps,
                          batch_size=2, gradient_accumulation=1, resolution=resolution, workers=0, progress=False,
                          checkpoint_every=0, validate_every=0, log_every=1, cache_latents=mode)
    run = train_lora(cfg)
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return (log[-1]["seconds"] - log[0]["seconds"]) / (len(log) - 1)  # the first step's warm-up left out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import torch

    from tiny_sd import build_tiny_sd

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.update(HF_HUB_OFFLINE="1", ARTSTYLE_THREADS="1", ARTSTYLE_CACHE=str(root / "cache"),
                          ARTSTYLE_RUNS=str(root / "runs"))
        model, data = build_tiny_sd(root / "tiny-sd"), _paintings(root / "paintings")
        step_seconds(model, data, root / "warm", "on", 2, args.resolution)  # builds both caches once
        times = {"off": [], "on": []}
        for _ in range(args.repeats):
            for mode in times:  # alternating, so a busy moment on the shared machine hits both
                times[mode].append(step_seconds(model, data, root / mode, mode, args.steps, args.resolution))
    best = {k: min(v) for k, v in times.items()}
    command = (f"python benchmarks/lora_latents.py --steps {args.steps} --resolution {args.resolution} "
               f"--repeats {args.repeats}")
    body = f"""### Latent cache: disk and step time

Produced by: `{command}` ({machine()})

{disk_table()}

Step time on the tiny random model (tests/tiny_sd.py, {args.resolution} px, batch 2, flips on, 1 CPU thread), best
of {args.repeats}: **{best['off'] * 1e3:.0f} ms** per step encoding every image with the VAE and every prompt with the
text encoder (`--cache-latents off`), **{best['on'] * 1e3:.0f} ms** from the cache (`on`), {best['off'] / best['on']:.2f}x.
The tiny VAE and text encoder are a smaller share of a step than SD 1.5's are, so this ratio says only that
the cache removes their work; measure on the real model for real numbers.
"""
    update_section("lora_latents", body, doc=DOC)
    print(body)


if __name__ == "__main__":
    main()
