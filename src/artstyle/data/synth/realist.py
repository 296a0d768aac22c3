"""The Realisms (Realism, Contemporary Realism, New Realism): one painter, three renderings of the same
kinds of scene (landscape, portrait, street).

Usage::

    from artstyle.data.synth.realist import paint_realism
    planes = paint_realism(rng, 128, kind="contemporary")   # float32 (3, 128, 128)
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.palettes import FLESH, WHITE, palette
from artstyle.data.synth.primitives import F32, blur, edges, fractal, mix, noise, rgb, saturate, vgradient, where
from artstyle.data.synth.regions import Regions, draped_figure, landscape


def paint_realism(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Realism (earthy, soft, natural light), Contemporary Realism (crisp, bright, hard light) and
    New Realism (flat, graphic, urban, poster collage): the same kinds of scene rendered differently."""
    prefs = {"realism": ("earth", "landscape", "autumn", "ochre"),
             "contemporary": ("landscape", "sea", "grey", "pastel"),
             "new": ("primary", "grey", "neon", "sea")}[kind]
    pal = palette(rng, prefs)
    weights = {"realism": (0.5, 0.35, 0.15, 0.0), "contemporary": (0.3, 0.3, 0.4, 0.0),
               "new": (0.1, 0.25, 0.4, 0.25)}[kind]
    scene = rng.choice(4, p=weights)
    if scene == 0:
        R, sky, h = landscape(rng, size, pal)
        if rng.random() < 0.5:
            draped_figure(R, rng, rng.uniform(0.2, 0.8), h + rng.uniform(0.15, 0.3), rng.uniform(0.2, 0.35),
                          pal[rng.integers(0, 4)])
    elif scene == 1:  # portrait: head and shoulders against a plain ground
        bg = pal[rng.integers(0, 3)]
        R = Regions(size, bg, light=(rng.choice([-0.7, 0.7]), -0.7))
        sky = vgradient(size, [bg * 1.1, bg * 0.8])
        x = rng.uniform(0.4, 0.6)
        R.ellipse(x, 1.05, rng.uniform(0.3, 0.42), 0.33, pal[rng.integers(0, 4)], shade=0.5, volume=0.3)
        R.ellipse(x, 0.62, 0.06, 0.1, FLESH * 0.9, shade=0.4)  # neck
        R.ellipse(x, 0.42, 0.13, 0.17, FLESH, shade=0.6, volume=0.5)
        R.ellipse(x + rng.normal(0, 0.02), 0.32, 0.15, 0.11, pal[rng.integers(0, 3)], shade=0.3)  # hair
        for dx in (-0.05, 0.05):  # eyes
            R.ellipse(x + dx, 0.42, 0.018, 0.01, pal[0])
    else:  # street: buildings with window grids under a sky; or (New Realism) torn posters
        R = Regions(size, pal[-1], light=(rng.choice([-0.8, 0.8]), -0.5))
        h = rng.uniform(0.2, 0.45)
        sky = vgradient(size, [pal[-1], mix(pal[-1], WHITE, 0.4)], [0, h])
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
        img = blur(img, size * 0.01) * F32(0.9)
        img = (img + (fractal(rng, size, 4, 2) - F32(0.5)) * F32(0.12)) * rgb([1.04, 1.0, 0.9])  # warm light
    elif kind == "contemporary":
        img = mix(img, WHITE, 0.08) + (noise(rng, size, 8) - F32(0.5)) * F32(0.06)
    else:
        img = (saturate(img, 1.4) - F32(0.5)) * F32(1.25) + F32(0.5)  # hard, graphic contrast
        if rng.random() < 0.5:
            img = where(edges(lab, 1), pal[0] * 0.5, img)
    return img
