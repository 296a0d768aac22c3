"""Helpers for runs started with ``accelerate launch`` / ``torchrun`` (several processes, one run).

Usage::

    with main_process_first():
        cache = prepare_cache(...)           # built once, by rank 0; the others then reuse it
    run = shared_run_dir(lambda: create_run("classify", name))   # one directory for all ranks
    broadcast_module(disc)                   # a model outside accelerate's DDP wrapper: rank 0's state everywhere
    loss.backward(); average_gradients(disc); opt.step()                  # ... and the same update everywhere
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    import torch


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


def _world() -> int:
    """The process group's size; 1 when no group is initialised (a single process)."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every process (a no-op in a single process). For a network
    trained beside the engine's DDP model by its own optimiser, such as the stylizer's ``--w-adv``
    discriminator: its processes then start from the same weights."""
    if _world() == 1:
        return
    import torch.distributed as dist

    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def average_gradients(module: torch.nn.Module) -> None:
    """Replace each parameter's gradient by its mean over the processes (a no-op in a single process): what the
    DDP wrapper does for the engine's model, for a network stepped outside it. Call between backward and step."""
    world = _world()
    if world == 1:
        return
    import torch
    import torch.distributed as dist

    for p in module.parameters():
        if p.requires_grad:
            if p.grad is None:  # every process must join each all_reduce, with or without a gradient
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad.div_(world)


def shared_run_dir(make: Callable[[], Path]) -> Path:
    """Call ``make`` on rank 0 only and give every rank its result, so all ranks write into one run."""
    if not is_distributed():
        return make()
    from accelerate.utils import broadcast_object_list

    state = partial_state()
    box = [str(make()) if state.is_main_process else None]
    broadcast_object_list(box, from_process=0)
    return Path(box[0])
