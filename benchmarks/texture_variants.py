"""Which change to the texture network pays off? Variants trained for the same number of epochs, one after another.

Usage::

    python benchmarks/texture_variants.py --variants rgb,hp,rgb-cov,hp-cov --epochs 15
    python benchmarks/texture_variants.py --variants hp --epochs 27 --crop 48 --seed 1

A lean loop of its own (not ``classify train``): random ``--crop`` px crops and flips of the prepared 256 px cache
of the real-image benchmark (``artstyle data prepare --data .cache/real_styles_v2 --size 256``), 400 crops per
style per epoch (class-balanced, as ``--imbalance resample``), AdamW with a one-cycle cosine schedule, label
smoothing 0.1, one torch thread by default; then the balanced accuracy on the test split from a 5 x 5 grid of
crops (as ``classify train``'s test report) and from the whole 256 px tile in one pass. Equal epochs, not equal
time: each row prints its training seconds, since some variants cost more per image. One JSON line per variant
on stdout; nothing is written to docs (docs/results.md, section 7 quotes these lines by hand).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from artstyle.classify.crops import grid_crops
from artstyle.models.classifier import TextureNet, _conv_bn_relu, colour_peaks, mean_std


def _cov(x: torch.Tensor) -> torch.Tensor:
    """Upper triangle of the channel covariance over positions, signed square root."""
    f = x.float().flatten(2)
    f = f - f.mean(2, keepdim=True)
    cov = f @ f.transpose(1, 2) / f.shape[2]
    i, j = torch.triu_indices(cov.shape[1], cov.shape[1])
    v = cov[:, i, j]
    return v.sign() * (v.abs() + 1e-6).sqrt()


def _moments(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per-channel mean, std, skewness and log(1 + kurtosis) over positions."""
    var, mean = torch.var_mean(x.float(), dim=(2, 3), correction=0)
    std = (var + eps).sqrt()
    z = (x.float() - mean[..., None, None]) / std[..., None, None]
    return torch.cat([mean, std, (z ** 3).mean((2, 3)).clamp(-10, 10), (z ** 4).mean((2, 3)).clamp(0, 50).log1p()], 1)


class HighPass2(nn.Module):
    """The image, its 3x3 box-blur residual and the 3x3-minus-5x5 band: two scales of detail."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = F.pad(x, (2, 2, 2, 2), mode="reflect")
        b3 = F.avg_pool2d(p, 3, 1)[:, :, 1:-1, 1:-1]
        return torch.cat([x, 4 * (x - b3), 2 * (b3 - F.avg_pool2d(p, 5, 1))], 1)


class Variant(TextureNet):
    """TextureNet with optional extra statistics (``stats``), extra convs per stage and a two-scale input."""

    def __init__(self, classes: int, highpass: bool, stats: str = "meanstd", extra: tuple = (0, 0, 0, 0),
                 cov_dim: int = 16, two_scale: bool = False, width: int = 32, input_stats: bool = False,
                 peaks: str = "") -> None:
        super().__init__(classes, width=width, highpass=highpass, peaks=False)  # peaks: the variant's own below
        for stage, n in zip(self.stages, extra):
            c = stage[0][0].out_channels
            for _ in range(n):
                stage.append(_conv_bn_relu(c, c))
        if two_scale:
            self.highpass = HighPass2()
            self.stages[0][0][0] = nn.Conv2d(36, self.stages[0][0][0].out_channels, 3, 1, 1, bias=False)
        chans = [s[0][0].out_channels for s in self.stages]
        self.stats = stats
        self.reduce = nn.ModuleList([nn.Conv2d(c, cov_dim, 1, bias=False) for c in chans]) if stats == "cov" else None
        extra_dim = {"meanstd": 0, "cov": 4 * cov_dim * (cov_dim + 1) // 2, "max": sum(chans),
                     "moments": 2 * sum(chans)}[stats]
        self.input_stats, self.peaks = input_stats, peaks
        self.feature_dim += 14 if peaks else 0
        self.feature_dim += extra_dim + (4 * self.stages[0][0][0].in_channels // 4 if input_stats else 0)
        self.norm = nn.BatchNorm1d(self.feature_dim)
        self.head = nn.Linear(self.feature_dim, classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.feature_maps(x)
        if self.peaks:
            peaks = colour_peaks(x, bits=(4, 5) if self.peaks == "16-32" else (4, 3))
            return self.norm(torch.cat([peaks] + [mean_std(m) for m in maps], 1))
        if self.input_stats:  # mean/std of the input and its high-pass bands, and of their absolute values
            h = self.highpass(x)
            return self.norm(torch.cat([mean_std(h), mean_std(h.abs())] + [mean_std(m) for m in maps], 1))
        if self.stats == "moments":
            return self.norm(torch.cat([_moments(m) for m in maps], 1))
        parts = [mean_std(m) for m in maps]
        if self.stats == "cov":
            parts += [_cov(r(m)) for r, m in zip(self.reduce, maps)]
        elif self.stats == "max":
            parts += [m.amax((2, 3)) for m in maps]
        return self.norm(torch.cat(parts, 1))


VARIANTS = {  # name -> Variant keyword arguments
    "rgb": {"highpass": False},  # the texture network before the high-pass input
    "hp": {"highpass": True},  # the default now
    "rgb-cov": {"highpass": False, "stats": "cov"},
    "rgb-cov32": {"highpass": False, "stats": "cov", "cov_dim": 32},
    "rgb-deep": {"highpass": False, "extra": (0, 1, 2, 2)},
    "hp-cov": {"highpass": True, "stats": "cov"},
    "hp2-cov": {"highpass": True, "stats": "cov", "two_scale": True},
    "hp-deep": {"highpass": True, "extra": (0, 1, 1, 1)},
    "hp-max": {"highpass": True, "stats": "max"},
    "hp-moments": {"highpass": True, "stats": "moments"},
    "hp-w48": {"highpass": True, "width": 48},
    "hp-w24": {"highpass": True, "width": 24},
    "hp2": {"highpass": True, "two_scale": True},
    "hp-peaks": {"highpass": True, "peaks": "16-32"},  # colour_peaks at 16 and 32 levels per channel
    "hp-w24-peaks": {"highpass": True, "peaks": "16-32", "width": 24},
    "hp-peaks8": {"highpass": True, "peaks": "8-16"},  # models.classifier.colour_peaks: 8 and 16 levels
    "hp-in": {"highpass": True, "input_stats": True},
    "hp2-in": {"highpass": True, "two_scale": True, "input_stats": True},
}


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def run(name: str, cache, args) -> dict:
    """Train one variant for ``args.epochs`` and test it; returns its JSON line."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    images, labels, crop = np.asarray(cache.images), cache.labels, args.crop
    train, test = cache.indices("train"), cache.indices("test")
    by_class = [train[labels[train] == c] for c in range(len(cache.classes))]
    model = Variant(len(cache.classes), **VARIANTS[name])
    model.dropout.p = args.dropout
    opt = torch.optim.AdamW(model.parameters(), args.lr, weight_decay=0.05)
    per_epoch = args.per_class * len(by_class) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.epochs * per_epoch, pct_start=0.05)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema), use_buffers=True) if args.ema else None
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        idx = np.concatenate([rng.choice(r, args.per_class // args.bag) for r in by_class])
        rng.shuffle(idx)
        tiles = args.batch_size // args.bag
        for i in range(per_epoch):
            bag = idx[i * tiles:(i + 1) * tiles]
            b = np.repeat(bag, args.bag)
            ys, xs = rng.integers(0, cache.size - crop + 1, (2, len(b)))
            x = np.stack([images[j, y:y + crop, q:q + crop] for j, y, q in zip(b, ys, xs)])
            flip = rng.random(len(b)) < 0.5
            x[flip] = x[flip, :, ::-1]
            if args.dihedral:
                vflip, turn = rng.random((2, len(b))) < 0.5
                x[vflip] = x[vflip, ::-1]
                x[turn] = x[turn].transpose(0, 2, 1, 3)
            logits = model(_tensor(x)).reshape(len(bag), args.bag, -1).mean(1)
            loss = F.cross_entropy(logits, torch.from_numpy(labels[bag]), label_smoothing=args.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(model)
    if ema is not None:
        model = ema.module
    seconds = time.perf_counter() - t0
    model.eval()
    grid, geo, meanlogit, whole = [], [], [], []
    with torch.no_grad():
        for i in range(0, len(test), 8):
            tiles = images[test[i:i + 8]]
            crops = grid_crops(tiles, crop, 5)
            logits = model(_tensor(crops.reshape(-1, crop, crop, 3))).reshape(len(tiles), 25, -1)
            grid.append(logits.softmax(-1).mean(1))
            geo.append(logits.log_softmax(-1).mean(1))
            meanlogit.append(logits.mean(1))
            whole.append(model(_tensor(tiles)).softmax(1))
    from sklearn.metrics import balanced_accuracy_score

    y = labels[test]
    return {"variant": name, "epochs": args.epochs, "crop": args.crop, "seed": args.seed, "lr": args.lr,
            "dihedral": args.dihedral, "ema": args.ema, "bag": args.bag,
            "balanced_accuracy_grid5": balanced_accuracy_score(y, torch.cat(grid).argmax(1).numpy()),
            "balanced_accuracy_grid5_logmean": balanced_accuracy_score(y, torch.cat(geo).argmax(1).numpy()),
            "balanced_accuracy_grid5_meanlogit": balanced_accuracy_score(y, torch.cat(meanlogit).argmax(1).numpy()),
            "balanced_accuracy_whole": balanced_accuracy_score(y, torch.cat(whole).argmax(1).numpy()),
            "train_s": seconds, "threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".cache/real_styles_v2", help="the real-image benchmark (an image folder)")
    ap.add_argument("--variants", default="rgb,hp", help=f"comma-separated, from: {', '.join(VARIANTS)}")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--per-class", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bag", type=int, default=1, help="train on bags of this many crops of one tile, the loss on "
                    "their mean logits (--batch-size crops per step, as without)")
    ap.add_argument("--dihedral", action="store_true", help="also vertical flips and transposes (all 8 symmetries)")
    ap.add_argument("--ema", type=float, default=0.0, help="test an exponential moving average of the weights "
                    "with this decay per step (0 = the weights as trained)")
    args = ap.parse_args()
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"error: --variants {', '.join(unknown)}: unknown; choose from {', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)
    from artstyle.data.cache import prepare_cache

    cache = prepare_cache(args.data, size=256)
    for name in names:
        print(json.dumps(run(name, cache, args)), flush=True)


if __name__ == "__main__":
    main()
