"""Brushwork painters: the Impressionisms (Impressionism, Post-Impressionism, Pointillism), Fauvism and
Expressionism. Each paints a scene of flat regions, then covers it with brush marks.

Usage::

    from artstyle.data.synth.impressionist import paint_impressionist
    planes = paint_impressionist(rng, 128, kind="pointillism")   # float32 (3, 128, 128)

Like every painter, these return float32 planes (3, S, S) in about [0, 1]; ``registry.paint`` adds the finish.
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.brushes import marks
from artstyle.data.synth.palettes import INK, WHITE, palette
from artstyle.data.synth.primitives import F32, blur, edges, mix, noise, pixels, saturate, uv, vgradient, where
from artstyle.data.synth.regions import Regions, landscape


def paint_impressionist(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Impressionism (light broken dabs), Post-Impressionism (long flowing strokes, contours) and
    Pointillism (dots of pure colour): the same landscapes rendered with different marks."""
    prefs = {"impressionism": ("pastel", "landscape", "sea", "sunset"),
             "post": ("landscape", "fauve", "sunset", "sea", "autumn"),
             "pointillism": ("landscape", "sea", "pastel", "primary")}[kind]
    pal = palette(rng, prefs)
    R, sky, _ = landscape(rng, size, pal)
    scene, lab = R.render(sky)
    scene = scene + (noise(rng, size, 6) - F32(0.5)) * F32(0.2)
    if kind == "impressionism":
        scene = mix(scene, WHITE, 0.22)  # high-key, pastel light
        canvas = blur(scene, size * 0.03)
        for _ in range(3):
            canvas = marks(canvas, scene, rng, length=size * rng.uniform(0.045, 0.07), width=size * 0.028,
                           angle=rng.normal(0, 0.5), jitter=0.22, fill=0.47)
        return canvas
    if kind == "post":
        scene = saturate(scene, 1.3)
        flow = (noise(rng, size, 3) - 0.5) * rng.uniform(2.5, 5.0) + rng.normal(0, 0.6)
        canvas = blur(scene, size * 0.02)
        for _ in range(2):
            canvas = marks(canvas, scene, rng, length=size * rng.uniform(0.09, 0.14), width=size * 0.032,
                           angle=flow, jitter=0.16, fill=0.5, streaks=0.25)
        if rng.random() < 0.6:  # Cezanne/Gauguin/Van Gogh contours in dark blue
            edge = edges(lab, pixels(size, 0.012)) & (noise(rng, size, 5) > 0.35)
            canvas = where(edge, mix(pal[0], [0.1, 0.15, 0.35], 0.6), canvas)
        return canvas
    # Pointillism: pure colours (palette, saturated copies, complements) as dots on a light ground.
    dots = np.concatenate([pal[1:], saturate(pal[1:], 1.7)]).astype(F32)
    canvas = mix(np.zeros((3, size, size), F32), mix(pal[-1], WHITE, 0.6), 1.0)
    cell = max(2.5, size * 0.03)
    for _ in range(2):
        canvas = marks(canvas, scene, rng, length=cell, width=cell, angle=rng.uniform(0, np.pi), jitter=0.05,
                       fill=0.47, pal=dots, swap=0.12)
    return canvas


def paint_expressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Distorted houses and figures, intense unnatural colour, long strong strokes and heavy dark contours."""
    pal = saturate(palette(rng, ("fauve", "sunset", "acid", "primary", "autumn")), 1.4)
    R = Regions(size, pal[rng.integers(2, 6)], light=(rng.uniform(-1, 1), -0.6))
    h = rng.uniform(0.3, 0.55)
    yy, _ = uv(size)
    bands = np.sin((yy * 9 + noise(rng, size, 3) * 4) * np.pi) * 0.5 + 0.5  # Munch's swirling sky
    sky = mix(pal[rng.integers(2, 6)], pal[rng.integers(0, 6)], bands)
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
        canvas = marks(canvas, scene, rng, length=size * rng.uniform(0.12, 0.2), width=size * 0.04,
                       angle=rng.uniform(0, np.pi), jitter=0.3, fill=0.55, streaks=0.2)
    edge = edges(lab, pixels(size, 0.018)) & (noise(rng, size, 6) > 0.25)
    return where(edge, mix(INK, [0.05, 0.05, 0.3], rng.random()), canvas)


def paint_fauvism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Wild pure colour in broad flat-ish patches laid with loose strokes; bits of canvas show between."""
    pal = saturate(palette(rng, ("fauve", "sunset", "primary", "acid")), 1.6)
    R, _, _ = landscape(rng, size, pal, water=0.5)
    # The Fauves chose colours freely: every region gets an arbitrary pure colour, flat.
    R.colours = [pal[rng.integers(0, 6)] for _ in R.colours]
    R.shading = [(1.0, 0.0, 0.0, 0.0) for _ in R.shading]
    scene, lab = R.render(vgradient(size, [pal[rng.integers(0, 6)], pal[rng.integers(0, 6)]]))
    canvas = mix(scene, WHITE, 0.45)
    canvas = marks(canvas, scene, rng, length=size * rng.uniform(0.1, 0.16), width=size * 0.06,
                   angle=rng.normal(0, 0.8), jitter=0.2, fill=0.5)
    canvas = marks(canvas, scene, rng, length=size * rng.uniform(0.07, 0.1), width=size * 0.045,
                   angle=rng.normal(0, 0.8), jitter=0.25, fill=0.44)
    if rng.random() < 0.5:  # Matisse's loose coloured contours
        edge = edges(lab, pixels(size, 0.014)) & (noise(rng, size, 5) > 0.4)
        canvas = where(edge, pal[rng.integers(0, 3)], canvas)
    return canvas
