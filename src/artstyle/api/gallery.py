"""Training images in a feature space (for nearest neighbours), and the 2-D style map of an embeddings file.

Usage::

    gallery = Gallery.from_embeddings("stages/embeddings/classifier.npz", dim=128)   # its train rows
    gallery = Gallery.from_cache(classifier)            # or embed the run's own training cache (capped)
    gallery.nearest(vector, k=8)                        # [{"style", "path", "similarity", "thumb"}, ...]
    points = style_map("stages/embeddings/ae.npz", method="auto")   # {"x", "y", "style", "path", ...}

Neighbours are by cosine similarity. A map is UMAP when umap-learn is installed (``method="auto"``), else PCA.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from artstyle.errors import ArtstyleError

MAX_GALLERY = 5000
"""Training images embedded from a cache when no classifier embeddings file exists (evenly spaced rows)."""
MAP_METHODS = ("auto", "umap", "pca")


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@dataclass
class Gallery:
    """Unit-length ``vectors (N, D)`` of training images with their ``styles``, ``paths`` and ``thumbs``."""

    vectors: np.ndarray
    styles: list[str]
    paths: list[str]
    thumbs: np.ndarray | None
    source: str

    @classmethod
    def from_embeddings(cls, path: str | Path, dim: int | None = None) -> "Gallery | None":
        """The train rows of a ``classifier`` embeddings file (None when it is another kind or size)."""
        from artstyle.embeddings import load_embeddings

        emb = load_embeddings(path)
        if emb.kind != "classifier" or (dim is not None and emb.dim != dim):
            return None
        rows = np.flatnonzero(emb.splits == "train")
        emb = emb.subset(rows if len(rows) else np.arange(len(emb)))
        return cls(_unit(emb.vectors), [emb.classes[i] for i in emb.labels], [str(p) for p in emb.paths],
                   emb.thumbs, str(path))

    @classmethod
    def from_cache(cls, classifier: Any, limit: int = MAX_GALLERY) -> "Gallery | None":
        """The classifier's own training images (its recorded cache), embedded now; None without that cache."""
        from artstyle.data.cache import load_cache
        from artstyle.embed import thumbnails

        root = classifier.info["config"].get("data", {}).get("cache")
        if not root or not (Path(root) / "meta.json").is_file():
            return None
        cache = load_cache(root)
        rows = cache.indices("train")
        if len(rows) > limit:
            rows = rows[np.linspace(0, len(rows) - 1, limit).astype(int)]
        if not len(rows):
            return None
        images = np.asarray(cache.images[rows])
        if images.shape[1] != classifier.cache_size:
            return None
        vectors = classifier.features(images)
        styles = [cache.classes[i] for i in cache.labels[rows]]
        return cls(_unit(vectors), styles, [cache.index[r]["key"] for r in rows], thumbnails(images), str(root))

    def nearest(self, vector: np.ndarray, k: int = 8) -> list[dict[str, Any]]:
        """The ``k`` most similar training images: ``{"style", "path", "similarity", "thumb"}``, best first."""
        sims = self.vectors @ _unit(vector)
        order = np.argsort(-sims)[:k]
        return [{"style": self.styles[i], "path": self.paths[i], "similarity": float(sims[i]),
                 "thumb": None if self.thumbs is None else self.thumbs[i]} for i in order]


def map_method(method: str = "auto") -> str:
    """``umap`` or ``pca``: ``auto`` is UMAP when umap-learn is installed."""
    if method not in MAP_METHODS:
        raise ArtstyleError(f"--map {method!r} is not one of: {', '.join(MAP_METHODS)}")
    if method == "auto":
        return "umap" if importlib.util.find_spec("umap") is not None else "pca"
    return method


def style_map(path: str | Path, method: str = "auto", seed: int = 0) -> dict[str, Any]:
    """2-D map of an embeddings file: ``{"x", "y" (M,) float32, "style", "path" (M,) lists, "thumbs" or None,
    "method", "kind", "classes", "synthetic"}``, one entry per mapped row."""
    from artstyle.cluster import compute_map, prepare_features
    from artstyle.embeddings import load_embeddings

    emb = load_embeddings(path)
    name = map_method(method)
    if name == "umap" and len(emb) < 4:
        name = "pca"  # UMAP needs a handful of neighbours
    xy, idx = compute_map(name, prepare_features(emb.vectors, seed=seed), seed=seed)
    return {"x": xy[:, 0], "y": xy[:, 1], "style": [emb.classes[emb.labels[i]] for i in idx],
            "path": [str(emb.paths[i]) for i in idx], "thumbs": None if emb.thumbs is None else emb.thumbs[idx],
            "method": name, "kind": emb.kind, "classes": list(emb.classes), "synthetic": emb.synthetic}


__all__ = ["Gallery", "MAP_METHODS", "MAX_GALLERY", "map_method", "style_map"]
