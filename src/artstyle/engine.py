"""The one training engine shared by the classifier, the autoencoder and the style-conditioned model.

Usage::

    result = fit(model, task, train_ds, val_ds, run_dir, TrainSettings(epochs=10, lr=1e-3))

A *task* supplies what differs between stages: ``training_loss(model, batch) -> (loss, logs)`` and
``evaluate(model, loader, accelerator) -> metrics``; the engine does the rest: Accelerate (device, mixed
precision, DDP under ``accelerate launch``), AdamW, a warmup + cosine schedule, progress bars with
images/s, one JSON line per epoch in ``metrics.jsonl``, early stopping on ``task.monitor``, ``best`` and
``last`` checkpoints as safetensors, a crash-safe training state for exact ``resume``, and a stop on a
non-finite loss that keeps the last good checkpoint.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import numpy as np
import torch

from artstyle.compiling import compile_decision, compile_errors, compiled
from artstyle.errors import ArtstyleError
from artstyle.runs import append_jsonl, save_safetensors
from artstyle.schedules import budget_deadline, cosine_with_warmup  # noqa: F401  (stages import them from here)
from artstyle.settings import COMPILE_MODES, PRECISIONS, TrainSettings  # noqa: F401  (TrainSettings: the engine's settings)
from artstyle.training_state import resume_state, save_state

class Task(Protocol):
    monitor: str
    mode: str  # "max" or "min"
    # Optional ``keep = "last"``: best.safetensors is the latest epoch's weights (an objective whose validation
    # value does not rank models, such as the stylizer's, or a noisy one, such as the texture classifier's single
    # centre crop: docs/results.md, sections 5 and 7); the monitored value still drives --patience. Default
    # (``keep = "best"``): the best epoch by ``monitor``.

    def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]: ...

    def evaluate(self, model: torch.nn.Module, loader: Iterable, accelerator: Any) -> dict[str, float]: ...


def has_fast_cpu_bf16() -> bool:
    """True when the CPU has native bf16 instructions (AVX-512 BF16 or AMX); bf16 is slow emulation otherwise."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str) -> str:
    """``auto`` -> bf16 on GPUs that support it (else fp16), bf16 on CPUs with native bf16, else fp32."""
    if precision not in PRECISIONS:
        raise ArtstyleError(f"--precision {precision!r} is not one of: {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if has_fast_cpu_bf16() else "fp32"


def set_threads(threads: int) -> None:
    """Set torch's CPU threads from the argument or ``ARTSTYLE_THREADS`` (0 keeps torch's default)."""
    threads = threads or int(os.environ.get("ARTSTYLE_THREADS", "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def reset_accelerate_state() -> None:
    """Forget Accelerate's process-wide state, a singleton that refuses a second mixed precision (one process
    only: a notebook, a pipeline of stages or the test suite may train several runs)."""
    from accelerate.state import AcceleratorState, GradientState

    from artstyle.dist import is_distributed

    if not is_distributed():
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()


def _forget_other_precision(mixed_precision: str) -> None:
    """Reset a single-process Accelerate state left behind with another mixed precision (an earlier run in this
    process, or a bare ``Accelerator()``): Accelerate would otherwise refuse this run's precision."""
    from accelerate.state import AcceleratorState

    shared = AcceleratorState._shared_state
    if shared and str(shared.get("_mixed_precision", mixed_precision)) != mixed_precision:
        reset_accelerate_state()


def make_accelerator(precision: str) -> Any:
    from accelerate import Accelerator

    mp = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[resolve_precision(precision)]
    if mp == "fp16" and not torch.cuda.is_available():
        raise ArtstyleError("--precision fp16 needs a CUDA GPU; use bf16 or fp32 on the CPU")
    _forget_other_precision(mp)
    # cpu=True without CUDA: otherwise accelerate ignores torchrun's WORLD_SIZE on CPU-only machines.
    return Accelerator(mixed_precision=mp, cpu=not torch.cuda.is_available())


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` in [0, 255] -> float ``(N, 3, H, W)`` in [-1, 1] (every model's input range)."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float ``(N, 3, H, W)`` in [-1, 1] -> uint8 ``(N, 3, H, W)``."""
    return images.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


# ---------------------------------------------------------------- the loop


def past_deadline(deadline: float, accelerator: Any) -> bool:
    """Whether the time budget is spent, agreed by every process (any one past it stops them all).

    Each process reading its own clock could disagree near the deadline: one would stop while another waits
    forever at the next collective. Without a budget (``inf``) no collective runs.
    """
    if deadline == float("inf"):
        return False
    late = time.perf_counter() > deadline
    if accelerator.num_processes == 1:
        return late
    flag = torch.tensor([1.0 if late else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(flag, reduction="sum").item() > 0)


def train_one_epoch(model: torch.nn.Module, task: Task, loader: Iterable, optimizer: torch.optim.Optimizer,
                    scheduler: Any, accelerator: Any, epoch: int, settings: TrainSettings,
                    params: list[torch.nn.Parameter], deadline: float = float("inf")) -> dict[str, float]:
    """One pass over ``loader``; returns mean training logs plus throughput and data-wait share."""
    from tqdm.auto import tqdm

    model.train()
    if hasattr(task, "train_mode"):
        task.train_mode(model)
    total = len(loader) if settings.max_steps_per_epoch <= 0 else min(len(loader), settings.max_steps_per_epoch)
    bar = tqdm(total=total, desc=f"epoch {epoch}", unit="step", leave=False,
               disable=None if (settings.progress and accelerator.is_main_process) else True)
    sums: dict[str, float] = {}
    n_images, wait, t_start, done = 0, 0.0, time.perf_counter(), 0
    t_fetch = time.perf_counter()
    for step, batch in enumerate(loader):
        if step >= total or past_deadline(deadline, accelerator):
            break
        wait += time.perf_counter() - t_fetch
        with accelerator.autocast():
            loss, logs = task.training_loss(model, batch)
        if not torch.isfinite(loss.detach()).all():
            bar.close()
            raise NonFiniteLoss(epoch, step, float(loss.detach()))
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if settings.grad_clip > 0:
            accelerator.clip_grad_norm_(params, settings.grad_clip)
        optimizer.step()
        scheduler.step()
        logs = {"loss": float(loss.detach()), **logs}
        for k, v in logs.items():
            sums[k] = sums.get(k, 0.0) + v
        n_images, done = n_images + len(batch[0]), done + 1
        elapsed = time.perf_counter() - t_start
        bar.update(1)
        bar.set_postfix(loss=f"{logs['loss']:.4f}", img_s=f"{n_images / max(elapsed, 1e-9):.0f}")
        t_fetch = time.perf_counter()
    bar.close()
    elapsed = time.perf_counter() - t_start
    out = {f"train_{k}": v / max(1, done) for k, v in sums.items()}  # the steps taken (a deadline may cut the pass)
    out.update(images_per_s=n_images * accelerator.num_processes / max(elapsed, 1e-9),
               data_wait_share=wait / max(elapsed, 1e-9), lr=scheduler.get_last_lr()[0], train_seconds=elapsed)
    return out


def epoch_line(record: dict[str, Any], epochs: int, monitor: str) -> str:
    """One aligned line per epoch with the numbers a person reads: losses, the monitored metric, speed, time.

    ``epoch  3/10  train loss 2.9874  val loss 2.1022  val balanced_accuracy 0.4531  1,847 img/s  12.3 s``
    """
    width = len(str(epochs))
    parts = [f"epoch {record['epoch']:>{width}}/{epochs}"]
    for key in ("train_loss", "val_loss", f"val_{monitor}"):
        if isinstance(record.get(key), (int, float)):
            parts.append(f"{key.replace('_', ' ', 1)} {record[key]:.4f}")
    if "images_per_s" in record:
        parts.append(f"{record['images_per_s']:>7,.0f} img/s")
    if "train_seconds" in record:
        parts.append(f"{record['train_seconds']:6.1f} s")
    return "  ".join(parts)


class NonFiniteLoss(Exception):
    def __init__(self, epoch: int, step: int, value: float) -> None:
        super().__init__(f"loss became {value} at epoch {epoch}, step {step}")
        self.epoch, self.step, self.value = epoch, step, value


def make_loader(dataset: Any, batch_size: int, sampler: Any = None, shuffle_seed: int | None = None,
                workers: int = 0, drop_last: bool = False) -> Any:
    """A DataLoader whose order depends only on (seed, epoch): resumable and identical across runs."""
    from torch.utils.data import DataLoader

    from artstyle.data.sampler import SeededShuffle

    if sampler is None and shuffle_seed is not None:
        sampler = SeededShuffle(len(dataset), shuffle_seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      drop_last=drop_last and len(dataset) > batch_size, persistent_workers=False,
                      pin_memory=torch.cuda.is_available())


def _adamw(params: list[torch.nn.Parameter], settings: TrainSettings) -> torch.optim.Optimizer:
    """AdamW with weight decay on weights only (not on biases and norms)."""
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr)


def _track_best(info: dict[str, Any], score: float | None, sign: float, epoch: int) -> bool:
    """Record ``epoch``'s monitored ``score`` in ``info``; True when it is the best so far."""
    improved = score is not None and (info["best"] is None or sign * score > sign * info["best"])
    if improved:
        info.update(best=score, best_epoch=epoch, bad_epochs=0)
    else:
        info["bad_epochs"] += 1
    info["epoch"] = epoch
    return improved


def _stop_reason(info: dict[str, Any], settings: TrainSettings, monitor: str, out_of_time: bool) -> str | None:
    """Why training stops after this epoch (time budget, patience), or None."""
    if out_of_time:
        return f"time budget of {settings.time_budget:.0f} s reached"
    if settings.patience and info["bad_epochs"] >= settings.patience:
        return f"early stop: no {monitor} improvement for {settings.patience} epochs"
    return None


def _non_finite_error(exc: NonFiniteLoss, accelerator: Any, run_dir: Path, epoch: int, saved: bool) -> ArtstyleError:
    """Log a non-finite loss in metrics.jsonl; the error that stops training and says what was kept."""
    if accelerator.is_main_process:
        append_jsonl(run_dir / "metrics.jsonl", {"epoch": epoch, "event": "non-finite loss", "detail": str(exc)})
    kept = "the last good checkpoint is last.safetensors" if saved else "no checkpoint was saved yet"
    return ArtstyleError(f"training stopped: {exc}; {kept} in {run_dir}. Lower --lr or check the data")


def _unwrap(accelerator: Any, model: torch.nn.Module) -> torch.nn.Module:
    """The plain module under DDP and under a compile that an accelerate config may add (its state-dict keys have no
    ``_orig_mod.`` prefix, so checkpoints load into a plain model)."""
    try:
        return accelerator.unwrap_model(model, keep_torch_compile=False)
    except TypeError:  # accelerate before keep_torch_compile always unwrapped compiled models
        return accelerator.unwrap_model(model)


def _loaders(train_ds: Any, val_ds: Any, settings: TrainSettings, sampler: Any) -> tuple[Any, Any]:
    """The training loader (seeded order, full batches) and the validation loader (None without ``val_ds``)."""
    train_loader = make_loader(train_ds, settings.batch_size, sampler=sampler,
                               shuffle_seed=None if sampler is not None else settings.seed,
                               workers=settings.workers, drop_last=True)
    val_loader = make_loader(val_ds, settings.batch_size * 2, workers=settings.workers) if val_ds is not None else None
    return train_loader, val_loader


def _training_forward(model: torch.nn.Module, unwrapped: torch.nn.Module, settings: TrainSettings, steps: int,
                      accelerator: Any) -> tuple[torch.nn.Module, bool, str]:
    """The module the training steps call (compiled or ``model`` itself), whether it is compiled, and why."""
    compile_now, why = compile_decision(unwrapped, settings.compile, steps, settings.time_budget)
    if compile_now and settings.progress and accelerator.is_main_process:
        print(f"compiling the training step ({why}); the first steps take 30-60 s longer", flush=True)
    return (compiled(model) if compile_now else model), compile_now, why


def fit(model: torch.nn.Module, task: Task, train_ds: Any, val_ds: Any, run_dir: Path, settings: TrainSettings,
        sampler: Any = None, resume: bool = False, params: list[torch.nn.Parameter] | None = None,
        on_epoch_end: Callable[[torch.nn.Module, int, dict], None] | None = None,
        metadata: dict[str, str] | None = None, best_name: str = "best",
        deadline: float | None = None) -> dict[str, Any]:
    """Train ``model`` on ``train_ds``, evaluating on ``val_ds`` each epoch. Returns a summary dict.

    ``deadline`` (a ``time.perf_counter()`` value, from :func:`budget_deadline`) stops training when the
    command's ``--time-budget`` is spent; without it the budget counts from this call.
    Writes into ``run_dir``: ``metrics.jsonl`` (one line per epoch), ``<best_name>.safetensors`` (best
    weights by ``task.monitor``, or the latest epoch's for a task whose ``keep`` is ``"last"``),
    ``last.safetensors`` plus ``last_state.*`` (for ``resume=True``).
    ``params`` limits which parameters train (e.g. the head only); the rest stay frozen.
    """
    set_threads(settings.threads)
    accelerator = make_accelerator(settings.precision)
    seed_everything(settings.seed)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    params = params if params is not None else [p for p in model.parameters() if p.requires_grad]
    train_loader, val_loader = _loaders(train_ds, val_ds, settings, sampler)
    order = train_loader.sampler
    optimizer = _adamw(params, settings)
    model, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)
    if val_loader is not None:
        val_loader = accelerator.prepare(val_loader)
    steps_per_epoch = len(train_loader) if settings.max_steps_per_epoch <= 0 else min(len(train_loader), settings.max_steps_per_epoch)
    total = max(1, steps_per_epoch * settings.epochs)
    if deadline is None:
        deadline = budget_deadline(settings.time_budget, time.perf_counter())
    scheduler = cosine_with_warmup(optimizer, int(settings.warmup_epochs * steps_per_epoch), total, deadline)
    sign = 1.0 if task.mode == "max" else -1.0
    keep_last = getattr(task, "keep", "best") == "last"
    info = {"epoch": 0, "best": None, "best_epoch": None, "bad_epochs": 0}
    unwrapped = _unwrap(accelerator, model)
    train_model, compile_now, why = _training_forward(model, unwrapped, settings, total, accelerator)
    if resume:
        info = resume_state(run_dir, unwrapped, optimizer, scheduler, accelerator)
    # A run that stopped early (patience, time budget) and is resumed stays stopped: resuming finishes runs,
    # it does not extend them.
    stopped = info.get("stopped") or "completed"
    first = settings.epochs + 1 if info.get("stopped") else info["epoch"] + 1
    for epoch in range(first, settings.epochs + 1):
        # Accelerate's loader sets its sampler's epoch from its own iteration counter at every __iter__,
        # so the epoch is set through the loader: data order then depends on (seed, epoch), also after resume.
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(epoch)
        elif hasattr(order, "set_epoch"):
            order.set_epoch(epoch)
        try:
            logs = train_one_epoch(train_model, task, train_loader, optimizer, scheduler, accelerator, epoch, settings, params,
                                   deadline)
        except (compile_errors() if compile_now else ()) as exc:
            raise ArtstyleError(f"compiling the training step failed ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}); rerun with --compile off") from exc
        except NonFiniteLoss as exc:
            raise _non_finite_error(exc, accelerator, run_dir, epoch, bool(info["epoch"])) from None
        metrics = task.evaluate(model, val_loader, accelerator) if val_loader is not None else {}
        record = {"epoch": epoch, **logs, **{f"val_{k}": v for k, v in metrics.items()}}
        improved = _track_best(info, metrics.get(task.monitor), sign, epoch) or keep_last
        stop = _stop_reason(info, settings, task.monitor, past_deadline(deadline, accelerator))
        if stop and epoch < settings.epochs:
            info["stopped"] = stop
        if accelerator.is_main_process:
            append_jsonl(run_dir / "metrics.jsonl", record)
            if improved or val_loader is None:
                save_safetensors(run_dir / f"{best_name}.safetensors", unwrapped.state_dict(), metadata)
            save_state(run_dir, unwrapped, optimizer, scheduler, info)
            if on_epoch_end is not None:
                on_epoch_end(unwrapped, epoch, record)
            if settings.progress:
                print(epoch_line(record, settings.epochs, task.monitor), flush=True)
        accelerator.wait_for_everyone()
        if stop:
            stopped = stop
            break
    if accelerator.is_main_process and not (run_dir / f"{best_name}.safetensors").exists():
        save_safetensors(run_dir / f"{best_name}.safetensors", unwrapped.state_dict(), metadata)
    accelerator.wait_for_everyone()
    # "weights" (not "keep"): the key that runs have written since before the task attribute was renamed
    return {"best": info["best"], "best_epoch": info["best_epoch"], "epochs_run": info["epoch"], "stopped": stopped,
            "monitor": task.monitor, "weights": "last" if keep_last else "best", "compiled": compile_now,
            "compile": why, "precision": {"no": "fp32"}.get(accelerator.mixed_precision, accelerator.mixed_precision),
            "is_main_process": accelerator.is_main_process}  # precision: what --precision auto resolved to here
