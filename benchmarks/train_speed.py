"""Classifier training speed at 128 px on this machine: images/s per setting, data-wait share, FLOPs, efficiency.

Usage: ``python benchmarks/train_speed.py [--steps 12] [--batch 64]`` (writes docs/benchmarks.md).

For the default ``resnet`` (width 32, depth 1) it measures forward + backward + AdamW images/s in fp32 and
bf16, each with and without channels_last; then one real engine epoch (``fit``) from a cache, whose
``data_wait_share`` is the fraction of step time spent waiting for the DataLoader; FLOPs per image
(``torch.utils.flop_counter``) and the achieved fraction of this CPU's measured fp32 matmul throughput.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402


def step_rate(model: torch.nn.Module, batch: int, steps: int, bf16: bool, channels_last: bool) -> float:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(batch, 3, 128, 128).contiguous(memory_format=fmt)
    y = torch.randint(0, 27, (batch,))
    for i in range(steps + 2):
        if i == 2:
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return batch * steps / (time.perf_counter() - t0)


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def flops_per_image(model: torch.nn.Module) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(8, 3, 128, 128)
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    return counter.get_total_flops() / 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    from artstyle.engine import has_fast_cpu_bf16, resolve_precision
    from artstyle.models.classifier import build_classifier

    torch.manual_seed(0)
    rates = {}
    # Without native bf16, autocast emulates it at a few images/s: 2 steps say that well enough.
    bf16_steps = args.steps if has_fast_cpu_bf16() else min(args.steps, 2)
    for bf16 in (False, True):
        for cl in (False, True):
            model = build_classifier("resnet", 27, 128)
            rates[(bf16, cl)] = step_rate(model, args.batch, bf16_steps if bf16 else args.steps, bf16, cl)
    fwd_bwd = flops_per_image(build_classifier("resnet", 27, 128))
    peak = matmul_gflops()
    best_fp32 = max(rates[(False, False)], rates[(False, True)])
    achieved = best_fp32 * fwd_bwd / 1e9

    # One real engine epoch from the cache (built-in dataset at scale 0.1, 128 px): throughput and data wait.
    os.environ.setdefault("ARTSTYLE_RUNS", tempfile.mkdtemp(prefix="artstyle-bench-runs-"))
    from artstyle.classify import ClassifyConfig, train_classifier
    from artstyle.runs import read_jsonl

    run = train_classifier(ClassifyConfig(data="builtin:0.1", size=128, epochs=1, batch_size=args.batch, progress=False,
                                          imbalance="none"))
    rec = read_jsonl(run / "metrics.jsonl")[0]
    table = "\n".join(f"| {'bf16 autocast' if bf16 else 'fp32'}{', channels_last' if cl else ''} | {r:.0f} |"
                      for (bf16, cl), r in rates.items())
    body = f"""## Classifier training speed

Produced by: `python benchmarks/train_speed.py --steps {args.steps} --batch {args.batch}` ({machine()}; native CPU bf16:
{has_fast_cpu_bf16()}, so `--precision auto` resolves to **{resolve_precision('auto')}** here).

Default `resnet` (width 32, depth 1, {sum(p.numel() for p in build_classifier('resnet', 27, 128).parameters()) / 1e6:.2f} M
parameters), 128 px, batch {args.batch}, forward + backward + AdamW on synthetic tensors ({args.steps} timed steps;
{bf16_steps} for bf16):

| setting | images/s |
|---|---|
{table}

- FLOPs per image (forward + backward, `torch.utils.flop_counter`): {fwd_bwd / 1e9:.2f} GFLOP.
- This CPU's fp32 matmul (2048x2048, torch threads = {torch.get_num_threads()}): {peak:.0f} GFLOP/s. The best fp32
  setting achieves {achieved:.1f} GFLOP/s, i.e. {100 * achieved / peak:.0f}% of it (convolutions with few channels
  use the CPU far less well than one large matmul).
- One real engine epoch (`fit`, built-in dataset at scale 0.1, 128 px, augmentation in 1 DataLoader worker):
  {rec['images_per_s']:.0f} images/s, data-wait share {100 * rec['data_wait_share']:.1f}% of step time (target < 5%).
"""
    print(body)
    update_section("train_speed", body)


if __name__ == "__main__":
    main()
