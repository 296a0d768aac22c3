"""Image grids: tiles of uint8 images, and the one captioned grid every stage uses.

Usage::

    grid = image_grid(images, nrow=8)                          # (N, H, W, 3) uint8 -> one uint8 image
    img, layout = captioned_grid(cells, headers=["input", "Baroque"], synthetic=True)
    img, layout = captioned_grid(cells, row_captions=["base model", "with LoRA"])
    save_png(img, run / "figures" / "grid.png")

Grids are pixel arrays, not matplotlib figures: every cell keeps its exact pixels (tests compare them).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from artstyle.constants import SYNTHETIC_NOTE

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (176, 0, 32)


def image_grid(images: Any, nrow: int, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile uint8 images ``(N, H, W, 3)`` into one ``(rows*(H+pad)+pad, nrow*(W+pad)+pad, 3)`` uint8 array.

    Row-major, ``nrow`` columns even when ``N < nrow`` (missing cells stay ``pad_value``), so grids of one
    width line up.
    """
    import torch
    from torchvision.utils import make_grid

    images = np.asarray(images)
    n = len(images)
    if n < nrow:  # make_grid narrows the grid to N columns; keep nrow
        images = np.concatenate([images, np.full((nrow - n, *images.shape[1:]), pad_value, np.uint8)])
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    grid = make_grid(tensor, nrow=nrow, padding=pad, pad_value=pad_value)
    return grid.permute(1, 2, 0).numpy().astype(np.uint8, copy=False)


def font(size: int = 10) -> Any:
    """PIL's default font at ``size`` (the bitmap font on Pillow < 10.1)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the bitmap default font
        return ImageFont.load_default()


def wrap(text: str, fnt: Any, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; a word longer than a line is split between characters."""
    def fits(s: str) -> bool:
        return fnt.getbbox(s)[2] <= width

    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if fits(candidate):
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:
            if fits(line + ch) or not line:
                line += ch
            else:
                lines.append(line)
                line = ch
    if line:
        lines.append(line)
    return lines or [""]


def text_band(lines: Sequence[str], width: int, fnt: Any, color: tuple[int, int, int] = BLACK,
              x: int = 2) -> np.ndarray:
    """A white uint8 band ``(len(lines) * line height + 4, width, 3)`` with ``lines`` written in ``color``."""
    from PIL import Image, ImageDraw

    line_h = fnt.getbbox("Ag")[3] + 2
    band = Image.new("RGB", (width, len(lines) * line_h + 4), WHITE)
    draw = ImageDraw.Draw(band)
    for j, line in enumerate(lines):
        draw.text((x, 2 + j * line_h), line, fill=color, font=fnt)
    return np.asarray(band)


def _header(headers: Sequence[str], cell: int, cols: int, pad: int, width: int, fnt: Any) -> np.ndarray:
    """One wrapped header per column, each starting at its column's left edge."""
    from PIL import Image, ImageDraw

    line_h = fnt.getbbox("Ag")[3] + 2
    wrapped = [wrap(h, fnt, cell) for h in headers]
    band = Image.new("RGB", (width, max(len(w) for w in wrapped) * line_h + 4), WHITE)
    draw = ImageDraw.Draw(band)
    for c, lines in enumerate(wrapped):
        for j, line in enumerate(lines):
            draw.text((pad + c * (cell + pad), 2 + j * line_h), line, fill=BLACK, font=fnt)
    return np.asarray(band)


def _label_cells(body: np.ndarray, labels: Sequence[str], cell: int, pad: int, row_y: Sequence[int], fnt: Any) -> None:
    """Write each row's short label over the top left of its first cell, white on a black outline."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(body)
    draw = ImageDraw.Draw(img)
    for label, y in zip(labels, row_y):
        draw.text((pad + 1, y + 1), label[: max(1, cell // 6)], fill=WHITE, font=fnt, stroke_width=1, stroke_fill=BLACK)
    body[...] = np.asarray(img)


def _pad_right(part: np.ndarray, width: int) -> np.ndarray:
    if part.shape[1] >= width:
        return part
    return np.concatenate([part, np.full((part.shape[0], width - part.shape[1], 3), 255, np.uint8)], axis=1)


def captioned_grid(cells: Any, headers: Sequence[str] | None = None, row_captions: Sequence[str] | None = None,
                   row_labels: Sequence[str] | None = None, synthetic: bool = False,
                   pad: int = 2) -> tuple[np.ndarray, dict[str, Any]]:
    """Tile ``cells (R, C, S, S, 3)`` uint8 with optional captions; return ``(image, layout)``.

    - ``headers``: one wrapped title above each column;
    - ``row_captions``: a caption strip above each row (the image is widened to fit the longest);
    - ``row_labels``: a short label drawn over the top left of each row's first cell;
    - ``synthetic``: the synthetic-data note in red along the bottom.

    ``layout`` holds ``header``, ``footer``, ``cell``, ``pad``, ``rows``, ``cols`` and ``row_y``: cell
    ``(r, c)`` spans ``y = row_y[r] .. + S`` and ``x = pad + c * (S + pad) .. + S``. Without row captions,
    ``row_y[r] = header + pad + r * (S + pad)``.
    """
    cells = np.asarray(cells, dtype=np.uint8)
    R, C, S = cells.shape[0], cells.shape[1], cells.shape[2]
    if headers is not None and len(headers) != C:
        raise ValueError(f"{len(headers)} headers for {C} columns")
    if row_captions is not None and len(row_captions) != R:
        raise ValueError(f"{len(row_captions)} row captions for {R} rows")
    fnt = font(10)
    texts = list(row_captions or []) + ([SYNTHETIC_NOTE] if synthetic and row_captions else [])
    width = max([C * (S + pad) + pad] + [int(fnt.getlength(t)) + 6 for t in texts])
    parts: list[np.ndarray] = []
    if headers is not None:
        parts.append(_header(headers, S, C, pad, width, fnt))
    header = sum(p.shape[0] for p in parts)
    if row_captions is None:  # one grid: consecutive rows share a pad line
        parts.append(_pad_right(image_grid(cells.reshape(R * C, *cells.shape[2:]), nrow=C, pad=pad), width))
        row_y = [header + pad + r * (S + pad) for r in range(R)]
    else:  # a caption strip, then the row's own grid
        row_y, y = [], header
        for r in range(R):
            strip = text_band([row_captions[r]], width, fnt)
            row_y.append(y + strip.shape[0] + pad)
            parts += [strip, _pad_right(image_grid(cells[r], nrow=C, pad=pad), width)]
            y += strip.shape[0] + parts[-1].shape[0]
    if row_labels:
        stacked = np.concatenate(parts, axis=0)
        _label_cells(stacked, row_labels, S, pad, row_y, fnt)
        parts = [stacked]
    footer = 0
    if synthetic:
        note = text_band(wrap(SYNTHETIC_NOTE, fnt, width - 4), width, fnt, color=RED)
        parts.append(note)
        footer = note.shape[0]
    layout = {"header": header, "footer": footer, "cell": S, "pad": pad, "rows": R, "cols": C, "row_y": row_y}
    return np.concatenate(parts, axis=0), layout


__all__ = ["image_grid", "captioned_grid", "text_band", "wrap", "font"]
