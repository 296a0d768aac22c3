"""LoRA fine-tuning of a pretrained Stable-Diffusion-class text-to-image model on art styles, and painting with it.

Usage::

    artstyle lora train --pretrained stable-diffusion-v1-5/stable-diffusion-v1-5 --data /data/wikiart \\
        --precision fp16 --gradient-checkpointing
    artstyle lora generate runs/lora/<run> --styles Baroque,Ukiyo-e --n 4 --compare
    accelerate launch -m artstyle.cli lora train ...          # several GPUs: the same command

    from artstyle.lora import LoraTrainConfig, LoraGenerateConfig, train_lora, generate
    run = train_lora(LoraTrainConfig(pretrained="path/to/sd15", data="builtin:0.1", max_steps=1000))
    out = generate(LoraGenerateConfig(run=str(run), styles=["Baroque"]))

Where things are: ``config`` (settings, torch-free), ``prompts`` (templates, style names), ``base_model``
(loading SD), ``data`` (the image dataset and its seeded sampler), ``latents`` (``--cache-latents``: VAE
latents and prompt embeddings stored once), ``setup`` (Accelerator, adapters, optimizer), ``train`` (the loop),
``checkpoints`` (run directory, checkpoints, resume), ``weights`` (LoRA files in and out), ``card`` (the model
card), ``generation`` (painting with a trained LoRA). Importing this package does not import torch: the names
that need it are loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from artstyle.lora.config import DEFAULT_MODEL, DEFAULT_TEMPLATE, WEIGHTS_NAME, LoraGenerateConfig, LoraTrainConfig
from artstyle.lora.prompts import build_prompts, check_template, render_prompt, select_styles

# Public names whose modules import torch, diffusers or peft: name -> submodule.
_LAZY = {"train_lora": "train", "generate": "generation", "paint": "generation", "load_base_model": "base_model",
         "load_pipeline": "base_model", "save_lora": "weights", "load_lora_into": "weights",
         "load_lora_for_inference": "weights"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"artstyle.lora.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'artstyle.lora' has no attribute {name!r}")


__all__ = ["LoraTrainConfig", "LoraGenerateConfig", "DEFAULT_MODEL", "DEFAULT_TEMPLATE", "WEIGHTS_NAME",
           "render_prompt", "check_template", "select_styles", "build_prompts", *_LAZY]
