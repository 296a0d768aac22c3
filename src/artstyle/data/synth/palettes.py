"""The shared palettes and fixed colours (flesh, paper, gold, ink, white), and the per-image palette draw.

Usage::

    from artstyle.data.synth.palettes import WHITE, palette
    pal = palette(rng, ("earth", "ochre"))   # (6, 3) float32, dark to light; sometimes another palette
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.primitives import F32, LUMA

# Palettes are shared by all painters; each style prefers a few, but any image may get any palette
# (see palette), which keeps colour histograms a weak cue. Colours are RGB 0-255.
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
_SWAP = 0.35  # chance that an image ignores its style's preferred palettes
FLESH = np.asarray([0.90, 0.74, 0.62], F32)
PAPER = np.asarray([0.91, 0.86, 0.74], F32)
GOLD = np.asarray([0.83, 0.66, 0.28], F32)
INK = np.asarray([0.08, 0.07, 0.09], F32)
WHITE = np.ones(3, F32)


def _hue_rotate(cols: np.ndarray, phi: float) -> np.ndarray:
    """Rotate colours about the grey axis (Rodrigues): a cheap hue shift that roughly keeps lightness."""
    k = 1 / np.sqrt(3)
    K = np.asarray([[0, -k, k], [k, 0, -k], [-k, k, 0]])
    rot = np.eye(3) + np.sin(phi) * K + (1 - np.cos(phi)) * (K @ K)
    return (cols @ rot.T.astype(F32)).astype(F32)


def palette(rng: np.random.Generator, prefs: tuple[str, ...], swap: float = _SWAP,
            hue: float = 0.3) -> np.ndarray:
    """Six jittered colours, (6, 3) float32 sorted dark to light: usually from one of ``prefs``."""
    names = prefs if rng.random() >= swap else _PALETTE_NAMES
    pal = _hue_rotate(_PALETTES[names[rng.integers(len(names))]], rng.normal(0, hue))
    grey = pal.mean(1, keepdims=True)
    pal = grey + rng.uniform(0.7, 1.25) * (pal - grey)
    pal = pal * rng.uniform(0.85, 1.12) + rng.normal(0, 0.04, pal.shape).astype(F32)
    pal = np.clip(pal, 0, 1).astype(F32)
    return pal[np.argsort(pal @ LUMA)]
