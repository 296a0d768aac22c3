"""Run directories, resumable checkpoints and ``--resume`` for LoRA training.

Usage::

    cfg, run, checkpoint = resume_target(cfg)          # run/checkpoint are None for a fresh run
    register_checkpoint_hooks(accelerator, unet, text_encoder)
    save_checkpoint(accelerator, run, step, keep=3)    # run/checkpoint-<step>/, oldest ones deleted
    step = restore_checkpoint(accelerator, run, checkpoint)

A checkpoint is an Accelerate state (LoRA weights, optimizer, scheduler, scaler, RNG) whose model part is only
the LoRA weights in diffusers format, never the multi-GB frozen model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

from artstyle.errors import ArtstyleError
from artstyle.lora.config import LOCKED_ON_RESUME, WEIGHTS_NAME, LoraTrainConfig, saved_settings


def list_checkpoints(run: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first (a half-written one is a hidden temp folder, never listed)."""
    found = []
    for p in run.glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", p.name)
        if m and p.is_dir() and (p / WEIGHTS_NAME).is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.split("-")[1])


def resolve_resume(resume: str) -> tuple[Path, Path | None]:
    """``(run dir, checkpoint dir or None)`` for ``--resume RUN`` (latest checkpoint) or ``--resume RUN/checkpoint-N``."""
    path = Path(resume).expanduser()
    if re.fullmatch(r"checkpoint-\d+", path.name) and path.is_dir():
        if not (path / WEIGHTS_NAME).is_file():
            raise ArtstyleError(f"--resume {resume}: the checkpoint is incomplete ({WEIGHTS_NAME} missing)")
        run = path.parent
    else:
        run = path
    if not (run / "config.json").is_file():
        raise ArtstyleError(f"--resume {resume}: not a lora run directory (config.json missing)")
    if path is run:
        found = list_checkpoints(run)
        return run, (found[-1][1] if found else None)
    return run, path


def merge_resume(cfg: LoraTrainConfig, saved: dict[str, Any]) -> LoraTrainConfig:
    """Saved settings for everything left at its default; settings that differ from the default win.

    (The CLI cannot tell "passed the default value" from "not passed", so a flag set to its default value
    does not override the saved one.) A run saved before ``--precision`` existed resumes with its old
    ``mixed_precision`` read as ``precision``.
    """
    saved = saved_settings(saved)
    defaults = LoraTrainConfig()
    merged = {}
    for f in fields(LoraTrainConfig):
        mine = getattr(cfg, f.name)
        if f.name in ("resume", "out", "overwrite", "progress") or mine != getattr(defaults, f.name) or f.name not in saved:
            merged[f.name] = mine
        else:
            merged[f.name] = saved[f.name]
    out = LoraTrainConfig(**merged)
    changed = [k for k in LOCKED_ON_RESUME if k in saved and getattr(out, k) != saved[k]]
    if changed:
        raise ArtstyleError("--resume: these settings cannot change when resuming (the checkpoint depends on them): "
                            + ", ".join(f"--{k.replace('_', '-')} {saved[k]!r} -> {getattr(out, k)!r}" for k in changed))
    return out


def resume_target(cfg: LoraTrainConfig) -> tuple[LoraTrainConfig, Path | None, Path | None]:
    """``(settings, run, checkpoint)`` for ``--resume`` (the run's saved settings merged in); ``(cfg, None, None)`` without."""
    from artstyle.runs import read_json

    if not cfg.resume:
        return cfg, None, None
    run, checkpoint = resolve_resume(cfg.resume)
    cfg = merge_resume(cfg, read_json(run / "config.json").get("config", {}))
    newer = [p for step, p in list_checkpoints(run) if checkpoint is not None and step > step_of(checkpoint)]
    if newer and not cfg.overwrite:
        raise ArtstyleError(f"--resume {cfg.resume}: newer checkpoints exist ({', '.join(p.name for p in newer)}); "
                            "resuming from here abandons them. Pass --overwrite to delete them, or --resume the "
                            "run directory to continue from the latest")
    return cfg, run, checkpoint


def fresh_run_dir(cfg: LoraTrainConfig) -> Path:
    """A new run directory; an overwritten ``--out`` loses the files of the run that was there (a stale
    checkpoint or metrics line would otherwise be mistaken for this run's)."""
    from artstyle.runs import create_run, prepare_run_dir

    if not cfg.out:
        return create_run("lora", cfg.name or f"lora-r{cfg.rank}")
    run = prepare_run_dir(cfg.out, cfg.overwrite)
    for _, old in list_checkpoints(run):
        shutil.rmtree(old)
    for old in [run / "metrics.jsonl", run / WEIGHTS_NAME, *(run / "figures").glob("validation-*.png")]:
        old.unlink(missing_ok=True)
    return run


def register_checkpoint_hooks(accelerator: Any, unet: Any, text_encoder: Any) -> None:
    """Make ``accelerator.save_state``/``load_state`` save and load only the LoRA weights (diffusers format)."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.training_utils import cast_training_params

    from artstyle.lora.weights import load_lora_into, lora_state_dicts

    unet_cls, te_cls = type(accelerator.unwrap_model(unet)), type(accelerator.unwrap_model(text_encoder))

    def save_hook(models: list, weights: list, output_dir: str) -> None:
        if accelerator.is_main_process:
            u = next(accelerator.unwrap_model(m) for m in models if isinstance(accelerator.unwrap_model(m), unet_cls))
            t = next((accelerator.unwrap_model(m) for m in models if isinstance(accelerator.unwrap_model(m), te_cls)), None)
            StableDiffusionPipeline.save_lora_weights(output_dir, weight_name=WEIGHTS_NAME, **lora_state_dicts(u, t))
        while weights:  # handled here: keep accelerate from saving the full models too
            weights.pop()

    def load_hook(models: list, input_dir: str) -> None:
        u = t = None
        while models:
            m = accelerator.unwrap_model(models.pop())
            u, t = (m, t) if isinstance(m, unet_cls) else (u, m)
        load_lora_into(Path(input_dir), u, t)
        if accelerator.mixed_precision in ("fp16", "bf16"):
            cast_training_params([m for m in (u, t) if m is not None], dtype=torch.float32)

    accelerator.register_save_state_pre_hook(save_hook)
    accelerator.register_load_state_pre_hook(load_hook)


def save_checkpoint(accelerator: Any, run: Path, step: int, keep: int) -> None:
    """``run/checkpoint-<step>/`` from every process (each saves its own RNG state); at most ``keep`` kept (0 = all).

    Saved to a hidden temp folder and renamed, so a kill never leaves a checkpoint that looks complete.
    """
    main = accelerator.is_main_process
    final, tmp = run / f"checkpoint-{step}", run / f".checkpoint-{step}.tmp"
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if main:
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        found = list_checkpoints(run)
        if keep > 0:
            for _, old in found[:max(0, len(found) - keep)]:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def restore_checkpoint(accelerator: Any, run: Path, checkpoint: Path) -> int:
    """Load LoRA weights, optimizer, scheduler, scaler and RNG from ``checkpoint``; return its step.

    Checkpoints and metrics lines past it belong to the abandoned continuation and are deleted.
    """
    from artstyle.runs import read_jsonl, write_bytes

    accelerator.load_state(str(checkpoint))
    step = step_of(checkpoint)
    if accelerator.is_main_process:
        for later, old in list_checkpoints(run):
            if later > step:
                shutil.rmtree(old)
        kept = [r for r in read_jsonl(run / "metrics.jsonl") if r.get("step", 0) <= step]
        write_bytes(run / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept).encode())
    return step


__all__ = ["list_checkpoints", "resolve_resume", "merge_resume", "resume_target", "fresh_run_dir",
           "register_checkpoint_hooks", "save_checkpoint", "restore_checkpoint"]
