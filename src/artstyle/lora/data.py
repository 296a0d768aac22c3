"""Training images for the LoRA: cache rows of the chosen split and styles, one tokenized prompt per image.

Usage::

    data = load_training_data(cfg, accelerator, model)
    data.sampler.for_epoch(epoch)   # the epoch's order, flips and crops, drawn from --seed + epoch
    for batch in data.loader:       # {"pixel_values": (B, 3, R, R) float in [-1, 1], "input_ids": (B, T) long}
        ...                         # or, with --cache-latents, {"moments": (B, 2C, h, w), "prompt_embeds": (B, T, D)}

The sampler, not the dataset, draws every random choice (order, flip, crop position) from a generator seeded
with ``seed + epoch``: a resumed run can then replay the epoch's order exactly and skip what it has seen, and
the VAE-latent cache (``lora.latents``) serves the very flip the uncached path would have drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from artstyle.errors import ArtstyleError
from artstyle.lora.config import LoraTrainConfig
from artstyle.lora.prompts import build_prompts, select_styles

Key = tuple[int, bool, float]
"""What the sampler yields per image: ``(position in the training rows, flip, crop offset in [0, 1))``."""


class EpochSampler(torch.utils.data.Sampler):
    """A permutation of ``range(n)`` with each image's flip and crop offset, all drawn from ``seed + epoch``.

    The epoch is set with :meth:`for_epoch` (not ``set_epoch``, which Accelerate calls with its own counter).
    """

    def __init__(self, n: int, seed: int, flip: bool) -> None:
        self.n, self.seed, self.flip, self.epoch = n, seed, flip, 0

    def for_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def keys(self) -> list[Key]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        flips = (torch.rand(self.n, generator=g) < 0.5).tolist()
        offsets = torch.rand(self.n, generator=g).tolist()
        return [(i, bool(flips[i]) and self.flip, float(offsets[i])) for i in order]

    def __iter__(self) -> Iterator[Key]:
        return iter(self.keys())


def crop_box(orig_size: Sequence[int], size: int, offset: float) -> tuple[int, int, int, int]:
    """``(y, x, h, w)`` in a ``size`` square holding the whole image squashed: a square of the image's short side
    (as torchvision's Resize + RandomCrop take it), ``offset`` of the way along its long side."""
    w, h = (int(v) for v in orig_size) if orig_size and min(orig_size) > 0 else (1, 1)
    if w >= h:
        cw = max(1, round(size * h / w))
        return 0, min(size - cw, int(offset * (size - cw + 1))), size, cw
    ch = max(1, round(size * w / h))
    return min(size - ch, int(offset * (size - ch + 1))), 0, ch, size


class StyleImages:
    """Map-style dataset over cache rows, read by :class:`EpochSampler` keys:
    ``{"pixel_values": (3, R, R) float in [-1, 1], "input_ids": (T,) long}``.

    The memmap is opened lazily in each worker (a pickled memmap would copy the whole array).
    """

    def __init__(self, cache_root: Path, n: int, size: int, rows: Sequence[int], input_ids: Any, resolution: int,
                 crop: str, orig_sizes: Sequence[Sequence[int]] = ()) -> None:
        self.cache_root, self.n, self.size = Path(cache_root), n, size
        self.rows, self.input_ids = list(rows), input_ids
        self.resolution, self.crop, self.orig_sizes = resolution, crop, list(orig_sizes)
        self._images: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_images": None}

    def __len__(self) -> int:
        return len(self.rows)

    def pixels(self, key: Key) -> torch.Tensor:
        """``(3, R, R)`` float in [-1, 1]: the image at position ``key[0]``, cropped and flipped as ``key`` says."""
        if self._images is None:
            self._images = np.memmap(self.cache_root / "images.u8", dtype=np.uint8, mode="r",
                                     shape=(self.n, self.size, self.size, 3))
        i, flip, offset = key
        img = self._images[self.rows[i]]  # (S, S, 3) uint8
        r, s = self.resolution, self.size
        if self.crop == "random":
            y, x, h, w = crop_box(self.orig_sizes[i] if self.orig_sizes else (), s, offset)
            img = img[y:y + h, x:x + w]
        elif s > r:
            y = x = (s - r) // 2
            img = img[y:y + r, x:x + r]
        if flip:
            img = img[:, ::-1]
        pixels = torch.from_numpy(np.array(img)).permute(2, 0, 1).float()
        if pixels.shape[1:] != (r, r):  # a random crop, un-squashed to the square it was in the image
            pixels = torch.nn.functional.interpolate(pixels[None], size=(r, r), mode="bilinear", antialias=True,
                                                     align_corners=False)[0].clamp(0, 255)
        return pixels.div(127.5).sub(1.0)

    def __getitem__(self, key: Key) -> dict[str, Any]:
        return {"pixel_values": self.pixels(key), "input_ids": self.input_ids[key[0]]}


def cache_size(resolution: int, crop: str) -> int:
    # Random crops come from the whole image squashed into a square with a margin; centre crops are cut exactly.
    return resolution if crop == "center" else int(math.ceil(resolution * 1.125 / 8) * 8)


def cache_policy(crop: str) -> str:
    return "center-crop" if crop == "center" else "squash"


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
    """What training reads: the cache, its rows and styles, the prompts (one per row), the sampler and loader."""

    cache: Any
    rows: list[int]
    styles: list[str]
    prompts: list[str]
    loader: Any
    sampler: EpochSampler
    latent_cache: dict[str, Any] = field(default_factory=dict)
    """``{"dir", "used", "reason", "bytes"}``: where the latent cache is and why it is (not) used."""

    def counts(self) -> list[int]:
        """Training images per style, in ``styles`` order."""
        labels = self.cache.labels[self.rows]
        return [int(np.sum(labels == self.cache.classes.index(s))) for s in self.styles]


def load_training_data(cfg: LoraTrainConfig, accelerator: Any, model: Any) -> TrainingData:
    """The decode-once cache (built by the main process first), one tokenized prompt per image, the loader;
    with ``--cache-latents`` the images and prompts are encoded once and the loader serves their latents."""
    from artstyle.data.cache import prepare_cache
    from artstyle.lora.latents import latent_dataset

    with accelerator.main_process_first():
        cache = prepare_cache(cfg.data, size=cache_size(cfg.resolution, cfg.crop), policy=cache_policy(cfg.crop),
                              label_column=cfg.label_column, seed=cfg.seed,
                              progress=cfg.progress and accelerator.is_main_process)
    rows, styles = training_rows(cache, cfg)
    prompts = build_prompts(cache, rows, cfg.prompt_template)
    tokenizer = model.tokenizer
    input_ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                          return_tensors="pt").input_ids  # (N, T) long
    orig_sizes = [cache.index[r].get("orig_size") or () for r in rows] if cfg.crop == "random" else ()
    images = StyleImages(cache.root, len(cache.labels), cache.size, rows, input_ids, cfg.resolution, cfg.crop,
                         orig_sizes)
    dataset, info = latent_dataset(cfg, accelerator, model, cache, images, prompts)
    sampler = EpochSampler(len(rows), cfg.seed, cfg.flip)
    # The loader's own generator seeds its workers, so iterating it never draws from the global RNG (which the
    # noise and timesteps use, and a checkpoint restores): a resumed run draws the noise the straight run drew.
    loader = torch.utils.data.DataLoader(dataset if dataset is not None else images, batch_size=cfg.batch_size,
                                         sampler=sampler, num_workers=cfg.workers, drop_last=False,
                                         persistent_workers=cfg.workers > 0,
                                         generator=torch.Generator().manual_seed(cfg.seed))
    return TrainingData(cache, rows, styles, prompts, loader, sampler, info)


__all__ = ["EpochSampler", "StyleImages", "TrainingData", "load_training_data", "training_rows", "cache_size",
           "cache_policy", "crop_box"]
