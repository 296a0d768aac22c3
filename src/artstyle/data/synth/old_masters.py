"""Figurative painting from the Renaissance to the 19th century: the Renaissances (Early, High, Mannerism,
Northern: one painter, four parameter sets), Baroque, Rococo, Romanticism and Symbolism.

Usage::

    from artstyle.data.synth.old_masters import paint_renaissance
    planes = paint_renaissance(rng, 128, kind="high")   # float32 (3, 128, 128)
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.brushes import marks
from artstyle.data.synth.palettes import FLESH, GOLD, WHITE, palette
from artstyle.data.synth.primitives import (F32, blur, fractal, halftone, mix, noise, rgb, smooth_wave, uv,
                                            vgradient, where)
from artstyle.data.synth.regions import Regions, draped_figure, landscape


def paint_renaissance(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """Early (tempera, gold grounds, perspective floors, crisp), High (sfumato, pyramidal groups, blue
    distance), Mannerism (elongated crowded figures, acid colour), Northern (dark interiors, fine detail)."""
    prefs = {"early": ("tempera", "landscape", "earth"), "high": ("earth", "landscape", "tempera", "sea"),
             "mannerism": ("acid", "tempera", "pastel", "baroque"),
             "northern": ("baroque", "earth", "autumn", "tempera")}[kind]
    pal = palette(rng, prefs)
    yy, xx = uv(size)
    gold = mix(GOLD, pal[3], 0.25)
    interior = kind == "northern" and rng.random() < 0.6
    if kind == "early" and rng.random() < 0.4:  # gold-leaf ground
        R = Regions(size, gold)
        sky = vgradient(size, [gold, gold * 0.9])
    elif interior:  # a dark room with a window onto a small landscape
        R = Regions(size, pal[0] * 0.7)
        sky = vgradient(size, [pal[0] * 0.6, pal[1] * 0.8])
        wx = rng.choice([0.08, 0.62])
        R.rect(wx, 0.12, wx + 0.3, 0.45, mix(pal[4], [0.6, 0.75, 0.9], 0.5), shade=0.3)
        R.rect(wx, 0.35, wx + 0.3, 0.45, pal[2], shade=0.3)
        R.rect(wx + 0.14, 0.12, wx + 0.16, 0.45, pal[0])
    else:
        R, sky, _ = landscape(rng, size, pal, horizon=rng.uniform(0.35, 0.55), trees=rng.integers(0, 3),
                              water=0.3)
        if kind == "high":  # aerial perspective: the distance fades to blue
            sky = mix(sky, [0.55, 0.68, 0.85], 0.35)
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
        draped_figure(R, rng, x, y, hh, pal[rng.integers(0, 6)], elong=elong,
                      halo=gold if kind == "early" and rng.random() < 0.7 else None,
                      mantle=pal[rng.integers(0, 6)] if rng.random() < 0.7 else None,
                      lean=rng.normal(0, 0.12) if kind == "mannerism" else 0.0)
    img, lab = R.render(sky)
    if kind == "early" and not interior and rng.random() < 0.6:  # a tiled floor in one-point perspective
        depth = 1 / np.maximum(yy - floor_y, 1e-3)
        tiles = (np.floor((xx - 0.5) * depth * 0.8) + np.floor(depth * 0.15)) % 2
        img = where((yy > floor_y) & (lab < n_ground), mix(pal[2], pal[4], tiles), img)
    # Drapery: soft vertical folds in the robes.
    folds = np.sin(xx * F32(size * 0.5) + noise(rng, size, 4) * F32(4)) > 0.55
    img = img * np.where((lab >= n_ground) & folds, F32(0.82), F32(1.0))
    if kind == "high":
        img = blur(img, size * 0.025)  # sfumato
    elif kind == "mannerism":
        img = blur(img, size * 0.006) * rgb([0.95, 1.02, 1.08])  # cool, acid light
    elif kind == "northern":  # minute detail: fine high-frequency texture, dark varnish
        img = img * (F32(0.75) + F32(0.15) * noise(rng, size, size // 2))
    return img


def paint_baroque(rng: np.random.Generator, size: int) -> np.ndarray:
    """Chiaroscuro: figures emerging from a near-black ground under one strong, focused light."""
    pal = palette(rng, ("baroque", "earth", "autumn", "tempera"), swap=0.3)
    fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.55)
    R = Regions(size, pal[0] * 0.4, light=(-0.7, -0.7))
    for _ in range(rng.integers(2, 5)):  # figures in a diagonal tumble around the focal point
        draped_figure(R, rng, fx + rng.normal(0, 0.18), rng.uniform(0.8, 1.1), rng.uniform(0.45, 0.8),
                      pal[rng.integers(1, 6)], mantle=pal[rng.integers(1, 6)], lean=rng.normal(0, 0.15))
    for _ in range(rng.integers(1, 4)):  # drapery, a table cloth, a skull, a jug...
        R.ellipse(fx + rng.normal(0, 0.2), fy + rng.uniform(0.1, 0.45), rng.uniform(0.05, 0.2),
                  rng.uniform(0.04, 0.12), pal[rng.integers(2, 6)], shade=0.8, volume=0.6)
    img, _ = R.render()
    img = blur(img, size * 0.008)
    yy, xx = uv(size)
    d2 = (xx - fx) ** 2 + (yy - fy) ** 2
    light = F32(0.1) + F32(1.15) * np.exp(-d2 / F32(2 * rng.uniform(0.15, 0.26) ** 2))
    return img * light * rgb([1.08, 0.98, 0.82])


def paint_rococo(rng: np.random.Generator, size: int) -> np.ndarray:
    """Pastel pinks and blues, soft light, fluffy clouds, feathery trees, curving garden scenes."""
    pal = mix(palette(rng, ("pastel", "sunset", "landscape", "tempera")), WHITE, 0.2)
    R, sky, h = landscape(rng, size, pal, horizon=rng.uniform(0.5, 0.75), trees=rng.integers(2, 5), water=0.2)
    sky = mix(sky, [0.95, 0.8, 0.85], 0.35)
    for _ in range(rng.integers(2, 5)):  # clouds: clusters of soft puffs
        cx, cy = rng.uniform(0, 1), rng.uniform(0.05, h * 0.8)
        col = mix(WHITE, [1, 0.85, 0.88], rng.random())
        for _k in range(5):
            R.ellipse(cx + rng.normal(0, 0.07), cy + rng.normal(0, 0.03), rng.uniform(0.04, 0.09),
                      rng.uniform(0.03, 0.06), col, shade=0.3)
    for _ in range(rng.integers(1, 3)):  # figures in billowing dresses
        x, y = rng.uniform(0.2, 0.8), h + rng.uniform(0.1, 0.25)
        R.ellipse(x, y, 0.09, 0.08, pal[rng.integers(2, 6)], shade=0.4, volume=0.4)
        R.ellipse(x, y - 0.11, 0.03, 0.05, pal[rng.integers(2, 6)], shade=0.3)
        R.ellipse(x, y - 0.18, 0.022, 0.028, FLESH)
    if rng.random() < 0.5:  # a swing's ropes curving down from the trees
        x = rng.uniform(0.3, 0.7)
        t = np.linspace(0, 1, 10)
        for dx in (-0.04, 0.04):
            R.line(np.c_[x + dx + 0.05 * np.sin(t * 3), t * (h + 0.1)], 0.006, pal[1])
    scene, _ = R.render(sky)
    img = blur(scene, size * 0.012)
    img = marks(img, img, rng, length=size * 0.04, width=size * 0.02, angle=rng.uniform(0, np.pi),
                jitter=0.1, fill=0.45)  # feathery touch
    img = blur(img, size * 0.006)
    if rng.random() < 0.5:  # an oval frame
        yy, xx = uv(size)
        oval = ((xx - 0.5) / 0.48) ** 2 + ((yy - 0.5) / 0.49) ** 2 > 1
        img = where(oval, mix(pal[2], GOLD, 0.5), img)
    return img


def paint_romanticism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Drama: a glowing sky gradient under storm clouds, dark mountains or a heaving sea, a tiny figure."""
    pal = palette(rng, ("sunset", "nocturne", "earth", "sea", "autumn"))
    yy, xx = uv(size)
    h = rng.uniform(0.5, 0.72)
    glow = pal[rng.integers(4, 6)]
    sky = vgradient(size, [pal[0] * 0.7, pal[rng.integers(1, 4)], mix(glow, WHITE, 0.3)], [0, h * 0.6, h])
    sun = np.exp(-((xx - rng.uniform(0.2, 0.8)) ** 2 + (yy - h * 0.85) ** 2) / F32(0.02))
    storm = np.clip((fractal(rng, size, 3, 3) - 0.45) * 3, 0, 1) * (yy < h)
    sky = mix(sky, glow, sun * F32(0.8))
    sky = sky * (1 - F32(0.6) * storm) + rgb(mix(pal[0], glow, 0.3) * 0.3) * storm
    R = Regions(size, pal[0])
    xs = np.linspace(-0.05, 1.05, 16, dtype=F32)
    sea = None
    if rng.random() < 0.5:  # mountains: jagged, dark silhouettes
        for layer in range(2):
            ys = h - rng.uniform(0.05, 0.3) + np.abs(smooth_wave(rng, 16, 0.15)) + rng.uniform(-0.03, 0.03, 16)
            R.polygon(np.r_[np.c_[xs, ys + layer * 0.1], [[1.05, 1.05], [-0.05, 1.05]]], pal[layer] * 0.7, shade=0.3)
    else:  # the sea, lit by the glow
        sea = R.rect(0, h, 1, 1, mix(pal[1], glow, 0.2))
    cliff = rng.choice([-0.1, 0.6])
    R.polygon([(cliff, 1.05), (cliff + 0.05, h + 0.1), (cliff + 0.35, h + 0.15), (cliff + 0.5, 1.05)], pal[0])
    draped_figure(R, rng, cliff + 0.2, h + 0.14, 0.1, pal[0] * 0.5, flesh=pal[0] * 0.6)  # the wanderer
    if sea is not None and rng.random() < 0.6:  # a ship in distress
        sx = rng.uniform(0.2, 0.8)
        R.polygon([(sx - 0.08, h + 0.05), (sx + 0.08, h + 0.05), (sx + 0.05, h + 0.08), (sx - 0.05, h + 0.08)], pal[0])
        R.polygon([(sx, h - 0.12), (sx + 0.06, h + 0.03), (sx, h + 0.03)], mix(glow, pal[0], 0.5))
    img, lab = R.render(sky)
    if sea is not None:  # waves: light crests on the dark water
        near = np.maximum(yy - h, 0) * 4 + 0.4  # waves grow toward the viewer
        crest = np.sin((xx * 14 + noise(rng, size, 6) * 3) / near + yy * 70) > 0.6
        img = where((lab == sea) & crest, mix(img, glow, 0.4), img)
    img = blur(img, size * 0.006)
    return img * (1 - F32(0.5) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2))  # vignette


def paint_symbolism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Dream and mystery: deep blue to gold gradients, a glowing orb, mist, a hieratic figure, gold mosaic."""
    pal = palette(rng, ("nocturne", "sunset", "sea", "acid", "baroque"))
    yy, xx = uv(size)
    gold = mix(GOLD, pal[-1], 0.3)
    if rng.random() < 0.5:
        t = np.clip(yy + (noise(rng, size, 3) - 0.5) * 0.4, 0, 1)
    else:
        t = np.clip(np.sqrt((xx - 0.5) ** 2 + (yy - 0.45) ** 2) * 1.6, 0, 1)
    img = mix(pal[rng.integers(3, 6)], pal[0], t)
    ox, oy = rng.uniform(0.25, 0.75), rng.uniform(0.15, 0.45)
    img = mix(img, gold, np.exp(-((xx - ox) ** 2 + (yy - oy) ** 2) / F32(rng.uniform(0.004, 0.02))))
    R = Regions(size)
    x = rng.uniform(0.3, 0.7)
    robe = R.polygon([(x - 0.06, 0.35), (x + 0.06, 0.35), (x + rng.uniform(0.12, 0.25), 1.05),
                      (x - rng.uniform(0.12, 0.25), 1.05)], pal[rng.integers(0, 3)])
    R.ellipse(x, 0.3, 0.045, 0.06, mix(FLESH, pal[-1], 0.4))
    fig, lab = R.render()
    if rng.random() < 0.6:  # Klimt's gold tesserae
        tess = halftone(size, max(3.0, size * 0.03), 0.3, angle=0.0)
        fig = where((lab == robe) & tess, gold, fig)
    img = where(lab > 0, mix(fig, img, 0.25), img)
    mist = np.clip(fractal(rng, size, 2, 3) - 0.4, 0, 1) * F32(0.7)
    return blur(mix(img, mix(pal[-1], WHITE, 0.3), mist), size * 0.01)
