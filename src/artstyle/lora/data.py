"""Training images for the LoRA: cache rows of the chosen split and styles, one tokenized prompt per image.

Usage::

    data = load_training_data(cfg, accelerator, tokenizer)
    for batch in data.loader:   # {"pixel_values": (B, 3, R, R) float in [-1, 1], "input_ids": (B, T) long}
        ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from artstyle.errors import ArtstyleError
from artstyle.lora.config import LoraTrainConfig
from artstyle.lora.prompts import build_prompts, select_styles


class StyleImages:
    """Map-style dataset over cache rows: ``{"pixel_values": (3, R, R) float in [-1, 1], "input_ids": (T,) long}``.

    The memmap is opened lazily in each worker (a pickled memmap would copy the whole array).
    """

    def __init__(self, cache_root: Path, n: int, size: int, rows: Sequence[int], input_ids: Any, resolution: int,
                 crop: str, flip: bool) -> None:
        self.cache_root, self.n, self.size = Path(cache_root), n, size
        self.rows, self.input_ids = list(rows), input_ids
        self.resolution, self.crop, self.flip = resolution, crop, flip
        self._images: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_images": None}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if self._images is None:
            self._images = np.memmap(self.cache_root / "images.u8", dtype=np.uint8, mode="r",
                                     shape=(self.n, self.size, self.size, 3))
        img = self._images[self.rows[i]]  # (S, S, 3) uint8
        r, s = self.resolution, self.size
        if s > r:
            if self.crop == "random":
                y, x = (int(v) for v in torch.randint(0, s - r + 1, (2,)))
            else:
                y = x = (s - r) // 2
            img = img[y:y + r, x:x + r]
        if self.flip and torch.rand(()) < 0.5:
            img = img[:, ::-1]
        pixels = torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div(127.5).sub(1.0)
        return {"pixel_values": pixels, "input_ids": self.input_ids[i]}


def cache_size(resolution: int, crop: str) -> int:
    # Random crops need a margin around the --resolution square; centre crops are cut at the exact size.
    return resolution if crop == "center" else int(math.ceil(resolution * 1.125 / 8) * 8)


def training_rows(cache: Any, cfg: LoraTrainConfig) -> tuple[list[int], list[str]]:
    """Cache rows to train on (chosen split and styles) and the styles that have images, in label order."""
    splits = {"train": "train", "train+val": ["train", "val"], "all": "all"}[cfg.split]
    styles = select_styles(cfg.styles, cache.classes)
    keep = {cache.classes.index(s) for s in styles}
    rows = [int(r) for r in cache.indices(splits) if int(cache.labels[r]) in keep]
    if not rows:
        raise ArtstyleError(f"--data {cfg.data}: no images in split {cfg.split!r} for the chosen styles")
    present = {cache.classes[int(cache.labels[r])] for r in rows}
    return rows, [s for s in styles if s in present]


@dataclass
class TrainingData:
    """What training reads: the cache, its rows and styles, the prompts (one per row) and the loader."""

    cache: Any
    rows: list[int]
    styles: list[str]
    prompts: list[str]
    loader: Any

    def counts(self) -> list[int]:
        """Training images per style, in ``styles`` order."""
        labels = self.cache.labels[self.rows]
        return [int(np.sum(labels == self.cache.classes.index(s))) for s in self.styles]


def load_training_data(cfg: LoraTrainConfig, accelerator: Any, tokenizer: Any) -> TrainingData:
    """The decode-once cache (built by the main process first), one tokenized prompt per image, the loader."""
    from artstyle.data.cache import prepare_cache

    with accelerator.main_process_first():
        cache = prepare_cache(cfg.data, size=cache_size(cfg.resolution, cfg.crop), label_column=cfg.label_column,
                              seed=cfg.seed, progress=cfg.progress and accelerator.is_main_process)
    rows, styles = training_rows(cache, cfg)
    prompts = build_prompts(cache, rows, cfg.prompt_template)
    input_ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                          return_tensors="pt").input_ids  # (N, T) long
    dataset = StyleImages(cache.root, len(cache.labels), cache.size, rows, input_ids, cfg.resolution, cfg.crop, cfg.flip)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=cfg.workers,
                                         drop_last=False, persistent_workers=cfg.workers > 0,
                                         generator=torch.Generator().manual_seed(cfg.seed))
    return TrainingData(cache, rows, styles, prompts, loader)


__all__ = ["StyleImages", "TrainingData", "load_training_data", "training_rows", "cache_size"]
