"""Images in: a file path, encoded bytes, a PIL image or a uint8 array, all through the cache's decode path.

Usage::

    data = image_bytes("photo.jpg")                   # bytes, read once (a notebook user's own file)
    arr = decode(data, size=64, policy="center-crop")  # uint8 (64, 64, 3), or ArtstyleError with the reason

Every image the API (and so the web app) looks at is decoded by ``artstyle.data.decode.decode_image``: the
same EXIF rotation, colour-mode handling, JPEG draft scaling and decompression-bomb guards as the cache. An
array or PIL image is encoded to PNG first so that it takes the same path. Nothing here imports torch.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Union

import numpy as np

from artstyle.data.decode import DecodeError, decode_image
from artstyle.errors import ArtstyleError

ImageLike = Union[str, Path, bytes, bytearray, np.ndarray, Any]
"""A path, encoded bytes, a uint8 ``(H, W, 3)`` array or a PIL image."""

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""The web app refuses uploads above this size before any handler runs (files on disk have no such cap)."""


class UnusableImage(ArtstyleError):
    """An image that cannot be read or decoded; ``reason`` is the short cause (as in the cache's skipped list)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} is not an image artstyle can use: {reason}")
        self.name, self.reason = name, reason


def image_bytes(image: ImageLike) -> bytes:
    """The encoded bytes of ``image`` (read from disk when it is a path; arrays and PIL images as PNG)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, (str, Path)):
        path = Path(image)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise UnusableImage(str(path), f"cannot read: {exc.strerror or exc}") from None
    from PIL import Image

    if isinstance(image, np.ndarray):
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
            raise ArtstyleError(f"an image array must be uint8 (H, W) or (H, W, 3|4), got {arr.dtype} {arr.shape}")
        image = Image.fromarray(arr)
    if isinstance(image, Image.Image):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()
    raise ArtstyleError(f"not an image: {type(image).__name__} (give a path, bytes, a PIL image or a uint8 array)")


def decode(image: ImageLike, size: int, policy: str = "center-crop", name: str = "the image") -> np.ndarray:
    """``image`` decoded and resized to uint8 ``(size, size, 3)`` as the cache does; ArtstyleError when unusable."""
    data = image_bytes(image)
    try:
        return decode_image(data, size, policy)
    except DecodeError as exc:
        raise UnusableImage(name, str(exc)) from None


def describe(image: ImageLike) -> str:
    """A short name for ``image`` in messages: the path, else its type."""
    if isinstance(image, (str, Path)):
        return str(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return "the uploaded file"
    return f"the {type(image).__name__} image"


__all__ = ["ImageLike", "MAX_UPLOAD_BYTES", "UnusableImage", "decode", "describe", "image_bytes"]
