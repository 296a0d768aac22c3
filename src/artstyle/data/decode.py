"""Decode one image safely to a fixed-size uint8 RGB array.

Usage: ``arr = decode_image(data_bytes, size=128)``  ->  ``(128, 128, 3)`` uint8, or raises DecodeError;
``arr, (w, h) = decode_with_size(data_bytes, 128)`` also gives the stored size (the cache records it).

Handles what real art collections contain: EXIF rotation, grayscale/CMYK/RGBA/palette/16-bit images,
very large scans (JPEG draft mode decodes them at a reduced scale) and extreme aspect ratios (the crop box
is resized directly, so a 10000x10 strip never becomes a 128000x128 intermediate).
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np

RESIZE_POLICIES = ("center-crop", "pad", "squash")
MAX_PIXELS = 400_000_000
"""Non-JPEG images above this many pixels are refused (a full decode would need > 1 GB); JPEGs are drafted."""


class DecodeError(Exception):
    """The bytes are not a usable image; the message is the reason recorded in skipped.jsonl."""


def _to_rgb(im):  # noqa: ANN001, ANN202 - PIL types imported lazily
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa"):
        # Transparent areas become white (paper), not black.
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode != "RGB":
        return im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, ...
    return im


def decode_image(data: bytes, size: int, policy: str = "center-crop") -> np.ndarray:
    """Decode ``data`` and resize it to ``(size, size, 3)`` uint8 with ``policy``.

    - ``center-crop``: the central square of the image, resized (the default, like torchvision's eval transform);
    - ``pad``: the whole image fitted inside the square, padded with white;
    - ``squash``: the whole image resized to the square, ignoring its aspect ratio.
    """
    return decode_with_size(data, size, policy)[0]


def decode_with_size(data: bytes, size: int, policy: str = "center-crop") -> tuple[np.ndarray, tuple[int, int]]:
    """:func:`decode_image`, and the stored ``(width, height)`` (before EXIF rotation) from the same parse."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise DecodeError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, after choosing a draft scale
            try:
                im = Image.open(io.BytesIO(data))
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
            w, h = im.size
            if w < 1 or h < 1:
                raise DecodeError(f"invalid image size {w}x{h}")
            if im.format == "JPEG":
                short = min(w, h)
                scale = max(size / short, size / max(w, h) if policy == "pad" else 0)
                # draft() picks the largest DCT scale whose result is still >= the requested size.
                im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
            elif w * h > MAX_PIXELS:
                raise DecodeError(f"{w}x{h} = {w * h / 1e6:.0f} MP is above the {MAX_PIXELS / 1e6:.0f} MP safety "
                                  "limit for non-JPEG images; downscale it first")
            im.load()
            im = ImageOps.exif_transpose(im)
            im = _to_rgb(im)
            return _resize(im, size, policy), (w, h)
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise DecodeError("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, MemoryError, EOFError) as exc:
        raise DecodeError(f"cannot decode: {type(exc).__name__}: {str(exc)[:160]}") from None


def _resize(im, size: int, policy: str) -> np.ndarray:  # noqa: ANN001
    from PIL import Image

    w, h = im.size
    resample = Image.Resampling.BICUBIC
    if policy == "center-crop":
        side = min(w, h)
        left, top = (w - side) / 2, (h - side) / 2
        out = im.resize((size, size), resample, box=(left, top, left + side, top + side), reducing_gap=3.0)
    elif policy == "squash":
        out = im.resize((size, size), resample, reducing_gap=3.0)
    elif policy == "pad":
        scale = size / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        out = Image.new("RGB", (size, size), (255, 255, 255))
        out.paste(im.resize((nw, nh), resample, reducing_gap=3.0), ((size - nw) // 2, (size - nh) // 2))
    else:
        raise ValueError(f"unknown resize policy {policy!r}; one of {RESIZE_POLICIES}")
    arr = np.asarray(out, dtype=np.uint8)
    if arr.shape != (size, size, 3):
        raise DecodeError(f"unexpected decoded shape {arr.shape}")
    return arr
