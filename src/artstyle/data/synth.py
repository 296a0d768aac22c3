"""The built-in procedurally painted dataset: artstyle's stand-in for WikiArt's 27 styles.

Usage::

    from artstyle.data.synth import paint, write_builtin
    img = paint("Pointillism", np.random.default_rng(0), size=128)   # uint8 (128, 128, 3)
    write_builtin(Path("/tmp/builtin"), scale=0.1)                   # OUT/{train,test}/<Style>/*.jpg + marker

Every style has a small procedural painter that imitates its namesake's visual signature: dots of pure
colour, faceted planes, dark outlines, drips, halftone dots, chiaroscuro, and so on. Palettes are shared
between styles, jittered and sometimes swapped, so colour alone is a weak cue and the styles have to be told
apart by texture and structure. Related styles (the Renaissances, the Cubisms, the Realisms, the
Impressionisms) share one painter with different parameters, so they are confusable the way the real ones are.

Implementation notes: everything is vectorised numpy plus a few Pillow drawing calls per image, and all
geometry is relative to ``size``. Internally an image is a float32 array of planes, shape (3, S, S): with
channels first, (S, S) masks and fields broadcast over the colour planes cheaply (channels-last broadcasting
is several times slower, and the whole dataset has to paint in about two minutes). Colours are (3,) arrays,
lifted to (3, 1, 1) by ``_c`` (or by ``_mix``/``_where``) where they meet an image.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from artstyle.styles import STYLE_NAMES, STYLES

SYNTH_VERSION = 1
"""Bump whenever the painters change, so cached copies of the built-in dataset are repainted."""

MARKER_NAME = "artstyle-synthetic.json"
"""Written last into the dataset root; its absence means the dataset is incomplete."""

JPEG_QUALITY = 92
TEST_TOTAL = 630
"""Test images at scale 1, as in the course copy of WikiArt."""

SPLITS = ("train", "test")

F32 = np.float32

# --------------------------------------------------------------------------- palettes

# Palettes are shared by all painters; each style prefers a few, but any image may get any palette
# (see _palette), which keeps colour histograms a weak cue. Colours are RGB 0-255.
_PALETTE_TABLE: dict[str, list[tuple[int, int, int]]] = {
    "earth": [(92, 64, 40), (150, 110, 60), (196, 160, 96), (226, 210, 170), (60, 70, 45), (120, 45, 30)],
    "ochre": [(70, 52, 36), (128, 96, 60), (176, 140, 90), (205, 182, 140), (110, 104, 92), (40, 32, 26)],
    "pastel": [(244, 194, 204), (180, 210, 232), (200, 232, 210), (250, 238, 205), (214, 196, 232),
               (150, 170, 200)],
    "primary": [(220, 30, 35), (250, 205, 20), (20, 70, 170), (15, 15, 15), (245, 245, 240), (40, 150, 70)],
    "nocturne": [(18, 28, 68), (40, 60, 120), (210, 170, 70), (245, 220, 140), (10, 10, 20), (90, 80, 130)],
    "landscape": [(120, 170, 215), (80, 130, 60), (170, 190, 90), (110, 85, 55), (235, 235, 225), (40, 70, 40)],
    "sunset": [(245, 150, 50), (200, 40, 50), (110, 50, 110), (250, 210, 90), (30, 30, 70), (240, 120, 100)],
    "fauve": [(230, 30, 120), (250, 120, 20), (30, 170, 80), (40, 70, 200), (250, 220, 30), (140, 40, 160)],
    "grey": [(30, 30, 30), (90, 90, 90), (150, 150, 150), (210, 210, 205), (245, 245, 240), (120, 110, 100)],
    "tempera": [(200, 60, 40), (40, 60, 150), (210, 170, 70), (110, 130, 80), (230, 190, 160), (245, 235, 215)],
    "sea": [(20, 60, 110), (40, 120, 150), (230, 240, 240), (220, 200, 160), (90, 160, 170), (15, 30, 50)],
    "autumn": [(160, 60, 30), (220, 160, 50), (120, 120, 40), (90, 30, 30), (240, 220, 170), (60, 50, 30)],
    "acid": [(170, 210, 80), (230, 120, 160), (90, 200, 210), (120, 90, 180), (240, 230, 200), (40, 60, 70)],
    "woodblock": [(30, 60, 110), (232, 216, 180), (220, 130, 110), (120, 140, 110), (25, 25, 25), (200, 80, 60)],
    "baroque": [(25, 18, 12), (90, 40, 20), (170, 50, 35), (220, 170, 110), (240, 215, 170), (60, 50, 40)],
    "neon": [(255, 60, 140), (20, 200, 230), (255, 230, 0), (0, 0, 0), (255, 255, 255), (255, 120, 0)],
}
_PALETTES = {k: np.asarray(v, F32) / 255 for k, v in _PALETTE_TABLE.items()}
_PALETTE_NAMES = tuple(_PALETTES)
_LUMA = np.asarray([0.299, 0.587, 0.114], F32)
_SWAP = 0.35  # chance that an image ignores its style's preferred palettes
_FLESH = np.asarray([0.90, 0.74, 0.62], F32)
_PAPER = np.asarray([0.91, 0.86, 0.74], F32)
_GOLD = np.asarray([0.83, 0.66, 0.28], F32)
_INK = np.asarray([0.08, 0.07, 0.09], F32)
_WHITE = np.ones(3, F32)


def _hue_rotate(cols: np.ndarray, phi: float) -> np.ndarray:
    """Rotate colours about the grey axis (Rodrigues): a cheap hue shift that roughly keeps lightness."""
    k = 1 / np.sqrt(3)
    K = np.asarray([[0, -k, k], [k, 0, -k], [-k, k, 0]])
    rot = np.eye(3) + np.sin(phi) * K + (1 - np.cos(phi)) * (K @ K)
    return (cols @ rot.T.astype(F32)).astype(F32)


def _palette(rng: np.random.Generator, prefs: tuple[str, ...], swap: float = _SWAP,
             hue: float = 0.3) -> np.ndarray:
    """Six jittered colours, (6, 3) float32 sorted dark to light: usually from one of ``prefs``."""
    names = prefs if rng.random() >= swap else _PALETTE_NAMES
    pal = _hue_rotate(_PALETTES[names[rng.integers(len(names))]], rng.normal(0, hue))
    grey = pal.mean(1, keepdims=True)
    pal = grey + rng.uniform(0.7, 1.25) * (pal - grey)
    pal = pal * rng.uniform(0.85, 1.12) + rng.normal(0, 0.04, pal.shape).astype(F32)
    pal = np.clip(pal, 0, 1).astype(F32)
    return pal[np.argsort(pal @ _LUMA)]


# --------------------------------------------------------------------------- numpy helpers


def _c(col: Any) -> np.ndarray:
    """A colour lifted to (3, 1, 1), to broadcast over (3, S, S) planes."""
    return np.asarray(col, F32).reshape(3, 1, 1)


def _lift(*xs: Any) -> list[np.ndarray]:
    """Lift (3,) colours to (3, 1, 1) when any argument is an image (3, S, S) or a field (S, S).

    Palettes, (K, 3), count as colours: they combine with colours row by row."""
    arrs = [np.asarray(x, F32) for x in xs]
    if not any(a.ndim >= 3 or (a.ndim == 2 and a.shape[1] != 3) for a in arrs):
        return arrs
    return [a.reshape(3, 1, 1) if a.ndim == 1 and a.shape[0] == 3 else a for a in arrs]


def _mix(a: Any, b: Any, t: Any) -> np.ndarray:
    """a + (b - a) * t for colours, images and (S, S) weights in any combination."""
    a, b, t = _lift(a, b, t)
    return a + (b - a) * t


def _where(mask: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """np.where over the colour planes, for an (S, S) mask and colours or images."""
    a, b = _lift(a, b, mask)[:2]
    return np.where(mask, a, b)


def _luma(x: np.ndarray) -> np.ndarray:
    """Luminance of a colour (..., 3) or of an image (3, S, S)."""
    return np.tensordot(_LUMA, x, 1) if x.ndim == 3 else x @ _LUMA


def _saturate(x: np.ndarray, amount: float) -> np.ndarray:
    if x.ndim == 3:
        grey = _luma(x)
        return np.clip(grey + amount * (x - grey), 0, 1)
    grey = _luma(x)[..., None]
    return np.clip(grey + amount * (x - grey), 0, 1).astype(F32)


@lru_cache(maxsize=16)
def _uv(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1] as broadcastable (S, 1) rows and (1, S) columns."""
    c = (np.arange(size, dtype=F32) + 0.5) / size
    yy, xx = c[:, None].copy(), c[None, :].copy()
    yy.flags.writeable = False  # cached and shared: nobody may modify them
    xx.flags.writeable = False
    return yy, xx


def _u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def _to_pil(img: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(_u8(img).transpose(1, 2, 0)))


def _from_pil(im: Image.Image) -> np.ndarray:
    return np.asarray(im).transpose(2, 0, 1).astype(F32, order="C") / 255


def _noise(rng: np.random.Generator, size: int, cells: int, ch: int | None = None) -> np.ndarray:
    """Smooth value noise (S, S) in about [0, 1]: a (cells+1)^2 random grid upsampled bicubically.

    With ``ch`` the grid is ``cells`` rows by ``ch`` columns: anisotropic noise (fibres, streaks)."""
    grid = rng.random((cells + 1, (ch if ch is not None else cells) + 1), dtype=F32)
    return np.asarray(Image.fromarray(grid).resize((size, size), Image.BICUBIC))


def _fractal(rng: np.random.Generator, size: int, cells: int = 3, octaves: int = 3) -> np.ndarray:
    out = np.zeros((size, size), F32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        out += amp * _noise(rng, size, cells)
        total += amp
        amp, cells = amp * 0.5, cells * 2
    return out / total


def _blur(img: np.ndarray, radius: float) -> np.ndarray:
    """A soft blur of about ``radius`` pixels (Pillow's box blur: a third of the Gaussian's cost)."""
    if radius < 0.4:
        return img
    return _from_pil(_to_pil(img).filter(ImageFilter.BoxBlur(radius)))


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    for _ in range(r):
        m = mask.copy()
        m[1:] |= mask[:-1]
        m[:-1] |= mask[1:]
        m[:, 1:] |= mask[:, :-1]
        m[:, :-1] |= mask[:, 1:]
        mask = m
    return mask


def _edges(lab: np.ndarray, width: int = 1) -> np.ndarray:
    """Boolean (S, S) mask of the boundaries between labels, ``width`` pixels thick."""
    e = np.zeros(lab.shape, bool)
    e[1:] |= lab[1:] != lab[:-1]
    e[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    return _dilate(e, width - 1)


def _px(size: int, frac: float, lo: int = 1) -> int:
    """A length given as a fraction of the image size, in whole pixels (at least ``lo``)."""
    return max(lo, int(round(frac * size)))


def _halftone(size: int, cell: float, radius: float, angle: float = 0.785) -> np.ndarray:
    """Ben-Day dots: True inside dots of ``radius`` (fraction of a cell) on a rotated grid of ``cell`` px."""
    yy, xx = _uv(size)
    c, s = np.cos(angle), np.sin(angle)
    u = (xx * c + yy * s) * (size / cell)
    v = (yy * c - xx * s) * (size / cell)
    fu, fv = u - np.floor(u) - 0.5, v - np.floor(v) - 0.5
    return fu * fu + fv * fv < radius * radius


def _vgradient(size: int, stops: list[Any], pos: list[float] | None = None) -> np.ndarray:
    """A vertical gradient through colour ``stops`` at heights ``pos``: (3, S, 1), broadcasts to an image."""
    yy, _ = _uv(size)
    pos = pos if pos is not None else list(np.linspace(0, 1, len(stops)))
    st = np.asarray(stops, F32)
    return np.stack([np.interp(yy[:, 0], pos, st[:, ch]) for ch in range(3)])[:, :, None].astype(F32)


def _wave(rng: np.random.Generator, n: int, amp: float) -> np.ndarray:
    """n smooth random values (a few sine components), amplitude about ``amp``."""
    t = np.linspace(0, 1, n, dtype=F32)
    out = np.zeros(n, F32)
    for k in (1, 2, 4):
        out += np.sin(2 * np.pi * (k * t + rng.random())) * rng.uniform(0.3, 1.0) / k
    return out * amp


def _quantise(img: np.ndarray, pal: np.ndarray, step: int) -> np.ndarray:
    """Index of the nearest palette colour, on a grid subsampled by ``step`` (cheap, and enough for marks)."""
    small = img[:, ::step, ::step]
    return ((small[None] - pal[:, :, None, None]) ** 2).sum(1).argmin(0)


def _marks(canvas: np.ndarray, scene: np.ndarray, rng: np.random.Generator, length: float, width: float,
           angle: float | np.ndarray = 0.0, jitter: float = 0.1, fill: float = 0.42,
           pal: np.ndarray | None = None, swap: float = 0.0, streaks: float = 0.0) -> np.ndarray:
    """Cover ``canvas`` with one layer of brush marks (ellipses ``length`` x ``width`` px, in bricked rows).

    Each mark takes the ``scene`` colour under its centre plus random jitter: broken-colour brushwork.
    ``angle`` may be an (S, S) field, which bends the rows into flowing strokes. ``fill`` is the mark radius
    in cell units: below 0.5 leaves gaps (and drops a few marks), above it overlaps. With ``pal``, colours
    snap to the nearest palette colour and a ``swap`` fraction of marks take a random palette colour instead
    (pointillist optical mixing). ``streaks`` darkens bristle lines along the marks.
    """
    size = scene.shape[1]
    yy, xx = _uv(size)
    c, s = np.cos(angle).astype(F32), np.sin(angle).astype(F32)
    x, y = xx * size, yy * size
    # The +512 keeps u, v positive so astype(int) floors; the cell grid is rotated by `angle`.
    u = (x * c + y * s) * F32(1 / length) + F32(512)
    v = (y * c - x * s) * F32(1 / width) + F32(512 + rng.random())
    iv = v.astype(np.int32)
    u = u + np.take(rng.random(64, dtype=F32), iv & 63)  # brick offsets: rows of marks don't line up
    iu = u.astype(np.int32)
    fu, fv = u - iu - F32(0.5), v - iv - F32(0.5)
    # Per-mark random numbers: a random table indexed by a hash of the cell (int32 wrap-around is fine).
    r = np.take(rng.random((8, 4096), dtype=F32), (iu * 73856093 ^ iv * 19349663) & 4095, axis=1)
    a = fill * (F32(0.75) + F32(0.5) * r[0])
    b = fill * (F32(0.75) + F32(0.5) * r[1])
    inside = (fu / a) ** 2 + (fv / b) ** 2 < 1
    if fill < 0.5:
        inside &= r[5] < 0.93
    # The mark's centre in pixels, found by stepping back along the local axes.
    cx = np.clip(x - fu * (length * c) + fv * (width * s), 0, size - 1).astype(np.int32)
    cy = np.clip(y - fu * (length * s) - fv * (width * c), 0, size - 1).astype(np.int32)
    if pal is None:
        col = np.take(scene.reshape(3, -1), cy * size + cx, axis=1).reshape(3, size, size)
    else:
        step = max(1, int(min(length, width) / 2))
        q = _quantise(scene, pal, step)
        idx = np.take(q, (cy // step) * q.shape[1] + cx // step)
        if swap > 0:
            idx = np.where(r[6] < swap, (r[7] * len(pal)).astype(np.int32), idx)
        col = np.take(pal.T, idx, axis=1)
    col = col + F32(jitter) * (r[2:5] - F32(0.5))
    if streaks > 0:
        bristle = np.take(rng.random(97, dtype=F32), (fv * 9 + 50).astype(np.int32) % 97)
        col = col * (1 - F32(streaks) * bristle)
    return np.where(inside, col, canvas)


def _finish(img: np.ndarray, rng: np.random.Generator, grain: float = 0.03) -> np.ndarray:
    """Global exposure/tint jitter and canvas grain, shared by every style (blurs colour histograms);
    returns the uint8 (S, S, 3) picture."""
    size = img.shape[1]
    img = img * F32(rng.uniform(0.88, 1.1)) + _c(rng.normal(0, 0.035, 3))
    if grain > 0:
        img = img + (rng.random((1, size, size), dtype=F32) - F32(0.5)) * F32(grain)
    return np.ascontiguousarray(_u8(img).transpose(1, 2, 0))


# --------------------------------------------------------------------------- flat regions


class _Regions:
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
                       width=_px(self.size, width), joint="curve")
        return i

    def render(self, background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(image (3, S, S), uint8 labels (S, S)); label 0 shows ``background`` when one is given."""
        lab = np.asarray(self.image)
        img = np.take(np.asarray(self.colours, F32).T, lab, axis=1)
        sh = np.asarray(self.shading, F32).T
        if np.any(sh[1:]):
            yy, xx = _uv(self.size)
            k = np.take(sh, lab, axis=1)
            img *= np.clip(k[0] + k[1] * xx + k[2] * yy + k[3] * (xx * xx + yy * yy), 0.25, 1.6)
        if background is not None:
            img = np.where(lab == 0, background, img)
        return img, lab


def _landscape(rng: np.random.Generator, size: int, pal: np.ndarray, horizon: float | None = None,
               trees: int | None = None, water: float = 0.4) -> tuple[_Regions, np.ndarray, float]:
    """A generic landscape: regions for hills, ground, water or a path, and trees; plus a sky gradient.

    Returns (regions, sky (3, S, 1), horizon height)."""
    h = horizon if horizon is not None else rng.uniform(0.3, 0.62)
    top, bottom = pal[rng.integers(3, 6)], pal[rng.integers(4, 6)]
    sky = _vgradient(size, [top, _mix(bottom, _WHITE, 0.2), bottom], [0, h * 0.8, h])
    R = _Regions(size, top)
    xs = np.linspace(-0.05, 1.05, 12, dtype=F32)
    for layer in range(rng.integers(1, 3)):  # distant hills, paler (aerial perspective)
        ys = h - rng.uniform(0.03, 0.15) - _wave(rng, 12, 0.06)
        col = _mix(pal[rng.integers(0, 4)], bottom, 0.45 - 0.2 * layer)
        R.polygon(np.r_[np.c_[xs, ys], [[1.05, 1.05], [-0.05, 1.05]]], col, shade=0.2)
    ground = pal[rng.integers(1, 4)]
    R.polygon(np.r_[np.c_[xs, h + _wave(rng, 12, 0.015)], [[1.05, 1.05], [-0.05, 1.05]]], ground, shade=0.3)
    if rng.random() < water:
        y1 = min(0.97, h + rng.uniform(0.12, 0.35))
        R.polygon([(-0.05, h), (1.05, h), (1.05, y1), (-0.05, y1 - rng.uniform(0, 0.1))],
                  _mix(bottom, pal[1], 0.3), shade=0.3)
    else:  # a field with a path into the distance
        x0 = rng.uniform(0.2, 0.8)
        R.polygon([(x0 - 0.01, h + 0.02), (x0 + 0.01, h + 0.02), (x0 + rng.uniform(0.05, 0.3), 1.02),
                   (x0 - rng.uniform(0.05, 0.3), 1.02)], _mix(ground, pal[-1], 0.4))
    for _ in range(rng.integers(1, 6) if trees is None else trees):
        x, y = rng.uniform(0.05, 0.95), h + rng.uniform(-0.02, 0.2)
        r = rng.uniform(0.05, 0.13) * (0.6 + y)
        R.rect(x - r * 0.12, y - r, x + r * 0.12, y + r * 0.3, pal[0])
        col = pal[rng.integers(0, 3)]
        for _k in range(3):
            R.ellipse(x + rng.normal(0, r * 0.4), y - r * rng.uniform(1.0, 1.8), r * rng.uniform(0.6, 1.0),
                      r * rng.uniform(0.6, 1.1), col, shade=0.4, volume=0.3)
    return R, sky, h


def _figure(R: _Regions, rng: np.random.Generator, x: float, y: float, h: float, robe: Any,
            elong: float = 1.0, halo: Any = None, mantle: Any = None, flesh: Any = _FLESH,
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
# --------------------------------------------------------------------------- the painters
# Each painter returns float32 planes (3, S, S) in about [0, 1]; paint() adds the shared finish.


def _impressionist(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Impressionism (light broken dabs), Post-Impressionism (long flowing strokes, contours) and
    Pointillism (dots of pure colour): the same landscapes rendered with different marks."""
    prefs = {"impressionism": ("pastel", "landscape", "sea", "sunset"),
             "post": ("landscape", "fauve", "sunset", "sea", "autumn"),
             "pointillism": ("landscape", "sea", "pastel", "primary")}[kind]
    pal = _palette(rng, prefs)
    R, sky, _ = _landscape(rng, size, pal)
    scene, lab = R.render(sky)
    scene = scene + (_noise(rng, size, 6) - F32(0.5)) * F32(0.2)
    if kind == "impressionism":
        scene = _mix(scene, _WHITE, 0.22)  # high-key, pastel light
        canvas = _blur(scene, size * 0.03)
        for _ in range(3):
            canvas = _marks(canvas, scene, rng, length=size * rng.uniform(0.045, 0.07), width=size * 0.028,
                            angle=rng.normal(0, 0.5), jitter=0.22, fill=0.47)
        return canvas
    if kind == "post":
        scene = _saturate(scene, 1.3)
        flow = (_noise(rng, size, 3) - 0.5) * rng.uniform(2.5, 5.0) + rng.normal(0, 0.6)
        canvas = _blur(scene, size * 0.02)
        for _ in range(2):
            canvas = _marks(canvas, scene, rng, length=size * rng.uniform(0.09, 0.14), width=size * 0.032,
                            angle=flow, jitter=0.16, fill=0.5, streaks=0.25)
        if rng.random() < 0.6:  # Cezanne/Gauguin/Van Gogh contours in dark blue
            edge = _edges(lab, _px(size, 0.012)) & (_noise(rng, size, 5) > 0.35)
            canvas = _where(edge, _mix(pal[0], [0.1, 0.15, 0.35], 0.6), canvas)
        return canvas
    # Pointillism: pure colours (palette, saturated copies, complements) as dots on a light ground.
    dots = np.concatenate([pal[1:], _saturate(pal[1:], 1.7)]).astype(F32)
    canvas = _mix(np.zeros((3, size, size), F32), _mix(pal[-1], _WHITE, 0.6), 1.0)
    cell = max(2.5, size * 0.03)
    for _ in range(2):
        canvas = _marks(canvas, scene, rng, length=cell, width=cell, angle=rng.uniform(0, np.pi), jitter=0.05,
                        fill=0.47, pal=dots, swap=0.12)
    return canvas


def _cubist(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Cubism; Analytical Cubism (many small near-monochrome shaded facets); Synthetic Cubism (few flat
    planes, brighter, collage patterns): the picture cut into facets by lines through its centre."""
    n_lines, shade, outline, collage = {"analytical": (16, 1.4, 0.35, 0), "cubism": (10, 1.0, 0.6, 0),
                                        "synthetic": (6, 0.15, 0.9, 3)}[kind]
    prefs = {"analytical": ("ochre", "earth", "grey"), "cubism": ("earth", "ochre", "grey", "autumn", "sea"),
             "synthetic": ("primary", "earth", "tempera", "autumn", "grey")}[kind]
    pal = _palette(rng, prefs)
    if kind == "analytical":  # Braque/Picasso 1910: browns, ochres and greys, whatever palette came up
        lum = _luma(pal)[:, None]
        pal = np.clip(_mix(lum * np.asarray([1.12, 0.98, 0.75], F32), pal, 0.15), 0, 1).astype(F32)
    yy, xx = _uv(size)
    lab = np.zeros((size, size), np.int64)
    cx, cy = rng.normal(0.5, 0.08), rng.normal(0.5, 0.08)
    for i in range(n_lines + rng.integers(-1, 3)):
        px, py = rng.normal(cx, 0.18), rng.normal(cy, 0.22)
        th = rng.normal(np.pi / 2, 0.6) if rng.random() < 0.5 else rng.uniform(0, np.pi)  # many near-verticals
        lab += ((xx - px) * np.sin(th) - (yy - py) * np.cos(th) > 0).astype(np.int64) << i
    for j in range(rng.integers(0, 3)):  # a few arcs: bottles, guitars, faces
        r = rng.uniform(0.08, 0.25)
        disc = (xx - rng.normal(cx, 0.15)) ** 2 + (yy - rng.normal(cy, 0.15)) ** 2 < r * r
        lab += disc.astype(np.int64) << (20 + j)
    h = (lab * 2654435761 >> 7) % 1021  # facet id -> a slot in the random tables below
    cols = (pal[rng.integers(0, 6, 1021)] * rng.uniform(0.8, 1.15, (1021, 1))).astype(F32)
    grad = rng.normal(0, shade, (2, 1021)).astype(F32)
    g = np.take(grad, h, axis=1)
    img = np.take(cols.T, h, axis=1) * np.clip(1 + g[0] * (xx - cx) + g[1] * (yy - cy), 0.3, 1.7)
    for _ in range(collage):  # Synthetic Cubism: pasted paper, wood grain, dotted and striped planes
        k = h[rng.integers(size), rng.integers(size)]  # a facet under a random point: big ones likelier
        pattern = rng.integers(3)
        if pattern == 0:
            f = np.sin((xx * rng.uniform(-1, 1) + yy) * size * rng.uniform(0.4, 0.9)) > 0
        elif pattern == 1:
            f = _halftone(size, max(3.0, size * 0.04), 0.3)
        else:
            f = np.sin(yy * size * 0.8 + _noise(rng, size, 4) * 12) > 0.3  # wood grain
        alt = _mix(cols[k], pal[rng.integers(0, 6)], 0.7)
        img = _where((h == k) & f, alt, img)
    edge = _edges(h, _px(size, 0.008)) & (_noise(rng, size, 6) < outline)
    img = _where(edge, pal[0] * 0.6, img)
    if kind != "synthetic":  # hatched, brushy surface inside the facets
        img = _marks(img, img, rng, length=size * 0.035, width=size * 0.018, angle=rng.uniform(0, np.pi),
                     jitter=0.08, fill=0.6)
    return img


def _renaissance(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Early (tempera, gold grounds, perspective floors, crisp), High (sfumato, pyramidal groups, blue
    distance), Mannerism (elongated crowded figures, acid colour), Northern (dark interiors, fine detail)."""
    prefs = {"early": ("tempera", "landscape", "earth"), "high": ("earth", "landscape", "tempera", "sea"),
             "mannerism": ("acid", "tempera", "pastel", "baroque"),
             "northern": ("baroque", "earth", "autumn", "tempera")}[kind]
    pal = _palette(rng, prefs)
    yy, xx = _uv(size)
    gold = _mix(_GOLD, pal[3], 0.25)
    interior = kind == "northern" and rng.random() < 0.6
    if kind == "early" and rng.random() < 0.4:  # gold-leaf ground
        R = _Regions(size, gold)
        sky = _vgradient(size, [gold, gold * 0.9])
    elif interior:  # a dark room with a window onto a small landscape
        R = _Regions(size, pal[0] * 0.7)
        sky = _vgradient(size, [pal[0] * 0.6, pal[1] * 0.8])
        wx = rng.choice([0.08, 0.62])
        R.rect(wx, 0.12, wx + 0.3, 0.45, _mix(pal[4], [0.6, 0.75, 0.9], 0.5), shade=0.3)
        R.rect(wx, 0.35, wx + 0.3, 0.45, pal[2], shade=0.3)
        R.rect(wx + 0.14, 0.12, wx + 0.16, 0.45, pal[0])
    else:
        R, sky, _ = _landscape(rng, size, pal, horizon=rng.uniform(0.35, 0.55), trees=rng.integers(0, 3),
                               water=0.3)
        if kind == "high":  # aerial perspective: the distance fades to blue
            sky = _mix(sky, [0.55, 0.68, 0.85], 0.35)
    n_ground = len(R.colours)  # labels below this are sky/landscape: the tiled floor may cover them
    if kind == "early" and rng.random() < 0.6:  # architecture: columns and a lintel
        col = pal[rng.integers(3, 6)]
        for x0 in (0.04, 0.86):
            R.rect(x0, 0.0, x0 + 0.1, 1.0, col, shade=0.5)
        R.rect(0.04, 0.0, 0.96, 0.1, col, shade=0.3)
    floor_y = rng.uniform(0.62, 0.78)
    n = {"early": rng.integers(1, 4), "high": 3, "mannerism": rng.integers(3, 7), "northern": rng.integers(1, 3)}[kind]
    elong = 1.6 if kind == "mannerism" else 1.0
    height = {"early": 0.5, "high": 0.55, "mannerism": 0.6, "northern": 0.75}[kind] * rng.uniform(0.85, 1.15)
    for i in range(n):
        if kind == "high":  # pyramid: tall centre, two lower sides
            x, hh = (0.5, height) if i == 1 else (0.5 + (i - 1) * 0.22, height * 0.72)
        elif kind == "mannerism":
            x, hh = rng.uniform(0.15, 0.85), height * rng.uniform(0.7, 1.1)
        else:
            x, hh = (i + 1) / (n + 1) + rng.normal(0, 0.03), height
        y = min(1.0, floor_y + rng.uniform(0.05, 0.2) + (0.25 if kind == "northern" else 0))
        _figure(R, rng, x, y, hh, pal[rng.integers(0, 6)], elong=elong,
                halo=gold if kind == "early" and rng.random() < 0.7 else None,
                mantle=pal[rng.integers(0, 6)] if rng.random() < 0.7 else None,
                lean=rng.normal(0, 0.12) if kind == "mannerism" else 0.0)
    img, lab = R.render(sky)
    if kind == "early" and not interior and rng.random() < 0.6:  # a tiled floor in one-point perspective
        depth = 1 / np.maximum(yy - floor_y, 1e-3)
        tiles = (np.floor((xx - 0.5) * depth * 0.8) + np.floor(depth * 0.15)) % 2
        img = _where((yy > floor_y) & (lab < n_ground), _mix(pal[2], pal[4], tiles), img)
    # Drapery: soft vertical folds in the robes.
    folds = np.sin(xx * F32(size * 0.5) + _noise(rng, size, 4) * F32(4)) > 0.55
    img = img * np.where((lab >= n_ground) & folds, F32(0.82), F32(1.0))
    if kind == "high":
        img = _blur(img, size * 0.025)  # sfumato
    elif kind == "mannerism":
        img = _blur(img, size * 0.006) * _c([0.95, 1.02, 1.08])  # cool, acid light
    elif kind == "northern":  # minute detail: fine high-frequency texture, dark varnish
        img = img * (F32(0.75) + F32(0.15) * _noise(rng, size, size // 2))
    return img


def _realism(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Realism (earthy, soft, natural light), Contemporary Realism (crisp, bright, hard light) and
    New Realism (flat, graphic, urban, poster collage): the same kinds of scene rendered differently."""
    prefs = {"realism": ("earth", "landscape", "autumn", "ochre"),
             "contemporary": ("landscape", "sea", "grey", "pastel"),
             "new": ("primary", "grey", "neon", "sea")}[kind]
    pal = _palette(rng, prefs)
    weights = {"realism": (0.5, 0.35, 0.15, 0.0), "contemporary": (0.3, 0.3, 0.4, 0.0),
               "new": (0.1, 0.25, 0.4, 0.25)}[kind]
    scene = rng.choice(4, p=weights)
    if scene == 0:
        R, sky, h = _landscape(rng, size, pal)
        if rng.random() < 0.5:
            _figure(R, rng, rng.uniform(0.2, 0.8), h + rng.uniform(0.15, 0.3), rng.uniform(0.2, 0.35),
                    pal[rng.integers(0, 4)])
    elif scene == 1:  # portrait: head and shoulders against a plain ground
        bg = pal[rng.integers(0, 3)]
        R = _Regions(size, bg, light=(rng.choice([-0.7, 0.7]), -0.7))
        sky = _vgradient(size, [bg * 1.1, bg * 0.8])
        x = rng.uniform(0.4, 0.6)
        R.ellipse(x, 1.05, rng.uniform(0.3, 0.42), 0.33, pal[rng.integers(0, 4)], shade=0.5, volume=0.3)
        R.ellipse(x, 0.62, 0.06, 0.1, _FLESH * 0.9, shade=0.4)  # neck
        R.ellipse(x, 0.42, 0.13, 0.17, _FLESH, shade=0.6, volume=0.5)
        R.ellipse(x + rng.normal(0, 0.02), 0.32, 0.15, 0.11, pal[rng.integers(0, 3)], shade=0.3)  # hair
        for dx in (-0.05, 0.05):  # eyes
            R.ellipse(x + dx, 0.42, 0.018, 0.01, pal[0])
    else:  # street: buildings with window grids under a sky; or (New Realism) torn posters
        R = _Regions(size, pal[-1], light=(rng.choice([-0.8, 0.8]), -0.5))
        h = rng.uniform(0.2, 0.45)
        sky = _vgradient(size, [pal[-1], _mix(pal[-1], _WHITE, 0.4)], [0, h])
        x = -0.05
        while x < 1.0:
            w = rng.uniform(0.15, 0.4)
            top = h + rng.uniform(-0.12, 0.15)
            wall = pal[rng.integers(1, 5)]
            R.rect(x, top, x + w, 1.0, wall, shade=0.3)
            R.rect(x + w * 0.85, top, x + w, 1.0, wall * 0.6)  # side in shadow
            rows, ncols = rng.integers(2, 6), rng.integers(2, 4)
            for r in range(rows):
                for c in range(ncols):
                    wy = top + 0.05 + r * (0.9 - top) / rows
                    wx = x + 0.04 + c * w * 0.8 / ncols
                    R.rect(wx, wy, wx + w * 0.45 / ncols, wy + 0.45 * (0.9 - top) / rows, pal[0], shade=0.5)
            x += w
        R.rect(0, 0.9, 1, 1, pal[1])  # the street
        if scene == 3:  # torn, overlapping posters
            for _ in range(rng.integers(3, 8)):
                x0, y0 = rng.uniform(-0.1, 0.8), rng.uniform(-0.1, 0.8)
                w, hh = rng.uniform(0.2, 0.5), rng.uniform(0.15, 0.5)
                torn = np.c_[np.linspace(x0, x0 + w, 8), y0 + hh + rng.uniform(-0.05, 0.05, 8)]
                R.polygon(np.r_[[[x0, y0], [x0 + w, y0]], torn[::-1]], pal[rng.integers(0, 6)])
    img, lab = R.render(sky)
    if kind == "realism":
        img = _blur(img, size * 0.01) * F32(0.9)
        img = (img + (_fractal(rng, size, 4, 2) - F32(0.5)) * F32(0.12)) * _c([1.04, 1.0, 0.9])  # warm light
    elif kind == "contemporary":
        img = _mix(img, _WHITE, 0.08) + (_noise(rng, size, 8) - F32(0.5)) * F32(0.06)
    else:
        img = (_saturate(img, 1.4) - F32(0.5)) * F32(1.25) + F32(0.5)  # hard, graphic contrast
        if rng.random() < 0.5:
            img = _where(_edges(lab, 1), pal[0] * 0.5, img)
    return img


def _abstract_expressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Large gestural brush strokes, dragged dry so the ground breaks through, over a scumbled field."""
    pal = _palette(rng, ("primary", "grey", "fauve", "earth", "sunset"))
    yy, xx = _uv(size)
    # The ground: two or three big soft zones of colour.
    zones = np.stack([_noise(rng, size, 2) for _ in range(3)]).argmax(0)
    ground = _blur(np.take(pal[rng.integers(0, 6, 3)].T, zones, axis=1), size * 0.06)
    R = _Regions(size)
    angles = [0.0]
    for _ in range(rng.integers(10, 20)):  # strokes: wandering paths of a broad, loaded brush
        n = 7
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.35, n))
        step = rng.uniform(0.05, 0.13)
        pts = rng.uniform(-0.05, 1.05, 2) + np.cumsum(np.c_[np.cos(heading), np.sin(heading)] * step, 0)
        col = _INK if rng.random() < 0.15 else pal[rng.integers(0, 6)]
        R.line(pts, rng.uniform(0.07, 0.2), col)
        angles.append(float(heading.mean()))
    img, lab = R.render()
    # Bristle streaks run along each stroke; where the brush ran dry the ground shows through.
    th = np.take(np.asarray(angles, F32), lab)
    v = (yy * np.cos(th) - xx * np.sin(th)) * F32(size * 0.7)
    streak = np.take(rng.random(211, dtype=F32), (v + 300).astype(np.int32) % 211)
    img = img * (F32(0.85) + F32(0.3) * streak)
    dry = (lab == 0) | (streak < 0.15) & (_noise(rng, size, 4) > 0.55)
    return np.where(dry, ground, img)


def _action_painting(rng: np.random.Generator, size: int) -> np.ndarray:
    """Pollock's drips: layers of thin meandering poured lines and splatters, all over the canvas."""
    pal = _palette(rng, ("grey", "earth", "primary", "ochre"))
    ground = rng.choice([0, 4, 5, 5])
    R = _Regions(size, _mix(pal[ground], _PAPER, 0.3 if ground else 0.0))
    labels = []
    for _layer in range(rng.integers(4, 8)):
        col = pal[rng.integers(0, 6)] if rng.random() < 0.7 else (_INK if rng.random() < 0.5 else _WHITE)
        label = None
        for _ in range(rng.integers(2, 5)):
            ang = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.5, 60))  # a wandering walk
            pts = rng.uniform(0, 1, 2) + np.cumsum(np.c_[np.cos(ang), np.sin(ang)] * rng.uniform(0.02, 0.05), 0)
            for seg in np.array_split(pts, 3):  # the line thins and thickens as the paint runs
                label = R.line(seg, rng.choice([0.006, 0.01, 0.018]), col, label=label)
        labels.append(label)
    img, _ = R.render()
    flat = img.reshape(3, -1)  # a view: splatters are written straight into the image
    for label in labels:  # splatters: clusters of droplets with a heavy-tailed spread
        k = rng.integers(40, 160)
        p = rng.uniform(0, 1, (1, 2)) + rng.standard_t(2, (k, 2)) * 0.06
        p = (np.clip(p, 0, 0.999) * size).astype(np.int64)
        idx = p[:, 1] * size + p[:, 0]
        big = idx[: k // 4]
        idx = np.concatenate([idx, np.minimum(big + 1, size * size - 1), np.minimum(big + size, size * size - 1)])
        flat[:, idx] = R.colours[label][:, None]
    return img


def _art_nouveau(rng: np.random.Generator, size: int) -> np.ndarray:
    """Mucha-style decoration: a framed figure or flowers before a halo disc, whiplash curves, flat
    muted colour, outlines and an ornamental border."""
    pal = _palette(rng, ("pastel", "earth", "autumn", "tempera", "ochre"))
    R = _Regions(size, pal[rng.integers(3, 6)], light=(0.0, -1.0))
    m = rng.uniform(0.05, 0.1)  # border width
    frame = pal[rng.integers(0, 3)]
    arch = rng.random() < 0.5
    R.rect(m, m, 1 - m, 1 - m, pal[rng.integers(3, 6)])
    R.ellipse(0.5, rng.uniform(0.3, 0.45), rng.uniform(0.22, 0.34), rng.uniform(0.22, 0.34),
              _mix(pal[rng.integers(2, 6)], _GOLD, 0.4))  # halo disc
    t = np.linspace(0, 1, 24, dtype=F32)
    for _ in range(rng.integers(3, 7)):  # whiplash curves: S-shaped lines sweeping up the picture
        x = rng.uniform(0.1, 0.9) + 0.15 * np.sin(2 * np.pi * (t * rng.uniform(0.6, 1.5) + rng.random()))
        R.line(np.c_[x, 1.05 - t * rng.uniform(0.5, 1.1)], rng.uniform(0.012, 0.03), pal[rng.integers(0, 4)])
    if rng.random() < 0.7:  # the figure: a flowing gown, a mass of hair, a face in profile or front
        x = rng.uniform(0.38, 0.62)
        R.polygon([(x - 0.12, 0.45), (x + 0.12, 0.45), (x + rng.uniform(0.2, 0.32), 1.0),
                   (x - rng.uniform(0.2, 0.32), 1.0)], pal[rng.integers(1, 5)], shade=0.2)
        hair = pal[rng.integers(0, 3)]
        R.ellipse(x + 0.03, 0.33, 0.16, 0.13, hair)
        side = rng.choice([-1, 1])
        for k in range(1, 4):  # the hair flowing down over one shoulder in waves
            R.ellipse(x + side * (0.06 + 0.04 * k), 0.33 + 0.1 * k, 0.07, 0.08, hair)
        R.ellipse(x, 0.36, 0.06, 0.08, _FLESH)
    else:  # stylised flowers
        for _ in range(rng.integers(3, 7)):
            fx, fy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.04, 0.09)
            petal = pal[rng.integers(0, 6)]
            for k in range(6):
                a = k * np.pi / 3
                R.ellipse(fx + r * np.cos(a), fy + r * np.sin(a), r * 0.6, r * 0.6, petal)
            R.ellipse(fx, fy, r * 0.5, r * 0.5, pal[rng.integers(0, 3)])
    bw = _px(size, m)
    R.draw.rectangle([0, 0, size - 1, size - 1], outline=0, width=bw)  # the border is label 0
    img, lab = R.render()
    yy, xx = _uv(size)
    if arch:  # a round-topped opening: the frame fills the upper corners
        ry = rng.uniform(0.2, 0.35)
        lab = np.where((yy < m + ry) & (((xx - 0.5) / (0.5 - m)) ** 2 + ((yy - m - ry) / ry) ** 2 > 1), 0, lab)
    img = _where(lab == 0, frame, img)
    step = max(3, 2 * _px(size, m * 0.35) + 1)
    ornament = (lab == 0) & ((np.floor(xx * size / step) + np.floor(yy * size / step)) % 2 == 0)
    img = _where(ornament, _mix(frame, pal[-1], 0.6), img)
    return _where(_edges(lab, _px(size, 0.01)), pal[0] * 0.5, img)


def _baroque(rng: np.random.Generator, size: int) -> np.ndarray:
    """Chiaroscuro: figures emerging from a near-black ground under one strong, focused light."""
    pal = _palette(rng, ("baroque", "earth", "autumn", "tempera"), swap=0.3)
    fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.55)
    R = _Regions(size, pal[0] * 0.4, light=(-0.7, -0.7))
    for _ in range(rng.integers(2, 5)):  # figures in a diagonal tumble around the focal point
        _figure(R, rng, fx + rng.normal(0, 0.18), rng.uniform(0.8, 1.1), rng.uniform(0.45, 0.8),
                pal[rng.integers(1, 6)], mantle=pal[rng.integers(1, 6)], lean=rng.normal(0, 0.15))
    for _ in range(rng.integers(1, 4)):  # drapery, a table cloth, a skull, a jug...
        R.ellipse(fx + rng.normal(0, 0.2), fy + rng.uniform(0.1, 0.45), rng.uniform(0.05, 0.2),
                  rng.uniform(0.04, 0.12), pal[rng.integers(2, 6)], shade=0.8, volume=0.6)
    img, _ = R.render()
    img = _blur(img, size * 0.008)
    yy, xx = _uv(size)
    d2 = (xx - fx) ** 2 + (yy - fy) ** 2
    light = F32(0.1) + F32(1.15) * np.exp(-d2 / F32(2 * rng.uniform(0.15, 0.26) ** 2))
    return img * light * _c([1.08, 0.98, 0.82])


def _color_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """Large soft fields of colour: Rothko's stacked rectangles, Newman's zips, Louis/Frankenthaler stains."""
    pal = _palette(rng, ("sunset", "nocturne", "fauve", "autumn", "pastel", "earth"))
    yy, xx = _uv(size)
    mode = rng.choice(3, p=[0.45, 0.25, 0.3])
    img = _c(pal[rng.integers(0, 6)]) * (F32(0.94) + F32(0.12) * _noise(rng, size, 5))
    if mode == 0:  # Rothko: two or three soft-edged rectangles stacked vertically
        n = rng.integers(2, 4)
        gap, top = rng.uniform(0.03, 0.07), rng.uniform(0.05, 0.1)
        hs = rng.dirichlet(np.ones(n) * 3) * (1 - 2 * top - gap * (n - 1))
        y0 = top
        soft = rng.uniform(0.015, 0.04)
        ragged = (_noise(rng, size, 10) - 0.5) * soft * 2
        for i in range(n):
            x0, x1, y1 = rng.uniform(0.06, 0.12), rng.uniform(0.88, 0.94), y0 + hs[i]
            d = np.minimum(np.minimum(xx - x0, x1 - xx), np.minimum(yy - y0, y1 - yy)) + ragged
            col = _c(pal[rng.integers(0, 6)]) * (F32(0.95) + F32(0.1) * _noise(rng, size, 4))
            img = _mix(img, col, np.clip(d / soft + 0.5, 0, 1))
            y0 = y1 + gap
    elif mode == 1:  # Newman: a flat field cut by one to three vertical zips
        for _ in range(rng.integers(1, 4)):
            x0, w = rng.uniform(0.1, 0.9), rng.uniform(0.008, 0.04)
            a = np.clip(1 - np.abs(xx - x0) / w + (_noise(rng, size, 12) - 0.5) * 0.5, 0, 1)
            img = _mix(img, pal[rng.integers(0, 6)], a)
    else:  # stains: translucent pools of thinned paint soaked into raw canvas
        img = _mix(img, _PAPER, 0.6)
        for _ in range(rng.integers(2, 5)):
            a = np.clip((_fractal(rng, size, 2, 2) - rng.uniform(0.45, 0.6)) * 6, 0, 1) * F32(rng.uniform(0.5, 0.9))
            img = img * (1 - a) + img * _c(pal[rng.integers(0, 6)] * 1.2) * a
    return img


def _expressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Distorted houses and figures, intense unnatural colour, long strong strokes and heavy dark contours."""
    pal = _saturate(_palette(rng, ("fauve", "sunset", "acid", "primary", "autumn")), 1.4)
    R = _Regions(size, pal[rng.integers(2, 6)], light=(rng.uniform(-1, 1), -0.6))
    h = rng.uniform(0.3, 0.55)
    yy, _ = _uv(size)
    bands = np.sin((yy * 9 + _noise(rng, size, 3) * 4) * np.pi) * 0.5 + 0.5  # Munch's swirling sky
    sky = _mix(pal[rng.integers(2, 6)], pal[rng.integers(0, 6)], bands)
    R.polygon([(-0.1, h), (1.1, h + rng.normal(0, 0.1)), (1.1, 1.1), (-0.1, 1.1)], pal[rng.integers(0, 4)],
              shade=0.5)
    for _ in range(rng.integers(2, 6)):  # tilted, jagged houses
        x, w = rng.uniform(-0.05, 0.9), rng.uniform(0.12, 0.3)
        base, top = h + rng.uniform(0.0, 0.25), h - rng.uniform(0.05, 0.3)
        j = rng.normal(0, 0.04, 6)
        wall = [(x + j[0], base), (x + w + j[1], base), (x + w + j[2], top + j[3]), (x + j[4], top + j[5])]
        R.polygon(wall, pal[rng.integers(0, 6)], shade=0.6)
        R.polygon([wall[3], wall[2], (x + w / 2 + rng.normal(0, 0.08), top - rng.uniform(0.08, 0.2))],
                  pal[rng.integers(0, 6)], shade=0.4)
    if rng.random() < 0.6:  # a mask-like face over dark shoulders
        x = rng.uniform(0.25, 0.75)
        R.polygon([(x - 0.2, 1.05), (x - 0.12, 0.65), (x + 0.12, 0.65), (x + 0.22, 1.05)], pal[rng.integers(0, 3)])
        R.ellipse(x, 0.52, rng.uniform(0.08, 0.13), rng.uniform(0.12, 0.18), pal[rng.integers(2, 6)], shade=0.8)
    scene, lab = R.render(sky)
    canvas = scene
    for _ in range(2):
        canvas = _marks(canvas, scene, rng, length=size * rng.uniform(0.12, 0.2), width=size * 0.04,
                        angle=rng.uniform(0, np.pi), jitter=0.3, fill=0.55, streaks=0.2)
    edge = _edges(lab, _px(size, 0.018)) & (_noise(rng, size, 6) > 0.25)
    return _where(edge, _mix(_INK, [0.05, 0.05, 0.3], rng.random()), canvas)


def _fauvism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Wild pure colour in broad flat-ish patches laid with loose strokes; bits of canvas show between."""
    pal = _saturate(_palette(rng, ("fauve", "sunset", "primary", "acid")), 1.6)
    R, _, _ = _landscape(rng, size, pal, water=0.5)
    # The Fauves chose colours freely: every region gets an arbitrary pure colour, flat.
    R.colours = [pal[rng.integers(0, 6)] for _ in R.colours]
    R.shading = [(1.0, 0.0, 0.0, 0.0) for _ in R.shading]
    scene, lab = R.render(_vgradient(size, [pal[rng.integers(0, 6)], pal[rng.integers(0, 6)]]))
    canvas = _mix(scene, _WHITE, 0.45)
    canvas = _marks(canvas, scene, rng, length=size * rng.uniform(0.1, 0.16), width=size * 0.06,
                    angle=rng.normal(0, 0.8), jitter=0.2, fill=0.5)
    canvas = _marks(canvas, scene, rng, length=size * rng.uniform(0.07, 0.1), width=size * 0.045,
                    angle=rng.normal(0, 0.8), jitter=0.25, fill=0.44)
    if rng.random() < 0.5:  # Matisse's loose coloured contours
        edge = _edges(lab, _px(size, 0.014)) & (_noise(rng, size, 5) > 0.4)
        canvas = _where(edge, pal[rng.integers(0, 3)], canvas)
    return canvas


def _minimalism(rng: np.random.Generator, size: int) -> np.ndarray:
    """A few flat hard-edged geometric areas on a plain ground; or a fine pencil grid; or regular bands."""
    pal = _palette(rng, ("grey", "primary", "pastel", "earth"))
    ground = pal[rng.choice([4, 5, 5, 3, 0])]
    yy, xx = _uv(size)
    mode = rng.choice(3, p=[0.55, 0.2, 0.25])
    if mode == 0:
        R = _Regions(size, ground)
        for _ in range(rng.integers(1, 4)):
            c = pal[rng.integers(0, 6)]
            if rng.random() < 0.7:  # snapped to a coarse grid: minimal art is measured
                x0, y0 = np.round(rng.uniform(0.05, 0.6, 2) * 8) / 8
                x1, y1 = np.minimum(0.95, np.asarray([x0, y0]) + np.round(rng.uniform(0.1, 0.5, 2) * 8) / 8)
                R.rect(x0, y0, x1, y1, c)
            else:
                r = rng.uniform(0.15, 0.35)
                R.ellipse(0.5, 0.5, r, r, c)
        img, _ = R.render()
    elif mode == 1:  # Agnes Martin: a pencil grid on a pale ground
        step = rng.integers(6, 14)
        lines = (np.abs((xx * step) % 1 - 0.5) > 0.46) | (np.abs((yy * step * rng.choice([1, 2])) % 1 - 0.5) > 0.46)
        img = _mix(_mix(ground, _WHITE, 0.6), pal[0], lines * F32(0.3))
    else:  # Stella-like regular bands, straight or concentric, with thin gaps
        k = rng.integers(4, 10)
        t = (np.maximum(np.abs(xx - 0.5), np.abs(yy - 0.5)) if rng.random() < 0.5 else xx + 0 * yy) * k
        img = _where(np.abs(t % 1 - 0.5) > 0.44, pal[-1], pal[rng.integers(0, 5)])
    return img


def _naive(rng: np.random.Generator, size: int) -> np.ndarray:
    """Naive art: flat bright shapes without perspective: rows of houses, lollipop trees, sun, figures."""
    pal = _saturate(_palette(rng, ("primary", "fauve", "landscape", "pastel")), 1.3)
    sky, ground = pal[rng.integers(3, 6)], pal[rng.integers(1, 4)]
    R = _Regions(size, sky)
    h = rng.uniform(0.4, 0.6)
    R.rect(0, h, 1, 1, ground)
    if rng.random() < 0.5:
        R.ellipse(rng.uniform(0.2, 0.8), h + 0.05, rng.uniform(0.3, 0.5), 0.15, _mix(ground, pal[-1], 0.3))
    sx, sy = rng.uniform(0.1, 0.9), rng.uniform(0.08, 0.2)
    sun = R.ellipse(sx, sy, 0.07, 0.07, pal[rng.integers(3, 6)])
    for k in range(8):  # sun rays
        a = k * np.pi / 4
        R.line([(sx + 0.08 * np.cos(a), sy + 0.08 * np.sin(a)), (sx + 0.12 * np.cos(a), sy + 0.12 * np.sin(a))],
               0.012, label=sun)
    n = rng.integers(2, 6)
    for i in range(n):  # everything stands on the same line at the same size: no perspective
        x = (i + 0.5) / n + rng.normal(0, 0.02)
        w = 0.7 / n
        thing = rng.integers(3)
        if thing == 0:  # house
            R.rect(x - w / 2, h - w * 0.9, x + w / 2, h + 0.05, pal[rng.integers(0, 6)])
            R.polygon([(x - w * 0.6, h - w * 0.9), (x + w * 0.6, h - w * 0.9), (x, h - w * 1.5)],
                      pal[rng.integers(0, 6)])
            R.rect(x - w * 0.12, h - w * 0.35, x + w * 0.12, h + 0.05, pal[0])
        elif thing == 1:  # lollipop tree
            R.rect(x - 0.012, h - w * 0.8, x + 0.012, h + 0.04, pal[0])
            R.ellipse(x, h - w * 0.9, w * 0.4, w * 0.4, pal[rng.integers(0, 4)])
        else:  # figure: round head, triangle body
            R.polygon([(x, h - w * 0.9), (x - w * 0.3, h + 0.06), (x + w * 0.3, h + 0.06)], pal[rng.integers(0, 6)])
            R.ellipse(x, h - w * 1.0, w * 0.15, w * 0.15, _FLESH)
    for _ in range(rng.integers(5, 20)):  # flowers dotted in the grass
        R.ellipse(rng.uniform(0, 1), rng.uniform(h + 0.1, 0.98), 0.015, 0.015, pal[rng.integers(0, 6)])
    img, lab = R.render()
    if rng.random() < 0.6:
        img = _where(_edges(lab, 1), pal[0] * 0.5, img)
    return img


def _pop_art(rng: np.random.Generator, size: int) -> np.ndarray:
    """Bold primaries, thick black outlines, Ben-Day dots: comic panels, Warhol grids, targets."""
    pal = _saturate(_palette(rng, ("primary", "neon", "fauve", "pastel"), swap=0.3), 1.5)
    mode = rng.choice(3, p=[0.4, 0.4, 0.2])
    R = _Regions(size, pal[rng.integers(2, 6)])
    dotted: list[int] = [0] if rng.random() < 0.7 else []
    if mode == 0:  # comic close-up: face, hair, speech balloon
        x = rng.uniform(0.35, 0.65)
        R.ellipse(x + 0.02, 0.45, 0.3, 0.34, pal[rng.integers(0, 3)])  # hair
        dotted.append(R.ellipse(x, 0.55, 0.2, 0.26, _mix(_FLESH, [1, 0.8, 0.8], 0.5)))
        R.ellipse(x - 0.08, 0.5, 0.04, 0.02, _WHITE)
        R.ellipse(x + 0.08, 0.5, 0.04, 0.02, _WHITE)
        R.ellipse(x, 0.68, 0.07, 0.025, pal[-1] * np.asarray([1, 0.2, 0.2], F32))  # lips
        if rng.random() < 0.7:
            bx = 0.78 if x < 0.5 else 0.22
            R.ellipse(bx, 0.15, 0.2, 0.11, _WHITE)
            for k in range(3):
                R.rect(bx - 0.13, 0.1 + k * 0.035, bx + 0.13 - 0.05 * k, 0.115 + k * 0.035, _INK)
    elif mode == 1:  # Warhol: one motif silkscreened in a grid of colour schemes
        n = rng.choice([2, 3])
        cell = 1 / n
        shape = rng.integers(2)
        for i in range(n):
            for j in range(n):
                x0, y0 = j * cell, i * cell
                bg = R.rect(x0, y0, x0 + cell, y0 + cell, pal[rng.integers(0, 6)])
                cx, cy = x0 + cell / 2, y0 + cell / 2
                if shape == 0:  # portrait silhouette
                    R.ellipse(cx, cy - cell * 0.05, cell * 0.3, cell * 0.34, pal[rng.integers(0, 6)])
                    R.ellipse(cx, cy + cell * 0.05, cell * 0.2, cell * 0.27, pal[rng.integers(0, 6)])
                else:  # soup can
                    R.rect(cx - cell * 0.2, cy - cell * 0.3, cx + cell * 0.2, cy + cell * 0.35, pal[rng.integers(0, 6)])
                    R.rect(cx - cell * 0.2, cy - cell * 0.05, cx + cell * 0.2, cy + cell * 0.12, _WHITE)
                if rng.random() < 0.3:
                    dotted.append(bg)
    else:  # target
        x, y = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6)
        for k in range(rng.integers(3, 6), 0, -1):
            i = R.ellipse(x, y, 0.09 * k, 0.09 * k, pal[rng.integers(0, 6)])
            if rng.random() < 0.3:
                dotted.append(i)
    img, lab = R.render()
    dots = _halftone(size, max(3.0, size * 0.04), rng.uniform(0.28, 0.4))
    img = _where(np.isin(lab, dotted) & ~dots, _mix(_WHITE, img, 0.15), img)
    return _where(_edges(lab, _px(size, 0.016)), _INK, img)


def _rococo(rng: np.random.Generator, size: int) -> np.ndarray:
    """Pastel pinks and blues, soft light, fluffy clouds, feathery trees, curving garden scenes."""
    pal = _mix(_palette(rng, ("pastel", "sunset", "landscape", "tempera")), _WHITE, 0.2)
    R, sky, h = _landscape(rng, size, pal, horizon=rng.uniform(0.5, 0.75), trees=rng.integers(2, 5), water=0.2)
    sky = _mix(sky, [0.95, 0.8, 0.85], 0.35)
    for _ in range(rng.integers(2, 5)):  # clouds: clusters of soft puffs
        cx, cy = rng.uniform(0, 1), rng.uniform(0.05, h * 0.8)
        col = _mix(_WHITE, [1, 0.85, 0.88], rng.random())
        for _k in range(5):
            R.ellipse(cx + rng.normal(0, 0.07), cy + rng.normal(0, 0.03), rng.uniform(0.04, 0.09),
                      rng.uniform(0.03, 0.06), col, shade=0.3)
    for _ in range(rng.integers(1, 3)):  # figures in billowing dresses
        x, y = rng.uniform(0.2, 0.8), h + rng.uniform(0.1, 0.25)
        R.ellipse(x, y, 0.09, 0.08, pal[rng.integers(2, 6)], shade=0.4, volume=0.4)
        R.ellipse(x, y - 0.11, 0.03, 0.05, pal[rng.integers(2, 6)], shade=0.3)
        R.ellipse(x, y - 0.18, 0.022, 0.028, _FLESH)
    if rng.random() < 0.5:  # a swing's ropes curving down from the trees
        x = rng.uniform(0.3, 0.7)
        t = np.linspace(0, 1, 10)
        for dx in (-0.04, 0.04):
            R.line(np.c_[x + dx + 0.05 * np.sin(t * 3), t * (h + 0.1)], 0.006, pal[1])
    scene, _ = R.render(sky)
    img = _blur(scene, size * 0.012)
    img = _marks(img, img, rng, length=size * 0.04, width=size * 0.02, angle=rng.uniform(0, np.pi),
                 jitter=0.1, fill=0.45)  # feathery touch
    img = _blur(img, size * 0.006)
    if rng.random() < 0.5:  # an oval frame
        yy, xx = _uv(size)
        oval = ((xx - 0.5) / 0.48) ** 2 + ((yy - 0.5) / 0.49) ** 2 > 1
        img = _where(oval, _mix(pal[2], _GOLD, 0.5), img)
    return img


def _romanticism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Drama: a glowing sky gradient under storm clouds, dark mountains or a heaving sea, a tiny figure."""
    pal = _palette(rng, ("sunset", "nocturne", "earth", "sea", "autumn"))
    yy, xx = _uv(size)
    h = rng.uniform(0.5, 0.72)
    glow = pal[rng.integers(4, 6)]
    sky = _vgradient(size, [pal[0] * 0.7, pal[rng.integers(1, 4)], _mix(glow, _WHITE, 0.3)], [0, h * 0.6, h])
    sun = np.exp(-((xx - rng.uniform(0.2, 0.8)) ** 2 + (yy - h * 0.85) ** 2) / F32(0.02))
    storm = np.clip((_fractal(rng, size, 3, 3) - 0.45) * 3, 0, 1) * (yy < h)
    sky = _mix(sky, glow, sun * F32(0.8))
    sky = sky * (1 - F32(0.6) * storm) + _c(_mix(pal[0], glow, 0.3) * 0.3) * storm
    R = _Regions(size, pal[0])
    xs = np.linspace(-0.05, 1.05, 16, dtype=F32)
    sea = None
    if rng.random() < 0.5:  # mountains: jagged, dark silhouettes
        for layer in range(2):
            ys = h - rng.uniform(0.05, 0.3) + np.abs(_wave(rng, 16, 0.15)) + rng.uniform(-0.03, 0.03, 16)
            R.polygon(np.r_[np.c_[xs, ys + layer * 0.1], [[1.05, 1.05], [-0.05, 1.05]]], pal[layer] * 0.7, shade=0.3)
    else:  # the sea, lit by the glow
        sea = R.rect(0, h, 1, 1, _mix(pal[1], glow, 0.2))
    cliff = rng.choice([-0.1, 0.6])
    R.polygon([(cliff, 1.05), (cliff + 0.05, h + 0.1), (cliff + 0.35, h + 0.15), (cliff + 0.5, 1.05)], pal[0])
    _figure(R, rng, cliff + 0.2, h + 0.14, 0.1, pal[0] * 0.5, flesh=pal[0] * 0.6)  # the wanderer
    if sea is not None and rng.random() < 0.6:  # a ship in distress
        sx = rng.uniform(0.2, 0.8)
        R.polygon([(sx - 0.08, h + 0.05), (sx + 0.08, h + 0.05), (sx + 0.05, h + 0.08), (sx - 0.05, h + 0.08)], pal[0])
        R.polygon([(sx, h - 0.12), (sx + 0.06, h + 0.03), (sx, h + 0.03)], _mix(glow, pal[0], 0.5))
    img, lab = R.render(sky)
    if sea is not None:  # waves: light crests on the dark water
        near = np.maximum(yy - h, 0) * 4 + 0.4  # waves grow toward the viewer
        crest = np.sin((xx * 14 + _noise(rng, size, 6) * 3) / near + yy * 70) > 0.6
        img = _where((lab == sea) & crest, _mix(img, glow, 0.4), img)
    img = _blur(img, size * 0.006)
    return img * (1 - F32(0.5) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2))  # vignette


def _symbolism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Dream and mystery: deep blue to gold gradients, a glowing orb, mist, a hieratic figure, gold mosaic."""
    pal = _palette(rng, ("nocturne", "sunset", "sea", "acid", "baroque"))
    yy, xx = _uv(size)
    gold = _mix(_GOLD, pal[-1], 0.3)
    if rng.random() < 0.5:
        t = np.clip(yy + (_noise(rng, size, 3) - 0.5) * 0.4, 0, 1)
    else:
        t = np.clip(np.sqrt((xx - 0.5) ** 2 + (yy - 0.45) ** 2) * 1.6, 0, 1)
    img = _mix(pal[rng.integers(3, 6)], pal[0], t)
    ox, oy = rng.uniform(0.25, 0.75), rng.uniform(0.15, 0.45)
    img = _mix(img, gold, np.exp(-((xx - ox) ** 2 + (yy - oy) ** 2) / F32(rng.uniform(0.004, 0.02))))
    R = _Regions(size)
    x = rng.uniform(0.3, 0.7)
    robe = R.polygon([(x - 0.06, 0.35), (x + 0.06, 0.35), (x + rng.uniform(0.12, 0.25), 1.05),
                      (x - rng.uniform(0.12, 0.25), 1.05)], pal[rng.integers(0, 3)])
    R.ellipse(x, 0.3, 0.045, 0.06, _mix(_FLESH, pal[-1], 0.4))
    fig, lab = R.render()
    if rng.random() < 0.6:  # Klimt's gold tesserae
        tess = _halftone(size, max(3.0, size * 0.03), 0.3, angle=0.0)
        fig = _where((lab == robe) & tess, gold, fig)
    img = _where(lab > 0, _mix(fig, img, 0.25), img)
    mist = np.clip(_fractal(rng, size, 2, 3) - 0.4, 0, 1) * F32(0.7)
    return _blur(_mix(img, _mix(pal[-1], _WHITE, 0.3), mist), size * 0.01)


# Hokusai's wave in units of its crest radius, from the far base up over the crest, round the lip (which
# hangs down as a claw) and back through the hollow under it to the near base.
_WAVE_CURL = [(-2.6, 1.6), (-1.4, 1.0), (-1.0, 0.2), (-0.7, -0.5), (-0.2, -0.95), (0.4, -1.0), (0.9, -0.7),
              (1.15, -0.2), (1.0, 0.2), (0.75, 0.35), (0.8, 0.05), (0.55, -0.3), (0.1, -0.35), (-0.2, 0.0),
              (-0.1, 0.6), (0.4, 1.2), (1.6, 1.6), (2.6, 1.6)]


def _ukiyo_e(rng: np.random.Generator, size: int) -> np.ndarray:
    """Woodblock prints: flat colours in thin dark outlines on paper; a graded (bokashi) sky band,
    a great wave, Mount Fuji or a kimono figure, and a title cartouche."""
    pal = _palette(rng, ("woodblock", "sea", "tempera", "earth"), swap=0.3)
    paper = _mix(_PAPER, pal[-1], 0.3)
    blue = _mix([0.12, 0.24, 0.45], pal[0], 0.4)
    yy, xx = _uv(size)
    band = rng.uniform(0.15, 0.35)
    R = _Regions(size, paper)
    mode = rng.choice(3)
    h = rng.uniform(0.55, 0.75)
    robe = -1
    if mode in (0, 1):  # Fuji: a trapezoid with a jagged snow cap
        mx, mw, mt = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.5), rng.uniform(0.2, 0.4)
        if mode == 0:  # seen small and far behind the wave
            mw, mt = mw * 0.5, h - (h - mt) * 0.5
        top_w = 0.06 * mw / 0.4
        R.polygon([(mx - top_w, mt), (mx + top_w, mt), (mx + mw, h), (mx - mw, h)], pal[rng.integers(0, 4)])
        k = 6
        ys = mt + (h - mt) * (rng.uniform(0.2, 0.3) + 0.12 * (np.arange(k + 1) % 2))  # a jagged lower edge
        xs = mx + (top_w + (mw - top_w) * (ys - mt) / (h - mt)) * np.linspace(1, -1, k + 1)
        R.polygon([(mx - top_w, mt), (mx + top_w, mt)] + list(zip(xs, ys)), _WHITE)
    if mode == 0:  # the great wave: a curling crest over a hollow, claw-like foam on its lip
        r = rng.uniform(0.17, 0.24)
        cx, cy = rng.uniform(0.3, 0.6), h + 0.1 - 1.6 * r
        face = rng.choice([-1, 1])  # the crest may break to the right or to the left
        curl = np.asarray(_WAVE_CURL, F32) * [r * face, r] + [cx, cy]
        near, far = (1.05, -0.05) if face > 0 else (-0.05, 1.05)
        sea = [[near, curl[-1, 1]], [near, 1.05], [far, 1.05], [far, curl[0, 1]]]
        wave = R.polygon(np.r_[curl, sea], blue, shade=0.2)
        lip = curl[3:10]
        seg = np.linspace(0, len(lip) - 1.001, 14)
        foam = lip[seg.astype(int)] + (lip[seg.astype(int) + 1] - lip[seg.astype(int)]) * (seg % 1)[:, None]
        for fx, fy in foam:
            R.ellipse(fx, fy, r * 0.1, r * 0.1, _WHITE)
        for _ in range(rng.integers(1, 3)):  # boats in the trough
            R.ellipse(rng.uniform(0.1, 0.9), cy + r * rng.uniform(1.7, 2.4), 0.12, 0.02, pal[rng.integers(2, 5)])
    elif mode == 1:  # a flat shore with pines
        R.polygon([(-0.05, h), (1.05, h - 0.05), (1.05, 1.05), (-0.05, 1.05)], pal[rng.integers(1, 4)])
        for _ in range(rng.integers(1, 4)):
            px, py = rng.uniform(0.05, 0.95), h + rng.uniform(0.05, 0.25)
            R.rect(px - 0.01, py - 0.2, px + 0.01, py, pal[0])
            for k in range(3):
                R.ellipse(px + rng.normal(0, 0.05), py - 0.2 + k * 0.05, 0.08, 0.025, pal[rng.integers(0, 3)])
    else:  # a kimono figure with a patterned robe
        x = rng.uniform(0.35, 0.65)
        robe = R.polygon([(x - 0.1, 0.35), (x + 0.12, 0.35), (x + 0.25, 1.0), (x - 0.2, 1.0)], pal[rng.integers(0, 4)])
        R.polygon([(x - 0.12, 0.55), (x + 0.14, 0.55), (x + 0.16, 0.62), (x - 0.14, 0.62)], pal[rng.integers(0, 6)])
        R.ellipse(x, 0.26, 0.06, 0.08, _mix(_WHITE, _FLESH, 0.3))
        R.ellipse(x + 0.01, 0.17, 0.09, 0.06, _INK)  # hair
    img, lab = R.render(_vgradient(size, [blue, paper, paper], [0, band, 1]))
    if mode == 0:  # white flow lines inside the water, curving with the crest
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / r
        img = _where((lab == wave) & (np.sin(d * 18 + _noise(rng, size, 4) * 3) > 0.8), _mix(blue, paper, 0.8), img)
    if robe >= 0:
        pattern = _halftone(size, max(3.0, size * 0.05), 0.25, angle=0.0) | (np.sin(yy * size * 0.5) > 0.9)
        img = _where((lab == robe) & pattern, _mix(img, paper, 0.7), img)
    img = _where(_edges(lab, 1), _INK, img)
    if rng.random() < 0.8:  # a cartouche with vertical lines of text
        x0, y0 = rng.choice([0.06, 0.8]), 0.05
        box = (xx > x0) & (xx < x0 + 0.13) & (yy > y0) & (yy < y0 + 0.3)
        text = box & ((xx * size).astype(np.int32) % 4 == 1) & (_noise(rng, size, 20) > 0.4)
        img = _where(text, _INK, _where(box, _mix(paper, pal[rng.integers(2, 5)], 0.5), img))
    return img * (F32(0.94) + F32(0.08) * _noise(rng, size, 2, size // 2))  # paper fibres


_PAINTERS: dict[str, tuple[Callable[..., np.ndarray], dict[str, Any]]] = {
    "Abstract_Expressionism": (_abstract_expressionism, {}),
    "Action_painting": (_action_painting, {}),
    "Analytical_Cubism": (_cubist, {"kind": "analytical"}),
    "Art_Nouveau_Modern": (_art_nouveau, {}),
    "Baroque": (_baroque, {}),
    "Color_Field_Painting": (_color_field, {}),
    "Contemporary_Realism": (_realism, {"kind": "contemporary"}),
    "Cubism": (_cubist, {"kind": "cubism"}),
    "Early_Renaissance": (_renaissance, {"kind": "early"}),
    "Expressionism": (_expressionism, {}),
    "Fauvism": (_fauvism, {}),
    "High_Renaissance": (_renaissance, {"kind": "high"}),
    "Impressionism": (_impressionist, {"kind": "impressionism"}),
    "Mannerism_Late_Renaissance": (_renaissance, {"kind": "mannerism"}),
    "Minimalism": (_minimalism, {}),
    "Naive_Art_Primitivism": (_naive, {}),
    "New_Realism": (_realism, {"kind": "new"}),
    "Northern_Renaissance": (_renaissance, {"kind": "northern"}),
    "Pointillism": (_impressionist, {"kind": "pointillism"}),
    "Pop_Art": (_pop_art, {}),
    "Post_Impressionism": (_impressionist, {"kind": "post"}),
    "Realism": (_realism, {"kind": "realism"}),
    "Rococo": (_rococo, {}),
    "Romanticism": (_romanticism, {}),
    "Symbolism": (_symbolism, {}),
    "Synthetic_Cubism": (_cubist, {"kind": "synthetic"}),
    "Ukiyo_e": (_ukiyo_e, {}),
}

# Grain differs a little by medium: woodblocks and flat Pop/Minimal paint are smoother than oils.
_GRAIN = {"Minimalism": 0.015, "Pop_Art": 0.015, "Ukiyo_e": 0.02, "Color_Field_Painting": 0.02}


def paint(style: str, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """One painting of ``style`` (a folder name from STYLE_NAMES) as uint8 (size, size, 3)."""
    if style not in _PAINTERS:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLE_NAMES)}")
    fn, kwargs = _PAINTERS[style]
    img = np.asarray(fn(rng, size, **kwargs), F32)
    return _finish(np.broadcast_to(img, (3, size, size)), rng, _GRAIN.get(style, 0.035))


# --------------------------------------------------------------------------- the dataset on disk


def class_counts(scale: float = 1.0) -> dict[str, dict[str, int]]:
    """``{'train': {style: n}, 'test': {style: n}}`` for the built-in dataset at ``scale``.

    Train: ``max(1, round(course_train_count * scale))`` per style. Test: ``round(630 * scale)`` images
    in total (at least one per style), apportioned in proportion to train by largest remainders.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    by_name = {s.folder_name: s for s in STYLES}
    train = {name: max(1, round(by_name[name].course_train_count * scale)) for name in STYLE_NAMES}
    total = max(len(STYLE_NAMES), round(TEST_TOTAL * scale))
    n_train = sum(train.values())
    quota = {name: total * n / n_train for name, n in train.items()}
    test = {name: max(1, int(q)) for name, q in quota.items()}
    # Largest remainders: hand out (or take back) one image at a time, deterministically.
    while sum(test.values()) < total:
        name = max(STYLE_NAMES, key=lambda k: (quota[k] - test[k], k))
        test[name] += 1
    while sum(test.values()) > total:
        name = min((k for k in STYLE_NAMES if test[k] > 1), key=lambda k: (quota[k] - test[k], k))
        test[name] -= 1
    return {"train": train, "test": test}


def _file_name(style: str, index: int) -> str:
    return f"{style.lower()}_{index:05d}.jpg"


def _image_rng(seed: int, split: str, style: str, index: int) -> np.random.Generator:
    """Each image's own generator: independent of worker count and order."""
    ss = np.random.SeedSequence([seed, SPLITS.index(split), STYLE_NAMES.index(style), index])
    return np.random.default_rng(ss)


def _write_one(task: tuple[str, str, str, int, int, int]) -> None:
    """Paint one image and write it atomically (temp file in the same folder, then os.replace)."""
    out, split, style, index, size, seed = task
    img = paint(style, _image_rng(seed, split, style, index), size)
    path = Path(out) / split / style / _file_name(style, index)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    Image.fromarray(img).save(tmp, format="JPEG", quality=JPEG_QUALITY)
    os.replace(tmp, path)


def write_builtin(out: Path, scale: float = 1.0, size: int = 128, seed: int = 0, workers: int | None = None,
                  progress: bool = True) -> Path:
    """Write ``OUT/{train,test}/<Style>/<style>_<index:05d>.jpg`` and, last, ``OUT/artstyle-synthetic.json``.

    Each image depends only on (seed, split, style, index), so the output is byte-identical for any
    worker count. A marker-less folder is an incomplete run: rerunning overwrites it (stale images from
    an earlier, larger run are removed). Returns ``out``.
    """
    out = Path(out)
    counts = class_counts(scale)
    marker = out / MARKER_NAME
    marker.unlink(missing_ok=True)  # from here until the end the folder is incomplete
    tasks = []
    for split in SPLITS:
        for style in STYLE_NAMES:
            folder = out / split / style
            folder.mkdir(parents=True, exist_ok=True)
            wanted = {_file_name(style, i) for i in range(counts[split][style])}
            own = re.compile(rf"^\.?{style.lower()}_\d{{5}}\.jpg(\.\d+\.tmp)?$")  # only files we write
            for f in folder.iterdir():  # leftovers of an earlier run with other counts, or temp files
                if f.name not in wanted and own.match(f.name):
                    f.unlink()
            tasks += [(str(out), split, style, i, size, seed) for i in range(counts[split][style])]

    from tqdm import tqdm

    workers = (os.cpu_count() or 1) if workers is None else max(1, workers)
    bar = tqdm(total=len(tasks), desc="painting built-in dataset", unit="img", disable=None if progress else True)  # None: off when not a TTY
    if workers == 1:
        for t in tasks:
            _write_one(t)
            bar.update()
    else:
        import multiprocessing as mp

        # spawn, not fork: the caller may already hold threads (torch, tqdm's monitor) that fork would copy.
        with mp.get_context("spawn").Pool(workers) as pool:
            chunk = max(1, min(32, len(tasks) // (workers * 8)))  # small chunks keep small runs balanced
            for _ in pool.imap_unordered(_write_one, tasks, chunksize=chunk):
                bar.update()
    bar.close()
    meta = {"synthetic": True, "generator": "artstyle.data.synth", "version": SYNTH_VERSION, "scale": scale,
            "size": size, "seed": seed, "counts": counts}
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, marker)
    return out
