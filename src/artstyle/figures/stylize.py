"""The stylizer's trade-off figure: judge hit rate against SSIM to the input, runs against the overlay frontier.

Usage: ``fig = plot_frontier(result["points"], {"sty-j30": (0.451, 0.26)}, target=(0.5, 0.7), synthetic=True)``
(``result`` from :func:`artstyle.stylize.frontier.overlay_frontier`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from artstyle.figures import new_figure, stamp_synthetic


def plot_frontier(points: Sequence[Mapping[str, float]], runs: Mapping[str, tuple[float, float]],
                  target: tuple[float, float] | None = None, synthetic: bool = False, ax: Any = None,
                  title: str = "") -> Any:
    """The overlay curve (SSIM, hit rate) labelled by alpha, each run's ``(ssim, hit_rate)`` as a labelled point,
    and, given ``target = (min SSIM, min hit rate)``, the region that meets it shaded."""
    fig, ax = new_figure(ax, figsize=(7.5, 5))
    xs, ys = [p["ssim"] for p in points], [100 * p["hit_rate"] for p in points]
    ax.plot(xs, ys, "-o", color="0.45", label="a training painting of the target style overlaid (alpha)")
    for p, x, y in zip(points, xs, ys):
        ax.annotate(f"{p['alpha']:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8, color="0.35")
    for i, (name, (ssim, hit)) in enumerate(runs.items()):
        ax.scatter([ssim], [100 * hit], color=f"C{i % 10}", zorder=3, label=name)
    if target is not None:
        ax.axvspan(target[0], 1.0, ymin=target[1], ymax=1.0, color="C2", alpha=0.12, label="the target region")
    ax.set(xlabel="SSIM to the input (content kept)", ylabel="judge hit rate on the target style (%)",
           xlim=(0, 1.05), ylim=(0, 100), title=title or "Style against content: runs and the overlay frontier")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    stamp_synthetic(fig, synthetic)
    return fig


__all__ = ["plot_frontier"]
