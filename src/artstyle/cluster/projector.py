"""A TensorBoard projector folder written without TensorFlow: vectors, metadata, a thumbnail sprite.

Usage: ``write_projector(run / "projector", vectors, labels, classes, splits, paths, thumbs)``, then
``tensorboard --logdir RUN/projector`` (Projector tab), or load the two TSVs at projector.tensorflow.org.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np


def _tsv_cell(value: str) -> str:
    # Tabs or newlines inside a path would shift the projector's columns.
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def write_projector(folder: Path, vectors: np.ndarray, labels: np.ndarray, classes: Sequence[str],
                    splits: np.ndarray, paths: np.ndarray, thumbs: np.ndarray | None = None,
                    tensor_name: str = "embeddings") -> Path:
    """Write a TensorBoard projector folder without TensorFlow.

    ``vectors`` (M, D), ``labels``/``splits``/``paths`` (M,), ``thumbs`` (M, t, t, 3) uint8 or None.
    Files: ``vectors.tsv`` (M lines), ``metadata.tsv`` (header ``style\\tsplit\\tpath`` + M lines),
    ``sprite.png`` (when thumbs are given) and ``projector_config.pbtxt``. View with
    ``tensorboard --logdir <folder>`` (Projector tab), or load the two TSVs at projector.tensorflow.org.
    """
    from artstyle.figures import save_png
    from artstyle.figures.grids import image_grid
    from artstyle.runs import write_bytes, write_text
    from artstyle.styles import display_name

    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savetxt(buf, np.asarray(vectors, dtype=np.float32), fmt="%.6g", delimiter="\t")
    write_bytes(folder / "vectors.tsv", buf.getvalue())
    names = [display_name(c) for c in classes]
    rows = ["style\tsplit\tpath"] + [f"{_tsv_cell(names[int(y)])}\t{_tsv_cell(s)}\t{_tsv_cell(p)}"
                                     for y, s, p in zip(labels, splits, paths)]
    write_text(folder / "metadata.tsv", "\n".join(rows) + "\n")
    config = ["embeddings {", f'  tensor_name: "{tensor_name}"', '  tensor_path: "vectors.tsv"',
              '  metadata_path: "metadata.tsv"']
    if thumbs is not None and len(thumbs):
        # The projector reads the sprite as a row-major grid of single_image_dim tiles, no padding.
        per_row = int(math.ceil(math.sqrt(len(thumbs))))
        save_png(image_grid(thumbs, nrow=per_row, pad=0), folder / "sprite.png")
        config += ["  sprite {", '    image_path: "sprite.png"', f"    single_image_dim: {thumbs.shape[2]}",
                   f"    single_image_dim: {thumbs.shape[1]}", "  }"]
    config.append("}")
    write_text(folder / "projector_config.pbtxt", "\n".join(config) + "\n")
    return folder


__all__ = ["write_projector"]
