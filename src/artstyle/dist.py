"""Helpers for runs started with ``accelerate launch`` / ``torchrun`` (several processes, one run).

Usage::

    with main_process_first():
        cache = prepare_cache(...)           # built once, by rank 0; the others then reuse it
    run = shared_run_dir(lambda: create_run("classify", name))   # one directory for all ranks
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator


def is_distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def partial_state():  # noqa: ANN201
    """Accelerate's process state; ``cpu=True`` without CUDA so torchrun/accelerate launch on CPUs uses gloo."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. writes a cache); the other ranks run it afterwards."""
    if not is_distributed():
        yield
        return
    with partial_state().main_process_first():
        yield


def shared_run_dir(make: Callable[[], Path]) -> Path:
    """Call ``make`` on rank 0 only and give every rank its result, so all ranks write into one run."""
    if not is_distributed():
        return make()
    from accelerate.utils import broadcast_object_list

    state = partial_state()
    box = [str(make()) if state.is_main_process else None]
    broadcast_object_list(box, from_process=0)
    return Path(box[0])
