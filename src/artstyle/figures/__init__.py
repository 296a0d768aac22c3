"""Figure helpers shared by every stage: headless matplotlib, atomic PNG saves, the synthetic-data stamp.

Usage::

    from artstyle.figures import new_figure, save_figure, stamp_synthetic
    fig, ax = new_figure()
    ...
    stamp_synthetic(fig, synthetic=True)
    save_figure(fig, run / "figures" / "bars.png")

Plot functions elsewhere follow ``plot_x(data, ax=None) -> Figure`` and never write files themselves.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from artstyle.constants import SYNTHETIC_NOTE


def plt() -> Any:
    """matplotlib.pyplot with the headless Agg backend (imported lazily: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as pyplot

    return pyplot


def new_figure(ax: Any = None, figsize: tuple[float, float] = (8, 5)) -> tuple[Any, Any]:
    """Return ``(fig, ax)``: the given axes' figure, or a new one."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt().subplots(figsize=figsize)
    return fig, ax


def stamp_synthetic(fig: Any, synthetic: bool) -> None:
    """Write the synthetic-data note across the bottom of ``fig`` when the data is synthetic."""
    if synthetic:
        # Below the figure's bottom edge: save_figure's tight bounding box grows to include it, so the note never
        # covers tick labels.
        fig.text(0.5, -0.01, SYNTHETIC_NOTE, ha="center", va="top", fontsize=8, color="#b00020")


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    from artstyle.runs import write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt().close(fig)
    return write_bytes(path, buf.getvalue())


def save_png(array: Any, path: str | Path) -> Path:
    """Save a uint8 ``(H, W, 3)`` array as PNG atomically."""
    from PIL import Image

    from artstyle.runs import write_bytes

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", optimize=True)
    return write_bytes(path, buf.getvalue())
