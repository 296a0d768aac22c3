"""``artstyle embed export``: embed every image of a dataset into one embeddings file (artstyle.embeddings format).

Usage::

    export_embeddings("builtin", "ae", run=run)          # -> RUN/embeddings-ae.npz
    export_embeddings("builtin", "color-hist")           # -> runs/embed/<ts>-color-hist/embeddings.npz
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np

from artstyle.constants import EXPORT_SPLITS
from artstyle.embed.embedders import EMBEDDERS, THUMB_SIZE, thumbnails
from artstyle.engine import set_threads
from artstyle.errors import ArtstyleError
from artstyle.inference import chunks
from artstyle.runs import create_run, write_config


def _check_args(kind: str, split: str, size: int | None) -> None:
    if kind not in EMBEDDERS:
        raise ArtstyleError(f"--kind {kind!r} is not one of: {', '.join(EMBEDDERS)}")
    if split not in EXPORT_SPLITS:
        raise ArtstyleError(f"--split {split!r} is not one of: {', '.join(EXPORT_SPLITS)}")
    if size is not None and not 8 <= size <= 2048:
        raise ArtstyleError(f"--size {size}: choose a size between 8 and 2048 pixels")


def _new_export_run(data: str, kind: str, split: str, size: int | None, label_column: str) -> Path:
    """A fresh ``runs/embed/<timestamp>-<kind>/`` whose config.json says how to export it again."""
    run = create_run("embed", kind)
    words = ["artstyle", "embed", "export", "--data", data, "--kind", kind, "--split", split]
    words += ["--size", str(size)] if size is not None else []
    words += ["--label-column", label_column] if label_column != "style" else []
    write_config(run, "embed-export", shlex.join(words), {"data": data, "kind": kind, "split": split, "size": size,
                                                          "label_column": label_column, "embeddings": "embeddings.npz"})
    return run


def export_embeddings(data: str, kind: str, run: Path | None = None, split: str = "all", out: Path | None = None,
                      size: int | None = None, batch_size: int = 256, progress: bool = True,
                      label_column: str = "style") -> Path:
    """Embed every image of ``split`` of ``data`` with ``kind`` and write an embeddings file; return its path.

    Default path: ``RUN/embeddings-<kind>.npz`` with a run, else ``runs/embed/<timestamp>-<kind>/embeddings.npz``.
    Labels, classes (sorted), paths (cache keys) and splits come from the data's cache, so a model trained on
    other data still gets the labels of ``data`` (``label_column`` of a Hugging Face source: style, genre or
    artist). Images stream from the memory-mapped cache in batches; model kinds run on the accelerator's device
    under the run's precision (:mod:`artstyle.inference`).
    """
    from tqdm.auto import tqdm

    from artstyle.data.cache import prepare_cache
    from artstyle.embeddings import save_embeddings

    _check_args(kind, split, size)
    set_threads(0)
    run = Path(run) if run is not None else None
    embedder = EMBEDDERS[kind](run, size)
    cache = prepare_cache(data, size=embedder.size, label_column=label_column, progress=progress)
    rows = cache.indices(split)
    if len(rows) == 0:
        raise ArtstyleError(f"--data {data} has no '{split}' images; choose another --split (all, train, val, test)")
    vectors: np.ndarray | None = None
    thumbs = np.zeros((len(rows), THUMB_SIZE, THUMB_SIZE, 3), np.uint8)
    bar = tqdm(total=len(rows), desc=f"embed {kind}", unit="img", disable=None if progress else True)
    for where, batch in chunks(cache.images, rows, batch_size):  # only this batch in memory
        v = embedder.fn(batch)
        if vectors is None:
            vectors = np.zeros((len(rows), v.shape[1]), np.float32)
        vectors[where] = v
        thumbs[where] = thumbnails(batch)
        bar.update(len(batch))
    bar.close()
    if out is None:
        out = (run / f"embeddings-{kind}.npz" if run is not None
               else _new_export_run(data, kind, split, size, label_column) / "embeddings.npz")
    return save_embeddings(out, vectors, cache.labels[rows], cache.classes, [cache.index[r]["key"] for r in rows],
                           cache.splits[rows], kind=kind, synthetic=cache.synthetic, thumbs=thumbs)


__all__ = ["export_embeddings"]
