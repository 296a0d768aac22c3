"""Graphic painters, flat colour inside outlines: Art Nouveau, Naive Art, Pop Art and Ukiyo-e.

Usage::

    from artstyle.data.synth.graphic import paint_pop_art
    planes = paint_pop_art(rng, 128)   # float32 (3, 128, 128)
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.palettes import FLESH, GOLD, INK, PAPER, WHITE, palette
from artstyle.data.synth.primitives import F32, edges, halftone, mix, noise, pixels, saturate, uv, vgradient, where
from artstyle.data.synth.regions import Regions


def paint_art_nouveau(rng: np.random.Generator, size: int) -> np.ndarray:
    """Mucha-style decoration: a framed figure or flowers before a halo disc, whiplash curves, flat
    muted colour, outlines and an ornamental border."""
    pal = palette(rng, ("pastel", "earth", "autumn", "tempera", "ochre"))
    R = Regions(size, pal[rng.integers(3, 6)], light=(0.0, -1.0))
    m = rng.uniform(0.05, 0.1)  # border width
    frame = pal[rng.integers(0, 3)]
    arch = rng.random() < 0.5
    R.rect(m, m, 1 - m, 1 - m, pal[rng.integers(3, 6)])
    R.ellipse(0.5, rng.uniform(0.3, 0.45), rng.uniform(0.22, 0.34), rng.uniform(0.22, 0.34),
              mix(pal[rng.integers(2, 6)], GOLD, 0.4))  # halo disc
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
        R.ellipse(x, 0.36, 0.06, 0.08, FLESH)
    else:  # stylised flowers
        for _ in range(rng.integers(3, 7)):
            fx, fy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.04, 0.09)
            petal = pal[rng.integers(0, 6)]
            for k in range(6):
                a = k * np.pi / 3
                R.ellipse(fx + r * np.cos(a), fy + r * np.sin(a), r * 0.6, r * 0.6, petal)
            R.ellipse(fx, fy, r * 0.5, r * 0.5, pal[rng.integers(0, 3)])
    bw = pixels(size, m)
    R.draw.rectangle([0, 0, size - 1, size - 1], outline=0, width=bw)  # the border is label 0
    img, lab = R.render()
    yy, xx = uv(size)
    if arch:  # a round-topped opening: the frame fills the upper corners
        ry = rng.uniform(0.2, 0.35)
        lab = np.where((yy < m + ry) & (((xx - 0.5) / (0.5 - m)) ** 2 + ((yy - m - ry) / ry) ** 2 > 1), 0, lab)
    img = where(lab == 0, frame, img)
    step = max(3, 2 * pixels(size, m * 0.35) + 1)
    ornament = (lab == 0) & ((np.floor(xx * size / step) + np.floor(yy * size / step)) % 2 == 0)
    img = where(ornament, mix(frame, pal[-1], 0.6), img)
    return where(edges(lab, pixels(size, 0.01)), pal[0] * 0.5, img)


def paint_naive(rng: np.random.Generator, size: int) -> np.ndarray:
    """Naive art: flat bright shapes without perspective: rows of houses, lollipop trees, sun, figures."""
    pal = saturate(palette(rng, ("primary", "fauve", "landscape", "pastel")), 1.3)
    sky, ground = pal[rng.integers(3, 6)], pal[rng.integers(1, 4)]
    R = Regions(size, sky)
    h = rng.uniform(0.4, 0.6)
    R.rect(0, h, 1, 1, ground)
    if rng.random() < 0.5:
        R.ellipse(rng.uniform(0.2, 0.8), h + 0.05, rng.uniform(0.3, 0.5), 0.15, mix(ground, pal[-1], 0.3))
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
            R.ellipse(x, h - w * 1.0, w * 0.15, w * 0.15, FLESH)
    for _ in range(rng.integers(5, 20)):  # flowers dotted in the grass
        R.ellipse(rng.uniform(0, 1), rng.uniform(h + 0.1, 0.98), 0.015, 0.015, pal[rng.integers(0, 6)])
    img, lab = R.render()
    if rng.random() < 0.6:
        img = where(edges(lab, 1), pal[0] * 0.5, img)
    return img


def paint_pop_art(rng: np.random.Generator, size: int) -> np.ndarray:
    """Bold primaries, thick black outlines, Ben-Day dots: comic panels, Warhol grids, targets."""
    pal = saturate(palette(rng, ("primary", "neon", "fauve", "pastel"), swap=0.3), 1.5)
    mode = rng.choice(3, p=[0.4, 0.4, 0.2])
    R = Regions(size, pal[rng.integers(2, 6)])
    dotted: list[int] = [0] if rng.random() < 0.7 else []
    if mode == 0:  # comic close-up: face, hair, speech balloon
        x = rng.uniform(0.35, 0.65)
        R.ellipse(x + 0.02, 0.45, 0.3, 0.34, pal[rng.integers(0, 3)])  # hair
        dotted.append(R.ellipse(x, 0.55, 0.2, 0.26, mix(FLESH, [1, 0.8, 0.8], 0.5)))
        R.ellipse(x - 0.08, 0.5, 0.04, 0.02, WHITE)
        R.ellipse(x + 0.08, 0.5, 0.04, 0.02, WHITE)
        R.ellipse(x, 0.68, 0.07, 0.025, pal[-1] * np.asarray([1, 0.2, 0.2], F32))  # lips
        if rng.random() < 0.7:
            bx = 0.78 if x < 0.5 else 0.22
            R.ellipse(bx, 0.15, 0.2, 0.11, WHITE)
            for k in range(3):
                R.rect(bx - 0.13, 0.1 + k * 0.035, bx + 0.13 - 0.05 * k, 0.115 + k * 0.035, INK)
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
                    R.rect(cx - cell * 0.2, cy - cell * 0.05, cx + cell * 0.2, cy + cell * 0.12, WHITE)
                if rng.random() < 0.3:
                    dotted.append(bg)
    else:  # target
        x, y = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6)
        for k in range(rng.integers(3, 6), 0, -1):
            i = R.ellipse(x, y, 0.09 * k, 0.09 * k, pal[rng.integers(0, 6)])
            if rng.random() < 0.3:
                dotted.append(i)
    img, lab = R.render()
    dots = halftone(size, max(3.0, size * 0.04), rng.uniform(0.28, 0.4))
    img = where(np.isin(lab, dotted) & ~dots, mix(WHITE, img, 0.15), img)
    return where(edges(lab, pixels(size, 0.016)), INK, img)


# Hokusai's wave in units of its crest radius, from the far base up over the crest, round the lip (which
# hangs down as a claw) and back through the hollow under it to the near base.
_WAVE_CURL = [(-2.6, 1.6), (-1.4, 1.0), (-1.0, 0.2), (-0.7, -0.5), (-0.2, -0.95), (0.4, -1.0), (0.9, -0.7),
              (1.15, -0.2), (1.0, 0.2), (0.75, 0.35), (0.8, 0.05), (0.55, -0.3), (0.1, -0.35), (-0.2, 0.0),
              (-0.1, 0.6), (0.4, 1.2), (1.6, 1.6), (2.6, 1.6)]


def paint_ukiyo_e(rng: np.random.Generator, size: int) -> np.ndarray:
    """Woodblock prints: flat colours in thin dark outlines on paper; a graded (bokashi) sky band,
    a great wave, Mount Fuji or a kimono figure, and a title cartouche."""
    pal = palette(rng, ("woodblock", "sea", "tempera", "earth"), swap=0.3)
    paper = mix(PAPER, pal[-1], 0.3)
    blue = mix([0.12, 0.24, 0.45], pal[0], 0.4)
    yy, xx = uv(size)
    band = rng.uniform(0.15, 0.35)
    R = Regions(size, paper)
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
        R.polygon([(mx - top_w, mt), (mx + top_w, mt)] + list(zip(xs, ys)), WHITE)
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
            R.ellipse(fx, fy, r * 0.1, r * 0.1, WHITE)
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
        R.ellipse(x, 0.26, 0.06, 0.08, mix(WHITE, FLESH, 0.3))
        R.ellipse(x + 0.01, 0.17, 0.09, 0.06, INK)  # hair
    img, lab = R.render(vgradient(size, [blue, paper, paper], [0, band, 1]))
    if mode == 0:  # white flow lines inside the water, curving with the crest
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / r
        img = where((lab == wave) & (np.sin(d * 18 + noise(rng, size, 4) * 3) > 0.8), mix(blue, paper, 0.8), img)
    if robe >= 0:
        pattern = halftone(size, max(3.0, size * 0.05), 0.25, angle=0.0) | (np.sin(yy * size * 0.5) > 0.9)
        img = where((lab == robe) & pattern, mix(img, paper, 0.7), img)
    img = where(edges(lab, 1), INK, img)
    if rng.random() < 0.8:  # a cartouche with vertical lines of text
        x0, y0 = rng.choice([0.06, 0.8]), 0.05
        box = (xx > x0) & (xx < x0 + 0.13) & (yy > y0) & (yy < y0 + 0.3)
        text = box & ((xx * size).astype(np.int32) % 4 == 1) & (noise(rng, size, 20) > 0.4)
        img = where(text, INK, where(box, mix(paper, pal[rng.integers(2, 5)], 0.5), img))
    return img * (F32(0.94) + F32(0.08) * noise(rng, size, 2, size // 2))  # paper fibres
