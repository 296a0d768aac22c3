"""float64 SSIM filtering on the CPU: torch grouped convolution against unfold + matmul (what metrics.ssim uses).

Usage: ``python benchmarks/ssim_speed.py`` (64 random 256 px pairs, 2 threads, best of 2; prints a table).
"""
import time, torch, torch.nn.functional as F
from artstyle.metrics import ssim_uint8, _gaussian_window
import numpy as np
torch.set_num_threads(2)
r = np.random.default_rng(0); a = r.integers(0, 256, (64, 256, 256, 3), dtype=np.uint8); b = r.integers(0, 256, a.shape, dtype=np.uint8)
x = torch.from_numpy(a).permute(0, 3, 1, 2).double(); g = _gaussian_window(11, 1.5, torch.float64, x.device)
kx, ky = g.view(1, 1, 1, -1).repeat(3, 1, 1, 1), g.view(1, 1, -1, 1).repeat(3, 1, 1, 1)
best = {"grouped conv": 1e9, "unfold + matmul": 1e9, "ssim_uint8 (64 pairs)": 1e9}
for _ in range(2):
    t = time.perf_counter(); F.conv2d(F.conv2d(x, kx, groups=3), ky, groups=3); best["grouped conv"] = min(best["grouped conv"], time.perf_counter() - t)
    t = time.perf_counter(); (x.unfold(-1, 11, 1) @ g).unfold(-2, 11, 1) @ g; best["unfold + matmul"] = min(best["unfold + matmul"], time.perf_counter() - t)
    t = time.perf_counter(); ssim_uint8(a, b); best["ssim_uint8 (64 pairs)"] = min(best["ssim_uint8 (64 pairs)"], time.perf_counter() - t)
for k, v in best.items(): print(f"| {k} | {v:.2f} s |")
print(f"ratio: {best['grouped conv'] / best['unfold + matmul']:.1f}x")
