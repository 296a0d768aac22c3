"""Autoencoder figures: originals over reconstructions (a captioned pixel grid) and the learning curves.

Usage::

    img = plot_reconstructions([("original", fixed), ("autoencoder", recon)], title="Epoch 3", synthetic=True)
    save_png(img, run / "figures" / "reconstructions.png")
    save_figure(plot_learning_curves(read_jsonl(run / "metrics.jsonl")), run / "figures" / "learning_curves.png")
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from artstyle.figures import new_figure, stamp_synthetic


def plot_reconstructions(rows: Sequence[tuple[str, np.ndarray]], title: str = "", synthetic: bool = False
                         ) -> np.ndarray:
    """Captioned rows of images: ``rows`` is ``[(caption, uint8 (K, S, S, 3)), ...]``, e.g. originals over
    reconstructions. Returns one uint8 ``(H, W, 3)`` image (the title on top, the synthetic note below when
    ``synthetic``).

    A pixel grid, not a matplotlib figure: every image keeps its exact pixels. A row shorter than the
    longest is padded with white cells, so the columns stay aligned.
    """
    from artstyle.figures.grids import captioned_grid, font, text_band

    k = max(len(images) for _, images in rows)
    cells = np.stack([_pad_row(np.asarray(images, dtype=np.uint8), k) for _, images in rows])
    image, _ = captioned_grid(cells, row_captions=[caption for caption, _ in rows], synthetic=synthetic)
    if not title:
        return image
    fnt = font(10)
    # Widen the image to the title, as captioned_grid widens it to its row captions: one readable line.
    width = max(image.shape[1], int(fnt.getlength(title)) + 6)
    image = np.pad(image, ((0, 0), (0, width - image.shape[1]), (0, 0)), constant_values=255)
    return np.concatenate([text_band([title], width, fnt), image], axis=0)


def _pad_row(images: np.ndarray, k: int) -> np.ndarray:
    """uint8 ``(n, S, S, 3)`` -> ``(k, S, S, 3)`` with white cells appended."""
    if len(images) >= k:
        return images
    return np.concatenate([images, np.full((k - len(images), *images.shape[1:]), 255, np.uint8)])


def plot_learning_curves(records: Sequence[dict], ax: Any = None, synthetic: bool = False) -> Any:
    """Train/val loss (left axis, log scale) and val PSNR (right axis) per epoch from ``metrics.jsonl`` records.

    Records without an epoch's metrics (e.g. a non-finite-loss event) are skipped. Returns the Figure.
    """
    own = ax is None
    fig, ax = new_figure(ax, figsize=(7, 4))
    recs = [r for r in records if "epoch" in r and "event" not in r]
    epochs = [r["epoch"] for r in recs]
    lines = []
    for key, label, style in (("train_loss", "train loss", "-o"), ("val_loss", "val loss", "-s")):
        pts = [(e, r[key]) for e, r in zip(epochs, recs) if key in r]
        if pts:
            lines += ax.plot(*zip(*pts), style, label=label, markersize=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("reconstruction loss")
    if any(v > 0 for line in lines for v in line.get_ydata()):
        ax.set_yscale("log")
    pts = [(e, r["val_psnr"]) for e, r in zip(epochs, recs) if "val_psnr" in r]
    if pts:
        twin = ax.twinx()
        lines += twin.plot(*zip(*pts), "-^", color="tab:green", label="val PSNR (dB)", markersize=4)
        twin.set_ylabel("val PSNR (dB)")
    if lines:
        ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center right")
    ax.set_title("Autoencoder learning curves" + (" (synthetic data)" if synthetic else ""))
    if epochs:
        ax.set_xticks(sorted(set(epochs)))
    if own and synthetic:
        fig.subplots_adjust(bottom=0.2)  # room for the synthetic-data note below the x label
    stamp_synthetic(fig, synthetic)
    return fig


__all__ = ["plot_learning_curves", "plot_reconstructions"]
