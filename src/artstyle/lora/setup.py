"""Setting up a LoRA training run: checks, the Accelerator, the frozen base model with adapters, the optimizer.

Usage::

    bnb = check_settings(cfg)                       # user errors before any model is loaded
    accelerator = make_lora_accelerator(cfg)
    model = build_model(cfg, accelerator)           # frozen SD parts, LoRA adapters, trainable params
    optimizer = make_optimizer(cfg, model.params, bnb)

As in diffusers' ``train_text_to_image_lora.py``: the base model is frozen and cast to the precision's dtype,
peft LoRA adapters go on the UNet attention projections (optionally the CLIP text encoder) and stay fp32.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from artstyle.engine import reset_accelerate_state, resolve_precision
from artstyle.errors import ArtstyleError
from artstyle.lora.base_model import load_base_model
from artstyle.lora.config import LoraTrainConfig
from artstyle.lora.prompts import check_template


def check_settings(cfg: LoraTrainConfig) -> Any:
    """Reject bad settings before any model is loaded; return bitsandbytes for ``--use-8bit-adam`` (else None)."""
    check_template(cfg.prompt_template)
    if cfg.resolution % 8 or cfg.resolution < 8:
        raise ArtstyleError(f"--resolution {cfg.resolution}: use a multiple of 8 (512 for SD 1.5)")
    for flag, value in (("--batch-size", cfg.batch_size), ("--gradient-accumulation", cfg.gradient_accumulation),
                        ("--rank", cfg.rank), ("--log-every", cfg.log_every)):
        if value < 1:
            raise ArtstyleError(f"{flag} must be at least 1 (got {value})")
    if cfg.max_steps <= 0 and cfg.epochs <= 0:
        raise ArtstyleError("--max-steps 0 trains for --epochs, so --epochs must be at least 1")
    if not cfg.use_8bit_adam:
        return None
    try:
        import bitsandbytes as bnb
    except ImportError:
        raise ArtstyleError("--use-8bit-adam needs bitsandbytes (CUDA only): pip install bitsandbytes") from None
    return bnb


def accelerator_precision(precision: str) -> str | None:
    """The Accelerator's ``mixed_precision`` for ``--precision`` (None = let `accelerate launch`/config decide).

    LoRA's ``auto`` keeps its own rule, not the engine's (which picks bf16 where the hardware has it): whatever
    ``accelerate launch --mixed_precision`` / ``accelerate config`` chose (passed on in
    ``ACCELERATE_MIXED_PRECISION``), else fp16 on CUDA and fp32 on the CPU.
    """
    if precision == "auto":
        if os.environ.get("ACCELERATE_MIXED_PRECISION"):
            return None
        return "fp16" if torch.cuda.is_available() else "no"
    mixed = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[resolve_precision(precision)]
    if mixed == "fp16" and not torch.cuda.is_available():
        raise ArtstyleError("--precision fp16 needs a CUDA GPU; use bf16 or fp32 on this machine")
    return mixed


def make_lora_accelerator(cfg: LoraTrainConfig) -> Any:
    """A fresh Accelerator with ``--gradient-accumulation`` and the precision of ``--precision``."""
    from accelerate import Accelerator

    precision = accelerator_precision(cfg.precision)
    reset_accelerate_state()
    try:
        # cpu=True without CUDA, as in artstyle.engine: otherwise torchrun's WORLD_SIZE is ignored on CPU machines.
        return Accelerator(gradient_accumulation_steps=cfg.gradient_accumulation, mixed_precision=precision,
                           cpu=not torch.cuda.is_available())
    except ValueError as exc:  # e.g. bf16 on hardware without support
        raise ArtstyleError(f"--precision {cfg.precision}: {exc}") from exc


@dataclass
class Model:
    """The base model's parts during training; ``unet`` (and with ``--train-text-encoder`` the text encoder) carry
    the LoRA adapters, whose weights are ``params``."""

    tokenizer: Any
    text_encoder: Any
    vae: Any
    unet: Any
    noise_scheduler: Any
    weight_dtype: torch.dtype
    params: list[torch.nn.Parameter]


def _add_adapters(cfg: LoraTrainConfig, unet: Any, text_encoder: Any) -> None:
    """LoRA adapters (A gaussian, B zero: the adapted model starts exactly as the base model)."""
    from peft import LoraConfig, inject_adapter_in_model

    try:
        unet.add_adapter(LoraConfig(r=cfg.rank, lora_alpha=cfg.lora_alpha or cfg.rank, init_lora_weights="gaussian",
                                    target_modules=list(cfg.target_modules)))
    except ValueError as exc:  # peft: "Target modules ... not found in the base model"
        raise ArtstyleError(f"--target-modules {','.join(cfg.target_modules)}: {str(exc).splitlines()[0][:200]}") from exc
    if cfg.train_text_encoder:
        # peft directly, not transformers' add_adapter: that one refuses peft versions older than it expects.
        try:
            inject_adapter_in_model(LoraConfig(r=cfg.rank, lora_alpha=cfg.lora_alpha or cfg.rank,
                                               init_lora_weights="gaussian",
                                               target_modules=list(cfg.text_encoder_target_modules)),
                                    text_encoder, adapter_name="default")
        except ValueError as exc:
            raise ArtstyleError(f"--text-encoder-target-modules {','.join(cfg.text_encoder_target_modules)}: "
                                f"{str(exc).splitlines()[0][:200]}") from exc


def build_model(cfg: LoraTrainConfig, accelerator: Any) -> Model:
    """The frozen base model on the device, cast to the precision's dtype (it is only run forward), with adapters."""
    from diffusers.training_utils import cast_training_params

    parts = load_base_model(cfg.pretrained, cfg.revision, cfg.variant)
    text_encoder, vae, unet = parts["text_encoder"], parts["vae"], parts["unet"]
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)
    for m in (unet, vae, text_encoder):
        m.requires_grad_(False)
        m.to(accelerator.device)
        if weight_dtype != torch.float32:
            m.to(dtype=weight_dtype)
    _add_adapters(cfg, unet, text_encoder)
    if cfg.prediction_type:  # the target the UNet learns; validation and `lora generate` read it from the config
        parts["noise_scheduler"].register_to_config(prediction_type=cfg.prediction_type)
    trained = [unet] + ([text_encoder] if cfg.train_text_encoder else [])
    if accelerator.mixed_precision in ("fp16", "bf16"):
        # fp32 LoRA weights: GradScaler refuses fp16 gradients ("Attempting to unscale FP16 gradients"), and
        # bf16 weights would round small updates away.
        cast_training_params(trained, dtype=torch.float32)
    if cfg.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
        if cfg.train_text_encoder:  # transformers 5 renamed the method; older releases have only the old name
            enable = getattr(text_encoder, "activation_checkpointing_enable", None)
            (enable or text_encoder.gradient_checkpointing_enable)()
    params = [p for m in trained for p in m.parameters() if p.requires_grad]
    if not params:
        raise ArtstyleError(f"--target-modules {','.join(cfg.target_modules)} matched no layer of the UNet")
    return Model(parts["tokenizer"], text_encoder, vae, unet, parts["noise_scheduler"], weight_dtype, params)


def make_optimizer(cfg: LoraTrainConfig, params: list[torch.nn.Parameter], bnb: Any = None) -> torch.optim.Optimizer:
    """AdamW over the LoRA weights (bitsandbytes' 8-bit AdamW when ``bnb`` is given)."""
    if bnb is not None:
        return bnb.optim.AdamW8bit(params, lr=cfg.learning_rate, weight_decay=cfg.adam_weight_decay)
    return torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.adam_weight_decay)


__all__ = ["check_settings", "accelerator_precision", "make_lora_accelerator", "reset_accelerate_state", "Model",
           "build_model", "make_optimizer"]
