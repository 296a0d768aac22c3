"""Style classifiers, built by name: ``build_classifier("resnet", num_classes=27, img_size=128)``.

Every model maps ``x: (N, 3, H, W)`` floats in [-1, 1] (``(N, 6, H, W)`` for the global-view texture network:
the crop, then the whole picture) to logits ``(N, C)`` and exposes
``forward_features(x) -> (N, D)``, the penultimate representation used for embeddings.

- ``inclass``: the course's in-class baseline, faithfully: one 3->1 channel 4x4 conv, 4x4 max-pool,
  flatten, BatchNorm1d, Linear to 300, dropout, ReLU, Linear to the classes.
- ``simple-cnn``: a small MNIST-style CNN (three conv/pool blocks, one hidden layer).
- ``resnet`` (default): a compact residual CNN with BatchNorm; ``width`` and ``depth`` scale it (at width 32,
  depth 1 about 1.2M parameters). ``pool`` chooses how its last feature map becomes one vector: ``avg``
  (global average), ``gem`` (generalised mean, a learned exponent between average and max) or ``cov``
  (second-order: the covariance of 32 projected channels, the texture statistic of Gatys-style Gram matrices).
- ``texture``: a shallow, fast texture network for native-scale crops. Its input is the picture beside its
  high-pass residual (the picture minus a 3x3 box blur, :class:`HighPass`): texture lives in that residual, and
  handing it over directly raised balanced accuracy on our real-image benchmark from 58% to 75% at equal epochs
  (docs/results.md, section 7). A pixel-unshuffle stem keeps every pixel
  (grain, dither, stroke edges) at half the cost of a full-resolution convolution; four conv-BN-ReLU stages
  (width x 1, 1.5, 2, 3, each but the first at stride 2); and the mean and standard deviation of every channel
  of every stage (the AdaIN view of style, at four scales) as the representation; with ``peaks`` (off by
  default) the head also reads :func:`colour_peaks`, how few colours the crop uses; with ``global_view`` the
  head also reads the colour peaks of the *whole* picture (its palette: :data:`GLOBAL_BITS`), from a subsample
  of it that the input carries as three more channels (``classify.crops.GlobalView``). No global layout survives
  the pooling, by design: what it sees is how the picture is painted, not what is where.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from artstyle.constants import CLASSIFIER_POOLS


class InClassNet(nn.Module):
    """The in-class WikiArt demo model, adapted to any input size."""

    def __init__(self, num_classes: int, img_size: int = 128, hidden: int = 300, dropout: float = 0.01) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, kernel_size=4, padding=2)
        self.pool = nn.MaxPool2d(4, padding=2)
        with torch.no_grad():
            flat = self.pool(self.conv(torch.zeros(1, 3, img_size, img_size))).numel()
        self.norm = nn.BatchNorm1d(flat)
        self.fc = nn.Linear(flat, hidden)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.ReLU()
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.conv(x)).flatten(1)
        return self.act(self.dropout(self.fc(self.norm(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


class SimpleCNN(nn.Module):
    """An MNIST-style CNN: conv-ReLU-pool x3, adaptive pooling, one hidden layer."""

    def __init__(self, num_classes: int, img_size: int = 128, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(3, w, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(4 * w * 16, 256), nn.ReLU(), nn.Dropout(dropout),
        )
        self.head = nn.Linear(256, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        nn.init.zeros_(self.bn2.weight)  # residual branches start as identity: trains faster from scratch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.skip(x))


class GeM(nn.Module):
    """Generalised-mean pooling ``(N, C, H, W) -> (N, C)``: ``mean(x^p)^(1/p)`` with a learned ``p`` (Radenovic 2018)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p.clamp(1.0, 8.0)
        return x.clamp(min=self.eps).pow(p).mean((2, 3)).pow(1.0 / p)


class CovPool(nn.Module):
    """Second-order pooling ``(N, C, H, W) -> (N, d(d+1)/2)``: covariance of ``d`` projected channels over positions.

    Texture is a statistic of co-occurring features (Gatys 2015); the upper triangle is signed-square-rooted and
    L2-normalised, as in bilinear CNNs (Lin 2015), so its scale does not depend on the image size.
    """

    def __init__(self, cin: int, dim: int = 32) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(cin, dim, 1, bias=False), nn.BatchNorm2d(dim), nn.ReLU())
        self.register_buffer("triu", torch.triu_indices(dim, dim), persistent=False)
        self.out_dim = dim * (dim + 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):  # covariance in float32 ...
            f = self.reduce(x.float()).flatten(2)  # (N, d, HW); ... so x (bf16 from autocast's convs) is cast too
            f = f - f.mean(2, keepdim=True)
            cov = f @ f.transpose(1, 2) / max(1, f.shape[2] - 1)  # (N, d, d)
            v = cov[:, self.triu[0], self.triu[1]]
            v = v.sign() * (v.abs() + 1e-8).sqrt()
            return nn.functional.normalize(v, dim=1)


POOLS = CLASSIFIER_POOLS


class ResNet(nn.Module):
    """Compact ResNet: stride-2 stem, four stages (width x 1, 2, 4, 8), then ``pool`` (avg, gem or cov)."""

    def __init__(self, num_classes: int, img_size: int = 128, width: int = 32, depth: int = 1,
                 dropout: float = 0.2, pool: str = "avg") -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        blocks, cin = [], width
        for i, mult in enumerate((1, 2, 4, 8)):
            for j in range(depth):
                blocks.append(BasicBlock(cin, width * mult, stride=2 if (j == 0 and i > 0) else 1))
                cin = width * mult
        self.blocks = nn.Sequential(*blocks)
        if pool == "cov":
            self.pool = CovPool(cin)
            self.feature_dim = self.pool.out_dim
        else:
            self.pool = GeM() if pool == "gem" else nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
            self.feature_dim = cin
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after the stem and each stage, for Gram-matrix style statistics."""
        maps, x = [], self.stem(x)
        maps.append(x)
        for block in self.blocks:
            x = block(x)
            maps.append(x)
        return maps

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.forward_features(x)))


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def mean_std(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per-channel mean and standard deviation over positions: ``(N, C, H, W) -> (N, 2C)``."""
    var, mean = torch.var_mean(x.float(), dim=(2, 3), correction=0)
    return torch.cat([mean, (var + eps).sqrt()], 1)


def colour_peaks(x: torch.Tensor, bits: tuple[int, ...] = (4, 3), top: int = 32) -> torch.Tensor:
    """How few colours a picture uses: ``(N, 3, H, W)`` in [-1, 1] -> ``(N, 14)``.

    For a joint RGB histogram at 16 and at 8 levels per channel (``bits``), the share of pixels in its 1, 2, 4,
    ... 32 fullest bins and its entropy. Colour quantisation (dither, posterize, flat segments, oil) concentrates
    the mass in a few bins whatever the colours are, a statistic that convolutions and mean/std pooling reach
    only slowly. A fixed input statistic: no gradient flows through it.
    """
    n = x.shape[0]
    q8 = ((torch.nan_to_num(x.detach().float()) + 1) * 127.5).round().clamp(0, 255).to(torch.int32)
    ks = [2 ** i - 1 for i in range(top.bit_length())]
    out = []
    for b in bits:
        q = q8 >> (8 - b)
        idx = (q[:, 0] << 2 * b | q[:, 1] << b | q[:, 2]).flatten(1).long()
        ones = torch.ones(idx.shape, device=x.device)
        mass = torch.zeros(n, 1 << 3 * b, device=x.device).scatter_add_(1, idx, ones) / idx.shape[1]
        entropy = -mass.gather(1, idx).log().mean(1, keepdim=True)  # the mean over pixels of -log p(their bin)
        out += [mass.topk(min(top, mass.shape[1]), 1).values.cumsum(1)[:, ks], entropy]
    return torch.cat(out, 1)


PEAK_FEATURES = 14
"""The width of :func:`colour_peaks`."""

GLOBAL_BITS, GLOBAL_TOP = (4, 3), 32
"""The whole picture's palette statistics (``global_view``): :func:`colour_peaks` at 16 and 8 levels per channel,
up to its 32 fullest bins. A crop of a posterised picture and a crop of flat segments both use few colours; the
whole picture tells them apart (8 colours against a few hundred)."""

GLOBAL_FEATURES = len(GLOBAL_BITS) * (GLOBAL_TOP.bit_length() + 1)
"""The width of the ``global_view`` statistics: for each of GLOBAL_BITS, 6 cumulative peak shares and the entropy."""


class HighPass(nn.Module):
    """``(N, 3, H, W) -> (N, 6, H, W)``: the image and ``gain`` times its residual after a 3x3 box blur.

    The residual is where grain, dither, strokes and filtered edges live. A network can learn such a filter, but
    slowly: given it, the texture network reached in 30 epochs what took it 60 without (one run each;
    docs/results.md, section 7).
    """

    def __init__(self, gain: float = 4.0) -> None:
        super().__init__()
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blur = nn.functional.avg_pool2d(nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), 3, 1)
        return torch.cat([x, self.gain * (x - blur)], 1)


class TextureNet(nn.Module):
    """High-pass input, pixel-unshuffle stem, four conv stages, multi-scale mean/std pooling, BatchNorm1d, dropout,
    linear head. ``highpass=False`` is the network of runs made before the high-pass input (RGB only)."""

    compile_pays = True
    """Many small ops (BatchNorm, ReLU, per-stage mean/std): torch.compile fuses them, 1.6x per training step on the
    CPU (``--compile auto`` uses it; docs/benchmarks.md, ``texture-speed``)."""

    def __init__(self, num_classes: int, width: int = 32, depth: int = 1, dropout: float = 0.2,
                 highpass: bool = True, peaks: bool = False, global_view: bool = False, view_size: int = 0) -> None:
        super().__init__()
        self.peaks = peaks
        self.global_view = global_view
        """Inputs may carry 6 channels: the crop, then a subsample of the whole picture (classify.crops.GlobalView).
        A 3-channel input is its own whole picture, evenly subsampled to ``view_size`` px as in training (a larger
        picture's histogram over every pixel would differ from the one training saw)."""
        self.view_size = view_size
        channels = [width, width * 3 // 2, width * 2, width * 3]
        self.highpass = HighPass() if highpass else nn.Identity()
        stages, cin = [], 24 if highpass else 12  # pixel_unshuffle(2) of RGB (and its residual)
        for i, cout in enumerate(channels):
            layers = [_conv_bn_relu(cin, cout, stride=1 if i == 0 else 2)]
            layers += [_conv_bn_relu(cout, cout) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.feature_dim = (2 * sum(channels) + (PEAK_FEATURES if peaks else 0)
                            + (GLOBAL_FEATURES if global_view else 0))
        self.norm = nn.BatchNorm1d(self.feature_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each stage, for Gram-matrix style statistics. An odd side loses its last pixel row or
        column to the 2 x 2 pixel unshuffle (so any ``--size`` works). A global view (channels 3-5) is ignored."""
        x = self.highpass(x[:, :3])
        maps, x = [], nn.functional.pixel_unshuffle(x[..., :x.shape[-2] // 2 * 2, :x.shape[-1] // 2 * 2], 2)
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        crop = x[:, :3]
        stats = [mean_std(m) for m in self.feature_maps(crop)]
        if self.global_view:
            stats.insert(0, colour_peaks(x[:, 3:] if x.shape[1] == 6 else self._subsample(crop), GLOBAL_BITS,
                                         GLOBAL_TOP))
        return self.norm(torch.cat(([colour_peaks(crop)] if self.peaks else []) + stats, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.forward_features(x)))

    def _subsample(self, x: torch.Tensor) -> torch.Tensor:
        """Every (H/view_size)-th pixel, as ``classify.crops.whole_view`` takes it (no larger than ``x``)."""
        h, w = x.shape[-2:]
        if not self.view_size or (h <= self.view_size and w <= self.view_size):
            return x
        rows = torch.arange(min(h, self.view_size), device=x.device) * h // min(h, self.view_size)
        cols = torch.arange(min(w, self.view_size), device=x.device) * w // min(w, self.view_size)
        return x[..., rows[:, None], cols[None, :]]


CLASSIFIERS: dict[str, Callable[..., nn.Module]] = {  # (num_classes, img_size, width, depth, pool, **texture options)
    "inclass": lambda num_classes, img_size, width, depth, pool, **_: InClassNet(num_classes, img_size),
    "simple-cnn": lambda num_classes, img_size, width, depth, pool, **_: SimpleCNN(num_classes, img_size, width),
    "resnet": lambda num_classes, img_size, width, depth, pool, **_: ResNet(num_classes, img_size, width, depth,
                                                                           pool=pool),
    "texture": lambda num_classes, img_size, width, depth, pool, **texture: TextureNet(num_classes, width, depth,
                                                                                       view_size=img_size, **texture),
}


def build_classifier(name: str, num_classes: int, img_size: int = 128, width: int = 32, depth: int = 1,
                     pool: str = "avg", highpass: bool = True, peaks: bool = False,
                     global_view: bool = False) -> nn.Module:
    """Build a classifier from the registry by ``name`` (``pool`` applies to resnet only; ``highpass``, ``peaks``
    and ``global_view`` to texture only: ``highpass=False`` gives the texture network of runs made before its
    high-pass input, ``peaks=False`` the one of runs made before :func:`colour_peaks`, ``global_view=False`` the one
    of runs made before the global view)."""
    from artstyle.errors import ArtstyleError

    if name not in CLASSIFIERS:
        raise ArtstyleError(f"--model {name!r} is not one of: {', '.join(CLASSIFIERS)}")
    if pool not in POOLS:
        raise ArtstyleError(f"--pool {pool!r} is not one of: {', '.join(POOLS)}")
    if pool != "avg" and name != "resnet":
        raise ArtstyleError(f"--pool {pool} applies to --model resnet only; {name} has its own fixed head")
    texture = {"highpass": highpass, "peaks": peaks, "global_view": global_view}
    return CLASSIFIERS[name](num_classes, img_size, width, depth, pool, **texture)
