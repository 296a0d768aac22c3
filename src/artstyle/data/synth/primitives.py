"""Array helpers every painter shares: colour arithmetic on planes, noise fields, blur, masks, gradients.

Usage::

    from artstyle.data.synth.primitives import F32, mix, noise, uv, where
    yy, xx = uv(64)                                        # (64, 1) rows and (1, 64) columns in [0, 1]
    img = mix([0, 0, 0], [1, 1, 1], noise(rng, 64, 4))     # (3, 64, 64) grey clouds

An image is a float32 array of planes, shape (3, S, S): with channels first, (S, S) masks and fields
broadcast over the colour planes cheaply (channels-last broadcasting is several times slower, and the whole
dataset has to paint in about two minutes). Colours are (3,) arrays, lifted to (3, 1, 1) by ``rgb`` (or by
``mix``/``where``) where they meet an image. All geometry is relative to the image size.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

F32 = np.float32
LUMA = np.asarray([0.299, 0.587, 0.114], F32)  # Rec. 601 weights: luminance = colour @ LUMA


def rgb(col: Any) -> np.ndarray:
    """A colour lifted to (3, 1, 1), to broadcast over (3, S, S) planes."""
    return np.asarray(col, F32).reshape(3, 1, 1)


def _lift(*xs: Any) -> list[np.ndarray]:
    """Lift (3,) colours to (3, 1, 1) when any argument is an image (3, S, S) or a field (S, S).

    Palettes, (K, 3), count as colours: they combine with colours row by row."""
    arrs = [np.asarray(x, F32) for x in xs]
    if not any(a.ndim >= 3 or (a.ndim == 2 and a.shape[1] != 3) for a in arrs):
        return arrs
    return [a.reshape(3, 1, 1) if a.ndim == 1 and a.shape[0] == 3 else a for a in arrs]


def mix(a: Any, b: Any, t: Any) -> np.ndarray:
    """a + (b - a) * t for colours, images and (S, S) weights in any combination."""
    a, b, t = _lift(a, b, t)
    return a + (b - a) * t


def where(mask: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """np.where over the colour planes, for an (S, S) mask and colours or images."""
    a, b = _lift(a, b, mask)[:2]
    return np.where(mask, a, b)


def luma(x: np.ndarray) -> np.ndarray:
    """Luminance of a colour (..., 3) or of an image (3, S, S)."""
    return np.tensordot(LUMA, x, 1) if x.ndim == 3 else x @ LUMA


def saturate(x: np.ndarray, amount: float) -> np.ndarray:
    if x.ndim == 3:
        grey = luma(x)
        return np.clip(grey + amount * (x - grey), 0, 1)
    grey = luma(x)[..., None]
    return np.clip(grey + amount * (x - grey), 0, 1).astype(F32)


@lru_cache(maxsize=16)
def uv(size: int) -> tuple[np.ndarray, np.ndarray]:
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


def noise(rng: np.random.Generator, size: int, cells: int, ch: int | None = None) -> np.ndarray:
    """Smooth value noise (S, S) in about [0, 1]: a (cells+1)^2 random grid upsampled bicubically.

    With ``ch`` the grid is ``cells`` rows by ``ch`` columns: anisotropic noise (fibres, streaks)."""
    grid = rng.random((cells + 1, (ch if ch is not None else cells) + 1), dtype=F32)
    return np.asarray(Image.fromarray(grid).resize((size, size), Image.BICUBIC))


def fractal(rng: np.random.Generator, size: int, cells: int = 3, octaves: int = 3) -> np.ndarray:
    out = np.zeros((size, size), F32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        out += amp * noise(rng, size, cells)
        total += amp
        amp, cells = amp * 0.5, cells * 2
    return out / total


def blur(img: np.ndarray, radius: float) -> np.ndarray:
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


def edges(lab: np.ndarray, width: int = 1) -> np.ndarray:
    """Boolean (S, S) mask of the boundaries between labels, ``width`` pixels thick."""
    e = np.zeros(lab.shape, bool)
    e[1:] |= lab[1:] != lab[:-1]
    e[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    return _dilate(e, width - 1)


def pixels(size: int, frac: float, lo: int = 1) -> int:
    """A length given as a fraction of the image size, in whole pixels (at least ``lo``)."""
    return max(lo, int(round(frac * size)))


def halftone(size: int, cell: float, radius: float, angle: float = 0.785) -> np.ndarray:
    """Ben-Day dots: True inside dots of ``radius`` (fraction of a cell) on a rotated grid of ``cell`` px."""
    yy, xx = uv(size)
    c, s = np.cos(angle), np.sin(angle)
    u = (xx * c + yy * s) * (size / cell)
    v = (yy * c - xx * s) * (size / cell)
    fu, fv = u - np.floor(u) - 0.5, v - np.floor(v) - 0.5
    return fu * fu + fv * fv < radius * radius


def vgradient(size: int, stops: list[Any], pos: list[float] | None = None) -> np.ndarray:
    """A vertical gradient through colour ``stops`` at heights ``pos``: (3, S, 1), broadcasts to an image."""
    yy, _ = uv(size)
    pos = pos if pos is not None else list(np.linspace(0, 1, len(stops)))
    st = np.asarray(stops, F32)
    return np.stack([np.interp(yy[:, 0], pos, st[:, ch]) for ch in range(3)])[:, :, None].astype(F32)


def smooth_wave(rng: np.random.Generator, n: int, amp: float) -> np.ndarray:
    """n smooth random values (a few sine components), amplitude about ``amp``."""
    t = np.linspace(0, 1, n, dtype=F32)
    out = np.zeros(n, F32)
    for k in (1, 2, 4):
        out += np.sin(2 * np.pi * (k * t + rng.random())) * rng.uniform(0.3, 1.0) / k
    return out * amp


def finish(img: np.ndarray, rng: np.random.Generator, grain: float = 0.03) -> np.ndarray:
    """Global exposure/tint jitter and canvas grain, shared by every style (blurs colour histograms);
    returns the uint8 (S, S, 3) picture."""
    size = img.shape[1]
    img = img * F32(rng.uniform(0.88, 1.1)) + rgb(rng.normal(0, 0.035, 3))
    if grain > 0:
        img = img + (rng.random((1, size, size), dtype=F32) - F32(0.5)) * F32(grain)
    return np.ascontiguousarray(_u8(img).transpose(1, 2, 0))
