"""Embeddings files: one ``.npz`` of vectors + labels that every analysis stage (cluster, ...) consumes.

Usage::

    save_embeddings("emb.npz", vectors, labels, classes, paths, splits, kind="ae", synthetic=False)
    emb = load_embeddings("emb.npz")        # validated; emb.vectors (N, D), emb.labels (N,), ...

File format (``np.savez``, no pickled objects, so ``np.load(path, allow_pickle=False)`` reads it):

==============  ==================  =====================================================
key             dtype / shape       meaning
==============  ==================  =====================================================
``vectors``     float32 (N, D)      one embedding per item
``labels``      int64 (N,)          index into ``classes``
``classes``     str (C,)            sorted class names: the label map
``paths``       str (N,)            source path or id of each item
``splits``      str (N,)            ``train`` / ``val`` / ``test``
``kind``        str ()              ``ae``, ``classifier``, ``pixels``, ``color-hist``, ...
``synthetic``   bool ()             made from artstyle's built-in synthetic dataset
``thumbs``      uint8 (N, t, t, 3)  optional small thumbnails (t = 32 typically)
==============  ==================  =====================================================
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from artstyle.errors import ArtstyleError

REQUIRED_KEYS: tuple[str, ...] = ("vectors", "labels", "classes", "paths", "splits", "kind", "synthetic")
"""Keys every embeddings file must contain (``thumbs`` is optional)."""


@dataclass
class Embeddings:
    """The validated content of an embeddings file.

    ``vectors`` (N, D) float32, ``labels`` (N,) int64 in ``[0, C)``, ``classes`` C names,
    ``paths``/``splits`` (N,) str arrays, ``thumbs`` (N, t, t, 3) uint8 or None.
    """

    vectors: np.ndarray
    labels: np.ndarray
    classes: list[str]
    paths: np.ndarray
    splits: np.ndarray
    kind: str
    synthetic: bool
    thumbs: np.ndarray | None = None
    source: Path | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        """Vector dimension D."""
        return int(self.vectors.shape[1])

    def subset(self, mask_or_index: Any) -> "Embeddings":
        """A new :class:`Embeddings` holding only the selected rows (boolean mask or integer index)."""
        sel = np.asarray(mask_or_index)
        return Embeddings(
            vectors=self.vectors[sel], labels=self.labels[sel], classes=list(self.classes),
            paths=self.paths[sel], splits=self.splits[sel], kind=self.kind, synthetic=self.synthetic,
            thumbs=None if self.thumbs is None else self.thumbs[sel], source=self.source,
        )


def _validate(arrays: dict[str, np.ndarray], where: str) -> None:
    """Check shapes, dtypes and label range; ``where`` names the file (or 'save_embeddings') in errors."""
    vectors = arrays["vectors"]
    if vectors.ndim != 2 or vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise ArtstyleError(f"{where}: 'vectors' must be a non-empty (N, D) array, got shape {vectors.shape}")
    if not np.issubdtype(vectors.dtype, np.floating):
        raise ArtstyleError(f"{where}: 'vectors' must be floating point, got {vectors.dtype}")
    n = vectors.shape[0]
    if not np.isfinite(vectors).all():
        bad = int((~np.isfinite(vectors).all(axis=1)).sum())
        raise ArtstyleError(f"{where}: {bad} of {n} vectors contain NaN or inf; re-export the embeddings "
                            "(a diverged model produces these)")
    labels = arrays["labels"]
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ArtstyleError(f"{where}: 'labels' must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    classes = arrays["classes"]
    if classes.ndim != 1 or classes.dtype.kind != "U" or classes.shape[0] == 0:
        raise ArtstyleError(f"{where}: 'classes' must be a non-empty 1-D string array, got {classes.dtype} {classes.shape}")
    for key in ("labels", "paths", "splits"):
        if arrays[key].shape != (n,):
            raise ArtstyleError(f"{where}: '{key}' has shape {arrays[key].shape} but 'vectors' has {n} rows; "
                                f"every per-item array must have shape ({n},)")
    for key in ("paths", "splits"):
        if arrays[key].dtype.kind != "U":
            raise ArtstyleError(f"{where}: '{key}' must be a string array, got {arrays[key].dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes.shape[0]):
        raise ArtstyleError(f"{where}: labels range over [{labels.min()}, {labels.max()}] but there are only "
                            f"{classes.shape[0]} classes; labels must index into 'classes'")
    for key in ("kind", "synthetic"):
        if arrays[key].shape != ():
            raise ArtstyleError(f"{where}: '{key}' must be a single value (0-d array), got shape {arrays[key].shape}")
    thumbs = arrays.get("thumbs")
    if thumbs is not None:
        if thumbs.ndim != 4 or thumbs.shape[0] != n or thumbs.shape[3] != 3 or thumbs.dtype != np.uint8:
            raise ArtstyleError(f"{where}: 'thumbs' must be uint8 of shape ({n}, t, t, 3), got {thumbs.dtype} {thumbs.shape}")


def save_embeddings(path: str | os.PathLike, vectors: Any, labels: Any, classes: Any, paths: Any, splits: Any,
                    kind: str, synthetic: bool, thumbs: Any = None) -> Path:
    """Validate and atomically write an embeddings file (format in the module docstring).

    ``vectors`` (N, D) is stored as float32, ``labels`` (N,) as int64, ``thumbs`` (N, t, t, 3) uint8 if given.
    """
    arrays: dict[str, np.ndarray] = {
        "vectors": np.asarray(vectors, dtype=np.float32),
        "labels": np.asarray(labels).astype(np.int64),
        "classes": np.asarray(list(classes), dtype=str),
        "paths": np.asarray(list(paths), dtype=str),
        "splits": np.asarray(list(splits), dtype=str),
        "kind": np.asarray(str(kind)),
        "synthetic": np.asarray(bool(synthetic)),
    }
    if thumbs is not None:
        arrays["thumbs"] = np.asarray(thumbs)
    _validate(arrays, "save_embeddings")
    return write_npz(path, arrays)


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Atomically write ``arrays`` as an uncompressed ``.npz`` (no pickled objects); return ``path``."""
    # np.savez appends ".npz" to file names lacking it, which would defeat the temp-file rename:
    # serialise to memory and write the bytes atomically instead.
    from artstyle.runs import write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_bytes(path, buf.getvalue())


def load_embeddings(path: str | os.PathLike) -> Embeddings:
    """Read and validate an embeddings file; every problem is an :class:`ArtstyleError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ArtstyleError(f"embeddings file {path} does not exist; create one with `artstyle embed export`")
    try:
        with np.load(path, allow_pickle=False) as npz:
            present = set(npz.files)
            missing = [k for k in REQUIRED_KEYS if k not in present]
            if missing:
                raise ArtstyleError(f"{path} is not an artstyle embeddings file: missing key(s) {', '.join(missing)} "
                                    f"(found: {', '.join(sorted(present)) or 'none'}); re-export it with `artstyle embed export`")
            arrays = {k: npz[k] for k in (*REQUIRED_KEYS, "thumbs") if k in present}
    except ArtstyleError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        # ValueError also covers object arrays, which would need pickle (refused for safety).
        raise ArtstyleError(f"{path} is not a readable .npz embeddings file ({exc}); it is corrupted, truncated "
                            "or was not written by `artstyle embed export`") from None
    _validate(arrays, str(path))
    return Embeddings(
        vectors=arrays["vectors"].astype(np.float32, copy=False),
        labels=arrays["labels"].astype(np.int64, copy=False),
        classes=[str(c) for c in arrays["classes"]],
        paths=arrays["paths"],
        splits=arrays["splits"],
        kind=str(arrays["kind"]),
        synthetic=bool(arrays["synthetic"]),
        thumbs=arrays.get("thumbs"),
        source=path,
    )


__all__ = ["Embeddings", "REQUIRED_KEYS", "save_embeddings", "load_embeddings", "write_npz"]
