"""The style map as a clickable picture: points drawn at fixed pixel positions, and the point under a click.

Usage::

    view = MapView(points)                           # points: artstyle.api.style_map(...)
    png = view.draw(styles=["Baroque"], mark=12)     # uint8 (H, W, 3); other styles hidden, point 12 ringed
    i = view.at(x=310, y=122, styles=["Baroque"])    # index of the nearest shown point, or None
    view.legend_html(styles=None)                    # coloured swatches, one per style

Positions depend on every point, not on the filter, so filtering never moves a point. Nothing here imports
gradio or torch.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np

WIDTH, HEIGHT, MARGIN, RADIUS = 720, 480, 16, 3
PICK_DISTANCE = 14
"""A click farther than this (in canvas pixels) from every shown point selects nothing."""


def palette(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct RGB colours (tab20, tab20b, then repeats)."""
    from matplotlib import colormaps

    colours = [colormaps[name](i)[:3] for name in ("tab20", "tab20b", "tab20c") for i in range(20)]
    return [tuple(int(round(255 * c)) for c in colours[i % len(colours)]) for i in range(n)]  # type: ignore[misc]


class MapView:
    """Canvas coordinates, colours and hit-testing for one computed style map."""

    def __init__(self, points: dict[str, Any], width: int = WIDTH, height: int = HEIGHT) -> None:
        self.points, self.width, self.height = points, width, height
        self.classes: list[str] = list(points["classes"])
        self.colours = dict(zip(self.classes, palette(len(self.classes))))
        xy = np.stack([np.asarray(points["x"], np.float64), np.asarray(points["y"], np.float64)], axis=1)
        lo, hi = xy.min(0), xy.max(0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        unit = (xy - lo) / span
        self.px = np.stack([MARGIN + unit[:, 0] * (width - 2 * MARGIN),
                            MARGIN + (1 - unit[:, 1]) * (height - 2 * MARGIN)], axis=1)  # y up, as in a plot

    def shown(self, styles: Sequence[str] | None) -> np.ndarray:
        """Boolean mask of the points whose style is in ``styles`` (None or empty: all)."""
        if not styles:
            return np.ones(len(self.px), bool)
        wanted = set(styles)
        return np.array([s in wanted for s in self.points["style"]], bool)

    def draw(self, styles: Sequence[str] | None = None, mark: int | None = None) -> np.ndarray:
        """uint8 ``(height, width, 3)``: the shown points as coloured dots; ``mark`` gets a black ring."""
        from PIL import Image, ImageDraw

        im = Image.new("RGB", (self.width, self.height), (255, 255, 255))
        draw = ImageDraw.Draw(im)
        draw.rectangle([0, 0, self.width - 1, self.height - 1], outline=(200, 200, 200))
        for i in np.flatnonzero(self.shown(styles)):
            x, y = self.px[i]
            draw.ellipse([x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS], fill=self.colours[self.points["style"][i]])
        if mark is not None and 0 <= mark < len(self.px):
            x, y = self.px[mark]
            draw.ellipse([x - 3 * RADIUS, y - 3 * RADIUS, x + 3 * RADIUS, y + 3 * RADIUS], outline=(0, 0, 0), width=2)
        return np.asarray(im)

    def at(self, x: float, y: float, styles: Sequence[str] | None = None) -> int | None:
        """Index of the shown point nearest the canvas pixel ``(x, y)``, or None beyond PICK_DISTANCE."""
        idx = np.flatnonzero(self.shown(styles))
        if not len(idx):
            return None
        d = np.hypot(self.px[idx, 0] - x, self.px[idx, 1] - y)
        best = int(np.argmin(d))
        return int(idx[best]) if d[best] <= PICK_DISTANCE else None

    def legend_html(self, styles: Sequence[str] | None = None) -> str:
        """One coloured swatch and count per style (the shown ones when ``styles`` is given)."""
        from artstyle.styles import display_name

        counts: dict[str, int] = {}
        for s in self.points["style"]:
            counts[s] = counts.get(s, 0) + 1
        items = []
        for c in self.classes:
            if counts.get(c) and (not styles or c in styles):
                r, g, b = self.colours[c]
                items.append(f'<span style="display:inline-block;margin:2px 8px 2px 0;white-space:nowrap">'
                             f'<span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
                             f'background:rgb({r},{g},{b})"></span> {html.escape(display_name(c))} ({counts[c]})'
                             f'</span>')
        return '<div style="font-size:12px;line-height:1.6">' + "".join(items) + "</div>"


__all__ = ["MapView", "palette"]
