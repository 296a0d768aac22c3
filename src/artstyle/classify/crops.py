"""Crops at native resolution: random training crops, and the grid of crops that evaluation averages over.

Usage::

    transform = crop_transform(size=128, cache_size=384, augment=True)   # NativeCrop, GlobalView or a v2 pipeline
    crops = grid_crops(images, size=128, grid=3)                        # (N, S, S, 3) -> (N, 9, 128, 128, 3)
    probs, per_crop = predict_crops(model, images, size=128, grid=3)    # (N, C), (N, 9, C)
    GlobalView(64, NativeCrop(64))(row)                                 # (S, S, 3) -> (64, 64, 6): crop + whole

Style lives in fine texture (brushwork, strokes, grain) that a whole-image downscale throws away. So the cache
may keep images larger than the network's input (``cache_size`` > ``size``): training sees random ``size`` crops
at native scale (with some scale jitter), and prediction averages the class probabilities of a ``grid x grid``
grid of crops that covers the whole image. With ``cache_size == size`` nothing changes: one crop is the image.

A model with ``global_view = True`` (``classify train --global-view``) also gets the whole picture beside each crop:
every ``size`` crop carries three more channels, an evenly strided subsample of the whole image at ``size`` px
(:func:`whole_view`; plain pixels, so its palette is the picture's), for training, validation and prediction alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SCALE_JITTER = 1.25
"""Training crops cover a side of ``size * s`` cached pixels, ``s`` in ``[1/SCALE_JITTER, SCALE_JITTER]``, resized
to ``size``: a little scale variation around native resolution."""


def crop_scale(size: int, cache_size: int, jitter: float = SCALE_JITTER) -> tuple[float, float]:
    """RandomResizedCrop's area range for crops of about ``size`` px out of ``cache_size`` px images."""
    native = (size / cache_size) ** 2
    return min(1.0, native / jitter ** 2), min(1.0, native * jitter ** 2)


def crop_transform(size: int, cache_size: int, augment: bool, color_jitter: bool = False,
                   jitter: float = SCALE_JITTER, global_view: bool = False) -> Any:
    """The training or validation crop of uint8 ``(3, cache_size, cache_size)`` images -> ``(3, size, size)``
    (a :class:`GlobalView`: ``(size, size, 6)`` from the cache's ``(H, W, 3)`` row).

    With ``augment``: random square crops at native scale (:func:`crop_scale`; ``jitter`` 1 is a plain random
    crop, never resampled, so pixel-level grain survives: :class:`NativeCrop`, which also takes the cache's
    ``(H, W, 3)`` row) and horizontal flips; the whole image when
    ``cache_size == size`` (scale 0.5-1, as before). Without: the centre crop. None when nothing to do. All but
    :class:`NativeCrop` and :class:`GlobalView` are torchvision.transforms.v2 pipelines. ``global_view`` with
    ``cache_size > size``: a :class:`GlobalView` of plain crops (no jitter, no colour jitter: they would change what
    the crop shows of the picture's palette); with ``cache_size == size`` the crop is the whole picture, and the
    network takes a 3-channel input as its own whole view, so nothing changes.
    """
    from torchvision.transforms import v2

    if global_view and cache_size > size:
        if color_jitter or (augment and jitter > 1.0):
            raise ValueError("the global view takes plain crops: no colour jitter, crop jitter 1")
        return GlobalView(size, NativeCrop(size) if augment else None)
    if augment and cache_size > size and jitter <= 1.0 and not color_jitter:
        return NativeCrop(size)
    ops: list[Any] = []
    if augment and cache_size > size and jitter <= 1.0:
        ops += [v2.RandomCrop(size), v2.RandomHorizontalFlip()]
    elif augment and cache_size > size:
        ops += [v2.RandomResizedCrop(size, scale=crop_scale(size, cache_size, jitter), ratio=(1.0, 1.0),
                                     antialias=True), v2.RandomHorizontalFlip()]
    elif augment:
        ops += [v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    elif cache_size > size:
        ops.append(v2.CenterCrop(size))
    if color_jitter:
        ops.append(v2.ColorJitter(0.2, 0.2, 0.2, 0.02))
    return v2.Compose(ops) if ops else None


class NativeCrop:
    """A random ``size`` px square of the image, mirrored left-right half the time: plain pixels, never resampled.

    Works on a uint8 ``(H, W, 3)`` array (``takes_array``: :class:`artstyle.data.dataset.CachedImages` then crops
    the memory-mapped cache row before copying it, 3 to 4 times cheaper per 64 px crop of a 256 px row than copying
    the whole row first: ``benchmarks/texture_speed.py``) and on a ``(..., H, W)`` tensor. Its randomness is
    torch's, so DataLoader workers and ``torch.manual_seed`` seed it.
    """

    takes_array = True

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, img: Any) -> Any:
        import torch

        array = isinstance(img, np.ndarray)
        h, w = img.shape[:2] if array else img.shape[-2:]
        if min(h, w) < self.size:
            raise ValueError(f"crop {self.size} px is larger than the image ({h}x{w} px)")
        y = int(torch.randint(0, h - self.size + 1, ()))
        x = int(torch.randint(0, w - self.size + 1, ()))
        flip = bool(torch.rand(()) < 0.5)
        if array:
            out = img[y:y + self.size, x:x + self.size]
            return out[:, ::-1] if flip else out
        out = img[..., y:y + self.size, x:x + self.size]
        return out.flip(-1) if flip else out


def whole_view(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``(..., H, W, 3) -> (..., size, size, 3)``: every (H/size)-th pixel of the whole picture, evenly
    strided, never blended, so the view's colours are the picture's own colours."""
    h, w = images.shape[-3:-1]
    if h % size == 0 and w % size == 0:  # the same pixels by plain slicing: 4x cheaper on a memory-mapped row
        return images[..., ::h // size, ::w // size, :]
    rows, cols = (np.arange(size) * h) // size, (np.arange(size) * w) // size
    return images[..., rows[:, None], cols[None, :], :]


class GlobalView:
    """A crop and the whole picture: uint8 ``(H, W, 3)`` -> ``(size, size, 6)``, the crop (``crop``'s, else the
    centre crop) then :func:`whole_view`. Takes the cache's array (``takes_array``), like :class:`NativeCrop`."""

    takes_array = True

    def __init__(self, size: int, crop: NativeCrop | None = None) -> None:
        self.size, self.crop = size, crop

    def __call__(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        if self.crop is not None:
            crop = self.crop(img)
        else:
            if min(h, w) < self.size:
                raise ValueError(f"crop {self.size} px is larger than the image ({h}x{w} px)")
            y, x = (h - self.size) // 2, (w - self.size) // 2
            crop = img[y:y + self.size, x:x + self.size]
        # filled channel-first and handed back as an (H, W, 6) view of it: the dataset's transpose to (6, H, W)
        # then needs no copy (half the cost of np.concatenate on a memory-mapped row)
        out = np.empty((6, self.size, self.size), np.uint8)
        out[:3] = crop.transpose(2, 0, 1)
        out[3:] = whole_view(img, self.size).transpose(2, 0, 1)
        return out.transpose(1, 2, 0)


def grid_offsets(image_size: int, size: int, grid: int) -> list[int]:
    """``grid`` evenly spaced crop origins along one side; one crop is the centre crop."""
    if size > image_size:
        raise ValueError(f"crop {size} px is larger than the image ({image_size} px)")
    if grid <= 1:
        return [(image_size - size) // 2]
    return [round(i * (image_size - size) / (grid - 1)) for i in range(grid)]


def grid_crops(images: np.ndarray, size: int, grid: int) -> np.ndarray:
    """uint8 ``(N, S, S, 3)`` -> ``(N, grid*grid, size, size, 3)``, crops in row-major order."""
    images = np.asarray(images)
    offsets = grid_offsets(images.shape[1], size, grid)
    crops = [images[:, y:y + size, x:x + size] for y in offsets for x in offsets]
    return np.stack(crops, axis=1)


def model_crops(model: Any, images: np.ndarray, size: int, grid: int) -> np.ndarray:
    """What ``model`` reads of uint8 ``(N, S, S, 3)`` images at prediction: their :func:`grid_crops`
    ``(N, grid*grid, size, size, 3)``, each crop followed by its image's :func:`whole_view` (6 channels) for a model
    with ``global_view``, as :class:`GlobalView` gives it in training."""
    images = np.asarray(images)
    crops = grid_crops(images, size, grid)
    if not getattr(model, "global_view", False):
        return crops
    whole = np.broadcast_to(whole_view(images, size)[:, None], crops.shape)
    return np.concatenate([crops, whole], axis=-1)


def predict_crops(model: Any, images: np.ndarray, size: int, grid: int, batch_size: int = 128,
                  device: Any = None, precision: str | None = None, picture: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities averaged over a ``grid x grid`` grid of crops, and each crop's own.

    ``images``: uint8 ``(N, S, S, 3)``. Returns ``(probs (N, C), per_crop (N, grid*grid, C))``. With ``grid`` 1
    and ``S == size`` this is the plain single-image prediction. A model with ``global_view`` gets each image's
    :func:`whole_view` beside every crop, as in training. The model moves to ``device`` (None: the
    accelerator's, :func:`artstyle.inference.on_device`) and runs under the run's ``precision`` there. A model
    with a ``picture_head`` (``classify train --picture-stats``) combines the crops' average with the whole
    picture's statistics (:meth:`artstyle.classify.picture_stats.PictureHead.fuse`) unless ``picture`` is False.
    """
    import torch

    from artstyle.inference import on_device

    place = on_device(model, precision, device)
    k = max(1, grid) ** 2
    step = max(1, batch_size // k)
    out = []
    with torch.no_grad(), place.autocast():
        for i in range(0, len(images), step):
            crops = model_crops(model, images[i:i + step], size, grid)
            n = len(crops)
            logits = model(place.images(crops.reshape(n * k, size, size, crops.shape[-1])))
            out.append(torch.softmax(logits.float(), 1).reshape(n, k, -1).cpu().numpy())
    if not out:
        return np.zeros((0, 0)), np.zeros((0, k, 0))
    per_crop = np.concatenate(out)
    probs, head = per_crop.mean(1), getattr(model, "picture_head", None)
    if picture and head is not None:
        from artstyle.classify.picture_stats import picture_statistics

        probs = head.fuse(probs, picture_statistics(images))
    return probs, per_crop


__all__ = ["SCALE_JITTER", "GlobalView", "NativeCrop", "crop_scale", "crop_transform", "grid_offsets", "grid_crops",
           "model_crops", "predict_crops", "whole_view"]
