"""Inference on the device the accelerator picks, under the run's precision, streaming from the cache in chunks.

Usage::

    place = on_device(model, precision=info["precision"])       # moves the model; picks device and precision
    with torch.no_grad(), place.autocast():
        for where, batch in chunks(cache.images, rows, 512):     # uint8 (B, H, W, 3), one chunk in memory
            logits = model(place.images(batch))                  # float (B, 3, H, W) in [-1, 1] on the device

Every inference path (the test report, ``classify evaluate``/``predict``, embeddings export, ``stylize
render``/``evaluate``, the Gram and mean-code statistics) goes through :func:`on_device`, so all of them run where
training runs: the device of accelerate's state (``cuda:<local rank>`` on a GPU, else the CPU, as
``engine.make_accelerator`` chooses; accelerate's ``ACCELERATE_USE_CPU=1`` / ``ACCELERATE_TORCH_DEVICE`` override
it). On a GPU they autocast to the run's ``--precision`` (``auto``: bf16 where supported, else fp16). On the CPU
they stay fp32, so CPU numbers are those of every earlier version (and bf16 is slow emulation on most CPUs).

:func:`chunks` reads a memory-mapped cache through a short-lived mapping per chunk, so the pages a pass reads do
not stay mapped into the process: peak memory stays flat however large the split (benchmarks/eval_memory.py).
"""

from __future__ import annotations

import contextlib
import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Iterator, Sequence

import numpy as np
import torch

from artstyle.engine import to_float
from artstyle.errors import ArtstyleError
from artstyle.settings import PRECISIONS

CHUNK = 512
"""Cache rows read per chunk by default (25 MB at 128 px, 226 MB at 384 px): long sequential reads, one chunk in
memory at a time."""

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def inference_device() -> torch.device:
    """The device the accelerator picks for this process (the one ``engine.fit`` trains on).

    accelerate's process state, not an ``Accelerator``: that would fix the mixed precision of the process, and a
    later training command in it (a pipeline) could not choose its own.
    """
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    # accelerate itself reads ACCELERATE_USE_CPU only in the full Accelerator state, so it is honoured here too
    return PartialState(cpu=not torch.cuda.is_available() or parse_flag_from_env("ACCELERATE_USE_CPU")).device


def run_precision(config: dict[str, Any]) -> str:
    """The ``--precision`` a run was trained with, from its config.json (``auto`` for runs without one)."""
    return str(config.get("config", {}).get("precision") or "auto")


def inference_precision(precision: str | None, device: torch.device | str) -> str:
    """What inference on ``device`` runs under: ``fp32``, ``bf16`` or ``fp16``.

    The run's ``precision`` on a CUDA device (``auto`` / None: bf16 where supported, else fp16); fp32 anywhere
    else, so CPU results do not change with the run's setting.
    """
    precision = precision or "auto"
    if precision not in PRECISIONS:
        raise ArtstyleError(f"precision {precision!r} is not one of: {', '.join(PRECISIONS)} (config.json's "
                            "config.precision); retrain the run or fix that field")
    if torch.device(device).type != "cuda":
        return "fp32"
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return precision


@dataclass(frozen=True)
class Placement:
    """Where inference runs (``device``) and under which resolved ``precision`` (fp32, bf16 or fp16)."""

    device: torch.device
    precision: str

    def autocast(self) -> ContextManager:
        """Autocast to the precision on the device; nothing at fp32."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=_DTYPES[self.precision])

    def images(self, batch: np.ndarray) -> torch.Tensor:
        """uint8 ``(B, H, W, 3)`` -> float ``(B, 3, H, W)`` in [-1, 1] on the device (copied there as uint8)."""
        batch = np.ascontiguousarray(batch)
        if not batch.flags.writeable:  # a read-only memmap slice: torch warns about sharing it, so copy this batch
            batch = batch.copy()
        x = torch.from_numpy(batch).permute(0, 3, 1, 2)
        return to_float(x.to(self.device))

    def labels(self, values: np.ndarray) -> torch.Tensor:
        """int ``(B,)`` -> long ``(B,)`` on the device."""
        return torch.as_tensor(np.asarray(values), dtype=torch.long).to(self.device)


def on_device(model: torch.nn.Module, precision: str | None = None,
              device: torch.device | str | None = None) -> Placement:
    """Move ``model`` to ``device`` (None: :func:`inference_device`) and say how to run it there.

    ``precision``: the run's ``--precision`` (:func:`run_precision`); None means ``auto``.
    """
    device = torch.device(device) if device is not None else inference_device()
    model.to(device)
    return Placement(device, inference_precision(precision, device))


def _mapped(images: np.ndarray) -> bool:
    """Whether ``images`` is a whole memory-mapped file (``np.memmap``'s own array, not a view of one)."""
    return isinstance(images, np.memmap) and isinstance(images.base, mmap.mmap)


def read_rows(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``images[rows]`` as an in-memory uint8 array, ``rows`` ascending.

    From a memory-mapped file (the cache's ``images``), the rows' byte range is mapped for this read only, so
    the pages read are unmapped again right after: the process's resident memory does not grow with the number
    of rows a pass has read. Any other array is simply indexed.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not (_mapped(images) and len(rows)):
        return np.ascontiguousarray(images[rows])
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    if lo < 0 or hi > len(images) or (len(rows) > 1 and (np.diff(rows) < 0).any()):
        return np.ascontiguousarray(images[rows])  # unsorted or negative rows: the plain (correct) read
    row_bytes = images.itemsize * int(np.prod(images.shape[1:]))
    view = np.memmap(images.filename, dtype=images.dtype, mode="r", offset=images.offset + lo * row_bytes,
                     shape=(hi - lo, *images.shape[1:]))
    out = view[rows - lo].view(np.ndarray)  # fancy indexing copies: nothing keeps the mapping alive
    del view  # unmapped here
    return out


def chunks(images: np.ndarray, rows: np.ndarray | None = None, size: int = CHUNK) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(positions, batch)``: uint8 ``images[rows[positions]]`` ``(B, H, W, 3)``, ``size`` rows at a time.

    ``rows`` None means every row. Only one chunk is in memory at a time (see :func:`read_rows`); an array
    already in memory is sliced, not copied, when ``rows`` is None.
    """
    plain = rows is None and not _mapped(images)
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    for start in range(0, len(rows), max(1, size)):
        where = slice(start, min(start + max(1, size), len(rows)))
        yield where, (images[where] if plain else read_rows(images, rows[where]))


def expand_images(paths: Sequence[str | Path]) -> list[Path]:
    """The images to predict or render: files as given; a directory contributes its image files (by extension,
    sorted, not recursive), as ``classify predict`` and ``stylize render`` take them."""
    from artstyle.constants import IMAGE_EXTENSIONS

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()))
        else:
            out.append(p)
    return out


__all__ = ["CHUNK", "Placement", "chunks", "expand_images", "inference_device", "inference_precision", "on_device",
           "read_rows", "run_precision"]
