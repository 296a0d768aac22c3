"""Abstract painters: Abstract Expressionism, Action painting, Color Field painting and Minimalism.

Usage::

    from artstyle.data.synth.abstract import paint_color_field
    planes = paint_color_field(rng, 128)   # float32 (3, 128, 128)
"""

from __future__ import annotations

import numpy as np

from artstyle.data.synth.palettes import INK, PAPER, WHITE, palette
from artstyle.data.synth.primitives import F32, blur, fractal, mix, noise, rgb, uv, where
from artstyle.data.synth.regions import Regions


def paint_abstract_expressionism(rng: np.random.Generator, size: int) -> np.ndarray:
    """Large gestural brush strokes, dragged dry so the ground breaks through, over a scumbled field."""
    pal = palette(rng, ("primary", "grey", "fauve", "earth", "sunset"))
    yy, xx = uv(size)
    # The ground: two or three big soft zones of colour.
    zones = np.stack([noise(rng, size, 2) for _ in range(3)]).argmax(0)
    ground = blur(np.take(pal[rng.integers(0, 6, 3)].T, zones, axis=1), size * 0.06)
    R = Regions(size)
    angles = [0.0]
    for _ in range(rng.integers(10, 20)):  # strokes: wandering paths of a broad, loaded brush
        n = 7
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.35, n))
        step = rng.uniform(0.05, 0.13)
        pts = rng.uniform(-0.05, 1.05, 2) + np.cumsum(np.c_[np.cos(heading), np.sin(heading)] * step, 0)
        col = INK if rng.random() < 0.15 else pal[rng.integers(0, 6)]
        R.line(pts, rng.uniform(0.07, 0.2), col)
        angles.append(float(heading.mean()))
    img, lab = R.render()
    # Bristle streaks run along each stroke; where the brush ran dry the ground shows through.
    th = np.take(np.asarray(angles, F32), lab)
    v = (yy * np.cos(th) - xx * np.sin(th)) * F32(size * 0.7)
    streak = np.take(rng.random(211, dtype=F32), (v + 300).astype(np.int32) % 211)
    img = img * (F32(0.85) + F32(0.3) * streak)
    dry = (lab == 0) | (streak < 0.15) & (noise(rng, size, 4) > 0.55)
    return np.where(dry, ground, img)


def paint_action_painting(rng: np.random.Generator, size: int) -> np.ndarray:
    """Pollock's drips: layers of thin meandering poured lines and splatters, all over the canvas."""
    pal = palette(rng, ("grey", "earth", "primary", "ochre"))
    ground = rng.choice([0, 4, 5, 5])
    R = Regions(size, mix(pal[ground], PAPER, 0.3 if ground else 0.0))
    labels = []
    for _layer in range(rng.integers(4, 8)):
        col = pal[rng.integers(0, 6)] if rng.random() < 0.7 else (INK if rng.random() < 0.5 else WHITE)
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


def paint_color_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """Large soft fields of colour: Rothko's stacked rectangles, Newman's zips, Louis/Frankenthaler stains."""
    pal = palette(rng, ("sunset", "nocturne", "fauve", "autumn", "pastel", "earth"))
    yy, xx = uv(size)
    mode = rng.choice(3, p=[0.45, 0.25, 0.3])
    img = rgb(pal[rng.integers(0, 6)]) * (F32(0.94) + F32(0.12) * noise(rng, size, 5))
    if mode == 0:  # Rothko: two or three soft-edged rectangles stacked vertically
        n = rng.integers(2, 4)
        gap, top = rng.uniform(0.03, 0.07), rng.uniform(0.05, 0.1)
        hs = rng.dirichlet(np.ones(n) * 3) * (1 - 2 * top - gap * (n - 1))
        y0 = top
        soft = rng.uniform(0.015, 0.04)
        ragged = (noise(rng, size, 10) - 0.5) * soft * 2
        for i in range(n):
            x0, x1, y1 = rng.uniform(0.06, 0.12), rng.uniform(0.88, 0.94), y0 + hs[i]
            d = np.minimum(np.minimum(xx - x0, x1 - xx), np.minimum(yy - y0, y1 - yy)) + ragged
            col = rgb(pal[rng.integers(0, 6)]) * (F32(0.95) + F32(0.1) * noise(rng, size, 4))
            img = mix(img, col, np.clip(d / soft + 0.5, 0, 1))
            y0 = y1 + gap
    elif mode == 1:  # Newman: a flat field cut by one to three vertical zips
        for _ in range(rng.integers(1, 4)):
            x0, w = rng.uniform(0.1, 0.9), rng.uniform(0.008, 0.04)
            a = np.clip(1 - np.abs(xx - x0) / w + (noise(rng, size, 12) - 0.5) * 0.5, 0, 1)
            img = mix(img, pal[rng.integers(0, 6)], a)
    else:  # stains: translucent pools of thinned paint soaked into raw canvas
        img = mix(img, PAPER, 0.6)
        for _ in range(rng.integers(2, 5)):
            a = np.clip((fractal(rng, size, 2, 2) - rng.uniform(0.45, 0.6)) * 6, 0, 1) * F32(rng.uniform(0.5, 0.9))
            img = img * (1 - a) + img * rgb(pal[rng.integers(0, 6)] * 1.2) * a
    return img


def paint_minimalism(rng: np.random.Generator, size: int) -> np.ndarray:
    """A few flat hard-edged geometric areas on a plain ground; or a fine pencil grid; or regular bands."""
    pal = palette(rng, ("grey", "primary", "pastel", "earth"))
    ground = pal[rng.choice([4, 5, 5, 3, 0])]
    yy, xx = uv(size)
    mode = rng.choice(3, p=[0.55, 0.2, 0.25])
    if mode == 0:
        R = Regions(size, ground)
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
        img = mix(mix(ground, WHITE, 0.6), pal[0], lines * F32(0.3))
    else:  # Stella-like regular bands, straight or concentric, with thin gaps
        k = rng.integers(4, 10)
        t = (np.maximum(np.abs(xx - 0.5), np.abs(yy - 0.5)) if rng.random() < 0.5 else xx + 0 * yy) * k
        img = where(np.abs(t % 1 - 0.5) > 0.44, pal[-1], pal[rng.integers(0, 5)])
    return img
