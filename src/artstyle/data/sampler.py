"""A seeded sampler that resamples every class towards N images per epoch (the brief's "400 each").

Usage::

    sampler = ClassBalancedSampler(labels, per_class=400, seed=0)
    loader = DataLoader(ds, batch_size=64, sampler=sampler)
    sampler.set_epoch(epoch)            # a new, reproducible draw each epoch

A class with at least N images gives N distinct images; a smaller class gives all of its images
``N // n`` times plus ``N % n`` distinct extras, so no image is repeated more than needed.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


class ClassBalancedSampler:
    """Yields dataset indices: ``per_class`` per class present, shuffled, reproducible from (seed, epoch)."""

    def __init__(self, labels: np.ndarray, per_class: int = 400, seed: int = 0) -> None:
        self.labels = np.asarray(labels)
        self.per_class = int(per_class)
        self.seed = int(seed)
        self.epoch = 0
        self.by_class = [np.flatnonzero(self.labels == c) for c in np.unique(self.labels)]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        out = []
        for rows in self.by_class:
            n = len(rows)
            reps, extra = divmod(self.per_class, n)
            out.append(np.tile(rows, reps))
            out.append(rng.choice(rows, size=extra, replace=False))
        idx = np.concatenate(out)
        return idx[rng.permutation(len(idx))]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.per_class * len(self.by_class)


class SeededShuffle:
    """A plain shuffling sampler whose order depends only on (seed, epoch), so resumed runs replay it."""

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n, self.seed, self.epoch = int(n), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.n).tolist())

    def __len__(self) -> int:
        return self.n
