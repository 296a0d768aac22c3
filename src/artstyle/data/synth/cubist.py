"""The Cubisms (Analytical, Cubism, Synthetic): one painter, three parameter sets, so they are confusable.

Usage::

    from artstyle.data.synth.cubist import paint_cubist
    planes = paint_cubist(rng, 128, kind="synthetic")   # float32 (3, 128, 128)
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.brushes import marks
from artstyle.data.synth.palettes import palette
from artstyle.data.synth.primitives import F32, edges, halftone, luma, mix, noise, pixels, uv, where


def paint_cubist(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Cubism; Analytical Cubism (many small near-monochrome shaded facets); Synthetic Cubism (few flat
    planes, brighter, collage patterns): the picture cut into facets by lines through its centre."""
    n_lines, shade, outline, collage = {"analytical": (16, 1.4, 0.35, 0), "cubism": (10, 1.0, 0.6, 0),
                                        "synthetic": (6, 0.15, 0.9, 3)}[kind]
    prefs = {"analytical": ("ochre", "earth", "grey"), "cubism": ("earth", "ochre", "grey", "autumn", "sea"),
             "synthetic": ("primary", "earth", "tempera", "autumn", "grey")}[kind]
    pal = palette(rng, prefs)
    if kind == "analytical":  # Braque/Picasso 1910: browns, ochres and greys, whatever palette came up
        lum = luma(pal)[:, None]
        pal = np.clip(mix(lum * np.asarray([1.12, 0.98, 0.75], F32), pal, 0.15), 0, 1).astype(F32)
    yy, xx = uv(size)
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
            f = halftone(size, max(3.0, size * 0.04), 0.3)
        else:
            f = np.sin(yy * size * 0.8 + noise(rng, size, 4) * 12) > 0.3  # wood grain
        alt = mix(cols[k], pal[rng.integers(0, 6)], 0.7)
        img = where((h == k) & f, alt, img)
    edge = edges(h, pixels(size, 0.008)) & (noise(rng, size, 6) < outline)
    img = where(edge, pal[0] * 0.6, img)
    if kind != "synthetic":  # hatched, brushy surface inside the facets
        img = marks(img, img, rng, length=size * 0.035, width=size * 0.018, angle=rng.uniform(0, np.pi),
                    jitter=0.08, fill=0.6)
    return img
