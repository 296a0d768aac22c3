"""The training engine's checkpoint of everything needed to resume a run exactly, without pickle.

Usage (by ``engine.fit``)::

    save_state(run_dir, model, optimizer, scheduler, info)          # after every finished epoch
    info = resume_state(run_dir, model, optimizer, scheduler, accelerator)

Weights, optimiser moments and RNG states go into one epoch-tagged safetensors file, the rest into
``last_state.json``, written last, which names that file: a kill between the writes leaves the previous,
consistent pair in force. ``last.safetensors`` holds the last weights on their own, for users.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle.errors import ArtstyleError
from artstyle.runs import load_safetensors, read_json, read_jsonl, save_safetensors, write_text


def save_state(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
               info: dict[str, Any]) -> None:
    """Everything needed to resume exactly, without pickle: tensors in safetensors, the rest in JSON."""
    opt = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    layout: dict[str, dict[str, Any]] = {}
    for pid, st in opt["state"].items():
        layout[str(pid)] = {}
        for name, value in st.items():
            if torch.is_tensor(value):
                tensors[f"opt.{pid}.{name}"] = value
            else:
                layout[str(pid)][name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    np_state = np.random.get_state()
    state = {"info": info, "param_groups": opt["param_groups"], "opt_scalars": layout,
             "scheduler": scheduler.state_dict(),
             "rng_numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
             "rng_python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]]}
    # One epoch-tagged file holds the weights with the optimiser and RNG state, and last_state.json (written
    # last, atomically) names it: a kill between the writes leaves the previous, consistent pair in force.
    tag = f"last_state-e{info['epoch']:04d}.safetensors"
    weights = model.state_dict()
    save_safetensors(run_dir / tag, {**tensors, **{f"model.{k}": v for k, v in weights.items()}})
    state["tensors"] = tag
    write_text(run_dir / "last_state.json", json.dumps(state))  # marks a complete checkpoint
    for old in run_dir.glob("last_state-e*.safetensors"):
        if old.name != tag:
            old.unlink(missing_ok=True)
    save_safetensors(run_dir / "last.safetensors", weights)  # the last weights on their own, for users


def load_scheduler(scheduler: Any, saved: dict[str, Any]) -> None:
    """Restore the schedule; a state saved by an older schedule class is replayed by its step count instead."""
    import warnings

    try:
        scheduler.load_state_dict(saved)
    except (KeyError, TypeError, ValueError):  # e.g. saved by the LambdaLR of artstyle before 2026-11-29
        with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": replaying on purpose
            warnings.simplefilter("ignore")
            for _ in range(int(saved.get("last_epoch", 0))):
                scheduler.step()


def load_state(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> dict:
    state = read_json(run_dir / "last_state.json")
    if "tensors" not in state:
        raise ArtstyleError(f"{run_dir} was checkpointed by an older artstyle (no epoch-tagged state file); it "
                            "cannot be resumed exactly. Start a new run, or load its last.safetensors as weights")
    tensors = load_safetensors(run_dir / state["tensors"])
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state: dict[int, dict[str, Any]] = {}
    for pid, scalars in state["opt_scalars"].items():
        opt_state[int(pid)] = dict(scalars)
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            opt_state.setdefault(int(pid), {})[name] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in state["param_groups"]]
    optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
    load_scheduler(scheduler, state["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
    s = state["rng_numpy"]
    np.random.set_state((s[0], np.array(s[1], dtype=np.uint32), *s[2:]))
    p = state["rng_python"]
    random.setstate((p[0], tuple(p[1]), p[2]))
    return state["info"]


def resume_state(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                 accelerator: Any) -> dict[str, Any]:
    """Load the training state saved after the last finished epoch; drop what a kill left half done."""
    if not (run_dir / "last_state.json").is_file():
        raise ArtstyleError(f"{run_dir} has no resumable state (last_state.json); it was not trained by artstyle "
                            "or never finished an epoch")
    info = load_state(run_dir, model, optimizer, scheduler)
    if accelerator.is_main_process:  # temporaries of writes that a SIGKILL cut off (atomic_path's names)
        for stale in run_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    # Drop metric lines of an epoch that was logged but whose checkpoint never landed.
    kept = [r for r in read_jsonl(run_dir / "metrics.jsonl") if r.get("epoch", 0) <= info["epoch"]]
    write_text(run_dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept))
    return info


__all__ = ["load_scheduler", "load_state", "resume_state", "save_state"]
