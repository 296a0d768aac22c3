"""The torch Dataset over a prepared cache: what every training stage iterates.

Usage: ``ds = CachedImages(cache, "train", transform=v2_pipeline)`` -> ``ds[i] == (image uint8 (3, H, W), label)``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from artstyle.data.cache import Cache


class CachedImages:
    """A map-style torch Dataset over cache rows. ``ds[i]`` -> ``(image, label)``.

    ``image`` is a uint8 ``(3, H, W)`` CPU tensor, or whatever ``transform`` makes of it (a
    torchvision.transforms.v2 pipeline). A transform with ``takes_array = True`` (for example
    :class:`artstyle.classify.crops.NativeCrop`) gets the cache row as a uint8 ``(H, W, 3)`` array instead and
    returns one, so a crop copies only its own pixels. Tensors stay on the CPU; the training loop moves batches.
    """

    def __init__(self, cache: Cache, split: str | Sequence[str] = "train",
                 transform: Callable[[Any], Any] | None = None, rows: np.ndarray | None = None) -> None:
        self.cache = cache
        self.rows = cache.indices(split) if rows is None else np.asarray(rows)
        self.transform = transform
        self.labels = cache.labels[self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        import torch

        arr = self.cache.images[int(self.rows[i])]
        on_array = getattr(self.transform, "takes_array", False)
        if on_array:  # crops the (H, W, 3) row before the copy
            arr = self.transform(arr)
        img = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
        if self.transform is not None and not on_array:
            img = self.transform(img)
        return img, int(self.labels[i])
