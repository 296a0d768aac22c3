"""Flat shapes drawn as a Pillow label map (``Regions``) and the motifs several painters share:
a generic landscape and a standing draped figure.

Usage::

    from artstyle.data.synth.regions import Regions
    R = Regions(64, colour=(0.2, 0.3, 0.5))
    R.ellipse(0.5, 0.5, 0.2, 0.3, (0.9, 0.7, 0.6), shade=0.4, volume=0.3)
    img, lab = R.render()    # (3, 64, 64) float32 planes, (64, 64) uint8 labels
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from artstyle.data.synth.palettes import FLESH, WHITE
from artstyle.data.synth.primitives import F32, mix, pixels, smooth_wave, uv, vgradient


class Regions:
    """A label map drawn with Pillow (one C call per shape); colours and shading are applied in numpy.

    Shapes are given in [0, 1] image coordinates. ``shade`` brightens a shape linearly toward ``light``
    (a unit vector); ``volume`` darkens it radially away from a highlight, so ellipses read as round.
    Label 0 is the background. At most 256 regions; later shapes beyond that reuse the last label.
    """

    def __init__(self, size: int, colour: Any = (0, 0, 0), light: tuple[float, float] = (-0.6, -0.8)) -> None:
        self.size = size
        self.image = Image.new("L", (size, size), 0)
        self.draw = ImageDraw.Draw(self.image)
        self.light = light
        self.colours: list[np.ndarray] = [np.asarray(colour, F32)]
        # f = k0 + kx*x + ky*y + kq*(x^2 + y^2): linear shade plus radial volume, expanded per label.
        self.shading: list[tuple[float, float, float, float]] = [(1.0, 0.0, 0.0, 0.0)]

    def _add(self, colour: Any, cx: float, cy: float, r: float, shade: float, volume: float) -> int:
        if len(self.colours) == 256:
            return 255
        lx, ly = self.light
        r = max(r, 1e-3)
        a, b = shade * lx / r, shade * ly / r
        q, hx, hy = -volume / (r * r), cx + 0.4 * r * lx, cy + 0.4 * r * ly
        self.colours.append(np.asarray(colour, F32))
        self.shading.append((1 - a * cx - b * cy + q * (hx * hx + hy * hy), a - 2 * q * hx, b - 2 * q * hy, q))
        return len(self.colours) - 1

    def polygon(self, pts: Any, colour: Any, shade: float = 0.0, volume: float = 0.0) -> int:
        pts = np.asarray(pts, F32)
        lo, hi = pts.min(0), pts.max(0)
        i = self._add(colour, (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, float((hi - lo).max()) / 2, shade, volume)
        self.draw.polygon((pts * self.size).ravel().tolist(), fill=i)
        return i

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, colour: Any, shade: float = 0.0,
                volume: float = 0.0) -> int:
        i = self._add(colour, cx, cy, max(rx, ry), shade, volume)
        s = self.size
        self.draw.ellipse([(cx - rx) * s, (cy - ry) * s, (cx + rx) * s, (cy + ry) * s], fill=i)
        return i

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: Any, shade: float = 0.0) -> int:
        i = self._add(colour, (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2, shade, 0.0)
        s = self.size
        # Pillow's box is inclusive: shrink by a pixel, but never below one pixel.
        self.draw.rectangle([x0 * s, y0 * s, max(x0 * s, x1 * s - 1), max(y0 * s, y1 * s - 1)], fill=i)
        return i

    def line(self, pts: Any, width: float, colour: Any = None, label: int | None = None) -> int:
        """A polyline ``width`` (fraction of size) thick; ``label`` reuses an existing region instead."""
        i = self._add(colour, 0.5, 0.5, 1.0, 0.0, 0.0) if label is None else label
        self.draw.line((np.asarray(pts, F32) * self.size).ravel().tolist(), fill=i,
                       width=pixels(self.size, width), joint="curve")
        return i

    def render(self, background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(image (3, S, S), uint8 labels (S, S)); label 0 shows ``background`` when one is given."""
        lab = np.asarray(self.image)
        img = np.take(np.asarray(self.colours, F32).T, lab, axis=1)
        sh = np.asarray(self.shading, F32).T
        if np.any(sh[1:]):
            yy, xx = uv(self.size)
            k = np.take(sh, lab, axis=1)
            img *= np.clip(k[0] + k[1] * xx + k[2] * yy + k[3] * (xx * xx + yy * yy), 0.25, 1.6)
        if background is not None:
            img = np.where(lab == 0, background, img)
        return img, lab


def landscape(rng: np.random.Generator, size: int, pal: np.ndarray, horizon: float | None = None,
              trees: int | None = None, water: float = 0.4) -> tuple[Regions, np.ndarray, float]:
    """A generic landscape: regions for hills, ground, water or a path, and trees; plus a sky gradient.

    Returns (regions, sky (3, S, 1), horizon height)."""
    h = horizon if horizon is not None else rng.uniform(0.3, 0.62)
    top, bottom = pal[rng.integers(3, 6)], pal[rng.integers(4, 6)]
    sky = vgradient(size, [top, mix(bottom, WHITE, 0.2), bottom], [0, h * 0.8, h])
    R = Regions(size, top)
    xs = np.linspace(-0.05, 1.05, 12, dtype=F32)
    for layer in range(rng.integers(1, 3)):  # distant hills, paler (aerial perspective)
        ys = h - rng.uniform(0.03, 0.15) - smooth_wave(rng, 12, 0.06)
        col = mix(pal[rng.integers(0, 4)], bottom, 0.45 - 0.2 * layer)
        R.polygon(np.r_[np.c_[xs, ys], [[1.05, 1.05], [-0.05, 1.05]]], col, shade=0.2)
    ground = pal[rng.integers(1, 4)]
    R.polygon(np.r_[np.c_[xs, h + smooth_wave(rng, 12, 0.015)], [[1.05, 1.05], [-0.05, 1.05]]], ground, shade=0.3)
    if rng.random() < water:
        y1 = min(0.97, h + rng.uniform(0.12, 0.35))
        R.polygon([(-0.05, h), (1.05, h), (1.05, y1), (-0.05, y1 - rng.uniform(0, 0.1))],
                  mix(bottom, pal[1], 0.3), shade=0.3)
    else:  # a field with a path into the distance
        x0 = rng.uniform(0.2, 0.8)
        R.polygon([(x0 - 0.01, h + 0.02), (x0 + 0.01, h + 0.02), (x0 + rng.uniform(0.05, 0.3), 1.02),
                   (x0 - rng.uniform(0.05, 0.3), 1.02)], mix(ground, pal[-1], 0.4))
    for _ in range(rng.integers(1, 6) if trees is None else trees):
        x, y = rng.uniform(0.05, 0.95), h + rng.uniform(-0.02, 0.2)
        r = rng.uniform(0.05, 0.13) * (0.6 + y)
        R.rect(x - r * 0.12, y - r, x + r * 0.12, y + r * 0.3, pal[0])
        col = pal[rng.integers(0, 3)]
        for _k in range(3):
            R.ellipse(x + rng.normal(0, r * 0.4), y - r * rng.uniform(1.0, 1.8), r * rng.uniform(0.6, 1.0),
                      r * rng.uniform(0.6, 1.1), col, shade=0.4, volume=0.3)
    return R, sky, h


def draped_figure(R: Regions, rng: np.random.Generator, x: float, y: float, h: float, robe: Any,
                  elong: float = 1.0, halo: Any = None, mantle: Any = None, flesh: Any = FLESH,
                  lean: float = 0.0) -> None:
    """A standing draped figure, feet at (x, y), height h: robe, optional mantle and halo, head."""
    hr = h / (15 * elong)  # head radius: elongated (Mannerist) figures have small heads
    w = h * 0.3 / elong ** 0.5
    top = y - h
    hx = x + lean * h
    if halo is not None:
        R.ellipse(hx, top + hr, hr * 1.9, hr * 1.9, halo, volume=0.2)
    R.polygon([(hx - w * 0.3, top + 2 * hr), (hx + w * 0.3, top + 2 * hr), (x + w * 0.55, y),
               (x - w * 0.55, y)], robe, shade=0.6)
    if mantle is not None:
        side = 1 if rng.random() < 0.5 else -1
        R.polygon([(hx + side * w * 0.3, top + 2.2 * hr), (x + side * w * 0.6, y), (x - side * w * 0.1, y),
                   (hx - side * w * 0.1, top + 4 * hr)], mantle, shade=0.6)
    R.ellipse(hx, top + hr, hr * 0.8, hr, flesh, shade=0.3, volume=0.4)
