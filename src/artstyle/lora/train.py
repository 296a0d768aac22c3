"""LoRA fine-tuning of a pretrained Stable-Diffusion-class model on the styles of a dataset.

Usage::

    run = train_lora(LoraTrainConfig(pretrained="path/to/sd15", data="builtin:0.1", max_steps=1000))

The loop follows diffusers' ``examples/text_to_image/train_text_to_image_lora.py``: the UNet learns to predict
the noise added to VAE latents (or v), conditioned on a per-style prompt such as ``"a painting in the style of
Post-Impressionism"``, and only its LoRA adapters (optionally the text encoder's too) are trained. A run
directory holds:

- ``config.json``: ``{"stage": "lora", "command", "argv", "config": <resolved LoraTrainConfig>, "data"
  (with ``latent_cache``: where, used, why), "training" (steps, precision, prediction type), "versions"}``;
- ``classes.json``: the styles trained, with display names and image counts;
- ``metrics.jsonl``: ``{"step", "loss", "lr", "epoch", "seconds"}`` every ``--log-every`` optimizer steps;
- ``pytorch_lora_weights.safetensors``: diffusers-format LoRA weights (``pipe.load_lora_weights(run)``);
- ``README.md``: a model card; ``figures/validation-<step>.png``: validation grids;
- ``checkpoint-<step>/``: resumable Accelerate states (LoRA weights, optimizer, scheduler, RNG), at most
  ``--keep-checkpoints`` of them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.errors import ArtstyleError
from artstyle.lora.card import write_model_card
from artstyle.lora.checkpoints import (fresh_run_dir, register_checkpoint_hooks, restore_checkpoint, resume_target,
                                       save_checkpoint)
from artstyle.lora.config import WEIGHTS_NAME, LoraTrainConfig
from artstyle.lora.data import TrainingData, load_training_data
from artstyle.lora.generation import paint, prompt_grid
from artstyle.lora.prompts import render_prompt, select_styles
from artstyle.lora.setup import (Model, build_model, check_settings, make_lora_accelerator, make_optimizer,
                                 reset_accelerate_state)
from artstyle.lora.weights import save_lora


def train_lora(cfg: LoraTrainConfig) -> Path:
    """Fine-tune LoRA adapters on ``cfg.data``'s styles and return the run directory (see the module docstring).

    Runs unchanged under ``accelerate launch`` (one process per GPU); only the main process writes files.
    """
    try:
        return _train_lora(cfg)
    finally:
        reset_accelerate_state()


@dataclass
class _Session:
    """One training run in progress: what every step, checkpoint and validation grid needs."""

    cfg: LoraTrainConfig
    accelerator: Any
    model: Model
    data: TrainingData
    optimizer: Any
    lr_scheduler: Any
    max_steps: int
    steps_per_epoch: int
    num_epochs: int
    run: Path = Path()
    info: dict[str, Any] = field(default_factory=dict)
    validation_styles: list[str] = field(default_factory=list)

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process


def _train_lora(cfg: LoraTrainConfig) -> Path:
    from accelerate.utils import set_seed

    from artstyle.dist import shared_run_dir
    from artstyle.engine import set_threads

    cfg, run, checkpoint = resume_target(cfg)
    bnb = check_settings(cfg)
    set_threads(0)  # ARTSTYLE_THREADS (artstyle --threads N): on shared CPUs, oversubscribed threads are ~50x slower
    accelerator = make_lora_accelerator(cfg)
    # Per-process seeds: each GPU draws its own noise and timesteps (DDP copies rank 0's LoRA initialisation).
    set_seed(cfg.seed, device_specific=True)

    # 1-2. The frozen base model with LoRA adapters; 3. checkpoints that hold only the LoRA weights.
    model = build_model(cfg, accelerator)
    register_checkpoint_hooks(accelerator, model.unet, model.text_encoder)
    optimizer = make_optimizer(cfg, model.params, bnb)
    # 4. Data: the decode-once cache, one tokenized prompt per image, with --cache-latents their VAE latents and
    #    prompt embeddings (encoded once); the schedule; Accelerate's wrappers.
    data = load_training_data(cfg, accelerator, model)
    s = _prepare(cfg, accelerator, model, optimizer, data)
    # 5. The run directory (shared by all processes) and its descriptive files.
    s.run = run if run is not None else shared_run_dir(lambda: fresh_run_dir(cfg))
    s.validation_styles = _validation_styles(cfg, data.styles)
    _describe_run(s)

    # 6. Resume: LoRA weights, optimizer, scheduler, scaler and RNG from the checkpoint; the step count continues.
    global_step = 0
    if checkpoint is not None:
        global_step = restore_checkpoint(accelerator, s.run, checkpoint)
        accelerator.print(f"resuming {s.run} from {checkpoint.name} (step {global_step} of {s.max_steps})")
    elif cfg.resume:
        accelerator.print(f"--resume {cfg.resume}: no checkpoint yet, starting {s.run} from step 0")
    accelerator.print(f"LoRA r={cfg.rank} on {cfg.pretrained}: {len(data.rows):,} images, {len(data.styles)} styles"
                      f"{' (SYNTHETIC built-in data)' if data.cache.synthetic else ''}, {s.max_steps} steps, effective "
                      f"batch {cfg.batch_size * cfg.gradient_accumulation * accelerator.num_processes}, precision "
                      f"{accelerator.mixed_precision}, latent cache "
                      f"{'on' if data.latent_cache['used'] else 'off'} ({data.latent_cache['reason']}) -> {s.run}")
    global_step = _train_loop(s, global_step)
    # 7. Final weights (fp32 LoRA tensors), a last validation grid, and the model card.
    _finish(s, global_step)
    return s.run


def step_counts(batches: int, processes: int, accumulation: int, max_steps: int, epochs: int) -> tuple[int, int, int]:
    """``(max_steps, steps_per_epoch, num_epochs)`` from the unsharded loader's ``batches``.

    Both counts use the per-process length, ``ceil(batches / processes)`` (Accelerate's even shards), as
    diffusers does: ``--max-steps 0`` then means ``--epochs`` passes on any number of processes.

    >>> step_counts(12, 2, 2, 0, 1)   # 12 batches over 2 processes: 6 each, 3 optimizer steps per epoch
    (3, 3, 1)
    """
    per_process = math.ceil(batches / processes)
    steps_per_epoch = max(1, math.ceil(per_process / accumulation))
    max_steps = max_steps or epochs * steps_per_epoch
    return max_steps, steps_per_epoch, math.ceil(max_steps / steps_per_epoch)


def _prepare(cfg: LoraTrainConfig, accelerator: Any, model: Model, optimizer: Any, data: TrainingData) -> _Session:
    """The learning-rate schedule and step counts; the UNet, optimizer, loader and schedule wrapped by Accelerate."""
    from diffusers.optimization import get_scheduler

    n = accelerator.num_processes
    max_steps, steps_per_epoch, num_epochs = step_counts(len(data.loader), n, cfg.gradient_accumulation,
                                                         cfg.max_steps, cfg.epochs)
    # The prepared scheduler steps once per process per optimizer step, hence the factors (as diffusers does).
    lr_scheduler = get_scheduler(cfg.lr_scheduler, optimizer=optimizer, num_warmup_steps=cfg.lr_warmup_steps * n,
                                 num_training_steps=max_steps * n)
    if cfg.train_text_encoder:
        model.unet, model.text_encoder, optimizer, data.loader, lr_scheduler = accelerator.prepare(
            model.unet, model.text_encoder, optimizer, data.loader, lr_scheduler)
    else:
        model.unet, optimizer, data.loader, lr_scheduler = accelerator.prepare(model.unet, optimizer, data.loader,
                                                                               lr_scheduler)
    if math.ceil(len(data.loader) / cfg.gradient_accumulation) != steps_per_epoch:
        raise ArtstyleError(f"internal: {len(data.loader)} batches per process after sharding do not make the "
                            f"{steps_per_epoch} steps per epoch counted before; please report this")
    return _Session(cfg, accelerator, model, data, optimizer, lr_scheduler, max_steps, steps_per_epoch, num_epochs)


def _describe_run(s: _Session) -> None:
    """``s.info`` for the model card; the main process writes ``config.json`` and ``classes.json``."""
    from artstyle.config import command_line, config_dict
    from artstyle.runs import write_config, write_json
    from artstyle.styles import display_name

    cfg, acc, data = s.cfg, s.accelerator, s.data
    s.info = {"classes": data.styles, "display_names": [display_name(x) for x in data.styles], "counts": data.counts(),
              "images": len(data.rows), "source": data.cache.source, "synthetic": data.cache.synthetic,
              "max_steps": s.max_steps, "processes": acc.num_processes, "mixed_precision": acc.mixed_precision,
              "prediction_type": s.model.noise_scheduler.config.prediction_type}
    if not s.main:
        return
    import diffusers
    import peft
    import transformers

    resolved = replace(cfg, resume="")
    # mixed_precision is only the deprecated spelling of precision, already folded into it.
    settings = {k: v for k, v in config_dict(resolved).items() if k != "mixed_precision"}
    write_config(s.run, "lora", command_line("artstyle lora train", resolved), {
        "config": settings,
        "data": {"source": data.cache.source, "synthetic": data.cache.synthetic, "cache": str(data.cache.root),
                 "images": len(data.rows), "example_prompts": data.prompts[:5], "latent_cache": data.latent_cache,
                 "validation_prompts": [_validation_prompt(cfg, v) for v in s.validation_styles]},
        "training": {"max_steps": s.max_steps, "steps_per_epoch": s.steps_per_epoch, "epochs": s.num_epochs,
                     "processes": acc.num_processes, "mixed_precision": acc.mixed_precision,
                     "prediction_type": s.info["prediction_type"],
                     "effective_batch": cfg.batch_size * cfg.gradient_accumulation * acc.num_processes},
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "peft": peft.__version__,
                     "transformers": transformers.__version__}})
    keys = ("classes", "display_names", "counts", "synthetic", "source")
    write_json(s.run / "classes.json", {k: s.info[k] for k in keys})


def _validation_prompt(cfg: LoraTrainConfig, style: str) -> str:
    return render_prompt(cfg.prompt_template, style, cfg.validation_genre or None, cfg.validation_artist or None)


def _validation_styles(cfg: LoraTrainConfig, styles: list[str]) -> list[str]:
    if cfg.validation_styles:
        return select_styles(cfg.validation_styles, styles, "--validation-styles")
    k = min(4, len(styles))
    return [styles[round(i * (len(styles) - 1) / max(1, k - 1))] for i in range(k)]


def _diffusion_loss(pred: torch.Tensor, target: torch.Tensor, noise_scheduler: Any, timesteps: torch.Tensor,
                    snr_gamma: float) -> torch.Tensor:
    """MSE of the prediction against its target ``(B, 4, h, w)``; Min-SNR-gamma weighted when ``snr_gamma > 0``."""
    from diffusers.training_utils import compute_snr

    if snr_gamma <= 0:
        return F.mse_loss(pred.float(), target.float(), reduction="mean")
    # Min-SNR-gamma (arXiv:2303.09556, sec. 3.4), rewritten for epsilon/v targets as in diffusers.
    snr = compute_snr(noise_scheduler, timesteps)
    weights = torch.clamp(snr, max=snr_gamma)
    weights = weights / snr if noise_scheduler.config.prediction_type == "epsilon" else weights / (snr + 1)
    loss = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    return (loss * weights).mean()


def _latents_and_text(s: _Session, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(latents (B, C, h, w), hidden states (B, T, D))`` for a batch of pixels and token ids, or of cached
    VAE moments and prompt embeddings (``--cache-latents``): the same sample from the same posterior either way."""
    from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

    m = s.model
    if "moments" in batch:
        moments = batch["moments"].to(m.weight_dtype)
    else:
        moments = m.vae.encode(batch["pixel_values"].to(dtype=m.weight_dtype)).latent_dist.parameters
    latents = DiagonalGaussianDistribution(moments).sample() * m.vae.config.scaling_factor  # (B, 4, R/8, R/8) for SD
    if "prompt_embeds" in batch:
        return latents, batch["prompt_embeds"].to(m.weight_dtype)
    return latents, m.text_encoder(batch["input_ids"], return_dict=False)[0]


def _training_step(s: _Session, batch: dict[str, torch.Tensor]) -> float:
    """One forward and backward pass (an optimizer step when the accumulation window closes).

    ``batch``: ``pixel_values (B, 3, R, R)`` float in [-1, 1] or ``moments (B, 2C, h, w)``, and ``input_ids (B, T)``
    long or ``prompt_embeds (B, T, D)``. Returns this pass's loss averaged over every process's images.
    """
    cfg, acc, m = s.cfg, s.accelerator, s.model
    scheduler = m.noise_scheduler
    with acc.accumulate(*([m.unet, m.text_encoder] if cfg.train_text_encoder else [m.unet])):
        latents, hidden = _latents_and_text(s, batch)
        # Not randn_like: it follows the memory layout (the VAE's output may be channels-last, the cache's is not),
        # and the same seed must give the same noise with and without --cache-latents.
        noise = torch.randn(latents.shape, device=latents.device, dtype=latents.dtype)
        bsz = latents.shape[0]
        if cfg.noise_offset:  # https://www.crosslabs.org//blog/diffusion-with-offset-noise, as in diffusers
            noise += cfg.noise_offset * torch.randn((bsz, latents.shape[1], 1, 1), device=latents.device,
                                                    dtype=latents.dtype)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (bsz,), device=latents.device)
        noisy = scheduler.add_noise(latents, noise, timesteps)
        if scheduler.config.prediction_type == "epsilon":
            target = noise
        elif scheduler.config.prediction_type == "v_prediction":
            target = scheduler.get_velocity(latents, noise, timesteps)
        else:
            raise ArtstyleError(f"unsupported prediction type {scheduler.config.prediction_type!r}; pass "
                                "--prediction-type epsilon or v_prediction")
        pred = m.unet(noisy, timesteps, hidden, return_dict=False)[0]
        loss = _diffusion_loss(pred, target, scheduler, timesteps, cfg.snr_gamma)
        mean_loss = acc.gather(loss.detach().repeat(bsz)).mean().item()
        acc.backward(loss)
        if acc.sync_gradients:
            acc.clip_grad_norm_(m.params, cfg.max_grad_norm)
        s.optimizer.step()
        s.lr_scheduler.step()
        s.optimizer.zero_grad(set_to_none=True)
    return mean_loss


def _epoch_batches(s: _Session, epoch: int, global_step: int) -> Any:
    """The loader for ``epoch``, in the epoch's own order (``--seed + epoch``), without the batches that the
    optimizer steps before ``global_step`` already took (a resumed run continues where the checkpoint was)."""
    s.data.sampler.for_epoch(epoch)
    seen = (global_step - epoch * s.steps_per_epoch) * s.cfg.gradient_accumulation
    return s.accelerator.skip_first_batches(s.data.loader, seen) if seen > 0 else s.data.loader


def _train_loop(s: _Session, global_step: int) -> int:
    """Optimizer steps from ``global_step`` to ``s.max_steps``, with logs, checkpoints and validation grids."""
    from tqdm.auto import tqdm

    from artstyle.runs import append_jsonl

    cfg, acc = s.cfg, s.accelerator
    bar = tqdm(total=s.max_steps, initial=global_step, desc="lora", unit="step",
               disable=not (cfg.progress and acc.is_local_main_process))
    loss_sum, micro, window = 0.0, 0, []
    t0 = time.perf_counter()
    s.model.unet.train()
    if cfg.train_text_encoder:
        s.model.text_encoder.train()
    for epoch in range(global_step // s.steps_per_epoch, s.num_epochs):
        if global_step >= s.max_steps:
            break
        for batch in _epoch_batches(s, epoch, global_step):
            loss_sum += _training_step(s, batch)
            micro += 1
            if not acc.sync_gradients:
                continue
            global_step += 1
            step_loss, loss_sum, micro = loss_sum / max(1, micro), 0.0, 0  # mean over this step's forward passes
            if not math.isfinite(step_loss):
                raise ArtstyleError(f"the loss became {step_loss} at step {global_step}; lower --learning-rate or use "
                                    "--precision bf16/fp32, then --resume from the last checkpoint")
            window.append(step_loss)
            lr = s.lr_scheduler.get_last_lr()[0]
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{lr:.2e}")
            if s.main and (global_step % cfg.log_every == 0 or global_step == s.max_steps):
                append_jsonl(s.run / "metrics.jsonl", {"step": global_step, "loss": float(np.mean(window)), "lr": lr,
                                                       "epoch": epoch, "seconds": round(time.perf_counter() - t0, 2)})
                window = []
            if cfg.checkpoint_every and global_step % cfg.checkpoint_every == 0:
                save_checkpoint(acc, s.run, global_step, cfg.keep_checkpoints)
            if cfg.validate_every and global_step % cfg.validate_every == 0:
                _validate(s, global_step)
            if global_step >= s.max_steps:
                break
    bar.close()
    return global_step


def _validate(s: _Session, step: int) -> None:
    """Paint ``--validation-images`` per validation style with the LoRA as it is: ``figures/validation-<step>.png``."""
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    from artstyle.figures import save_png

    cfg, acc, m = s.cfg, s.accelerator, s.model
    if not s.main or not cfg.validate_every or cfg.validation_images < 1:
        return
    pipe = StableDiffusionPipeline(vae=m.vae, text_encoder=acc.unwrap_model(m.text_encoder), tokenizer=m.tokenizer,
                                   unet=acc.unwrap_model(m.unet), safety_checker=None, feature_extractor=None,
                                   scheduler=DPMSolverMultistepScheduler.from_config(m.noise_scheduler.config),
                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    m.unet.eval()
    rows = []
    with torch.no_grad(), acc.autocast():
        for style in s.validation_styles:
            prompt = _validation_prompt(cfg, style)
            rows.append((prompt, paint(pipe, prompt, cfg.validation_images, cfg.seed, cfg.validation_inference_steps,
                                       7.5, cfg.resolution)))
    m.unet.train()
    save_png(prompt_grid(rows, s.data.cache.synthetic), s.run / "figures" / f"validation-{step}.png")


def _finish(s: _Session, global_step: int) -> None:
    """The final LoRA weights, a last validation grid (unless one was just painted) and the model card."""
    cfg, acc, m = s.cfg, s.accelerator, s.model
    acc.wait_for_everyone()
    if s.main:
        save_lora(s.run, acc.unwrap_model(m.unet), acc.unwrap_model(m.text_encoder) if cfg.train_text_encoder else None)
        if cfg.validate_every and global_step % cfg.validate_every and global_step > 0:
            _validate(s, global_step)
        write_model_card(s.run, cfg, s.info, global_step)
        acc.print(f"LoRA weights: {s.run / WEIGHTS_NAME}")
    acc.wait_for_everyone()
    acc.end_training()


__all__ = ["train_lora"]
