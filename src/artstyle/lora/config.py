"""The LoRA stage's settings, importable without torch (the CLI builds ``--help`` from them).

Usage::

    cfg = load_config(LoraTrainConfig, toml="lora.toml", overrides={"max_steps": 1000})
    saved = saved_settings(read_json(run / "config.json")["config"])   # also reads runs saved before --precision

``--mixed-precision`` is the deprecated name of ``--precision`` (its ``no`` is ``fp32``): it still works, from
the CLI and from TOML, with a one-line warning on stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from artstyle.config import opt
from artstyle.constants import DATA_HELP
from artstyle.errors import ArtstyleError
from artstyle.settings import PRECISIONS

WEIGHTS_NAME = "pytorch_lora_weights.safetensors"
DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEFAULT_TEMPLATE = "a painting in the style of {style}[, {genre}][, by {artist}]"
LR_SCHEDULERS = ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial")
# Settings a resumed run must share with its checkpoint: they define the shapes or the precision of the saved state.
LOCKED_ON_RESUME = ("pretrained", "revision", "variant", "rank", "lora_alpha", "target_modules", "train_text_encoder",
                    "text_encoder_target_modules", "precision")
# --mixed-precision's values (it had "no" where --precision has "fp32") and what they mean now.
_OLD_PRECISIONS = {"auto": "auto", "no": "fp32", "fp32": "fp32", "fp16": "fp16", "bf16": "bf16"}


@dataclass
class LoraTrainConfig:
    pretrained: str = opt(DEFAULT_MODEL, "Base model: a Hugging Face hub id (must be in the local HF cache when "
                          "offline) or a local diffusers folder with model_index.json. SD 1.x/2.x class models.")
    revision: str = opt("", "Hub revision (branch, tag or commit) of --pretrained.")
    variant: str = opt("", "Weights variant of --pretrained, e.g. fp16 (loads model.fp16.safetensors).")
    data: str = opt("builtin", DATA_HELP)
    label_column: str = opt("style", "Label column for Hugging Face sources: the classes the LoRA learns.")
    split: str = opt("train", "Images to train on.", choices=("train", "train+val", "all"))
    styles: list[str] = opt([], "Train on these styles only (comma-separated names or aliases; default: all).")
    prompt_template: str = opt(DEFAULT_TEMPLATE, "Prompt per image; fields {style} (display name), {genre}, "
                               "{artist}. A [bracketed part] is dropped when a field in it is unknown.")
    resolution: int = opt(512, "Training resolution in pixels (square; SD 1.5: 512). Divisible by 8.")
    crop: str = opt("center", "center: the centre square of each image; random: a square as tall (or wide) as the "
                    "image, anywhere in it, drawn again each epoch (from a cache that holds the whole image squashed "
                    "to a square 12.5% larger than --resolution).", choices=("center", "random"))
    flip: bool = opt(True, "Random horizontal flips (drawn per image and epoch from --seed).")
    cache_latents: str = opt("auto", "Encode every image with the VAE once (both flips) and every prompt with the "
                             "text encoder once, into safetensors shards reused by later runs; auto = on when they "
                             "fit --latent-cache-gb and the disk (and --crop center).", choices=("auto", "on", "off"))
    latent_cache_gb: float = opt(32.0, "Disk budget of --cache-latents auto, in GB.")
    batch_size: int = opt(1, "Images per GPU per forward pass.")
    gradient_accumulation: int = opt(4, "Forward passes per optimizer step (effective batch = batch x this x GPUs).")
    learning_rate: float = opt(1e-4, "AdamW learning rate of the LoRA weights.")
    lr_scheduler: str = opt("constant", "Learning-rate schedule (diffusers.optimization.get_scheduler).",
                            choices=LR_SCHEDULERS)
    lr_warmup_steps: int = opt(0, "Warm-up optimizer steps of the schedule.")
    adam_weight_decay: float = opt(1e-2, "AdamW weight decay.")
    max_grad_norm: float = opt(1.0, "Gradient-norm clip.")
    max_steps: int = opt(15000, "Optimizer steps in total; 0 = train for --epochs instead.")
    epochs: int = opt(1, "Passes over the data when --max-steps is 0.")
    seed: int = opt(0, "Seed for LoRA initialisation, data order, noise and validation images.")
    precision: str = opt("auto", "Precision of the frozen base model: fp16/bf16 halve its memory (LoRA weights "
                         "stay fp32). auto = fp16 on a CUDA GPU (or what `accelerate launch` sets), fp32 on CPU.",
                         choices=PRECISIONS)
    mixed_precision: str = opt("", "Deprecated name of --precision (auto, no, fp16 or bf16; no = fp32).")
    gradient_checkpointing: bool = opt(False, "Recompute activations in the backward pass: less memory, more compute.")
    use_8bit_adam: bool = opt(False, "bitsandbytes 8-bit AdamW (CUDA; pip install bitsandbytes).")
    snr_gamma: float = opt(0.0, "Min-SNR loss weighting gamma (Hang et al. 2023; 5 is the paper's value); 0 = off.")
    noise_offset: float = opt(0.0, "Offset noise scale (per image and channel; 0.05-0.1 helps very dark or light "
                              "images); 0 = off.")
    prediction_type: str = opt("", "What the UNet learns to predict: epsilon or v_prediction (default: the base "
                               "model scheduler's own).", choices=("", "epsilon", "v_prediction"))
    rank: int = opt(4, "LoRA rank r (adapter size; 4-16 is typical).")
    lora_alpha: int = opt(0, "LoRA alpha (update scale = alpha / rank); 0 = same as --rank.")
    target_modules: list[str] = opt(["to_k", "to_q", "to_v", "to_out.0"], "UNet modules that get LoRA adapters.")
    train_text_encoder: bool = opt(False, "Also add LoRA adapters to the CLIP text encoder.")
    text_encoder_target_modules: list[str] = opt(["q_proj", "k_proj", "v_proj", "out_proj"],
                                                 "Text-encoder modules that get LoRA adapters (--train-text-encoder).")
    checkpoint_every: int = opt(500, "Save a resumable checkpoint every N optimizer steps; 0 = never.")
    keep_checkpoints: int = opt(3, "Keep at most this many checkpoints (the oldest are deleted); 0 = keep all.")
    resume: str = opt("", "Continue a run: its directory (latest checkpoint) or one checkpoint-<step> folder (with "
                      "--overwrite when newer ones exist). Its config.json supplies every setting you do not pass.")
    validate_every: int = opt(500, "Paint validation images every N optimizer steps (and at the end); 0 = never.")
    validation_styles: list[str] = opt([], "Styles in the validation grid (default: up to 4 spread over the list).")
    validation_images: int = opt(2, "Validation images per style.")
    validation_genre: str = opt("", "Genre for the validation prompts' {genre} (default: none, its [part] is dropped).")
    validation_artist: str = opt("", "Artist for the validation prompts' {artist} (default: none).")
    validation_inference_steps: int = opt(25, "Denoising steps for validation images.")
    log_every: int = opt(10, "Append a metrics.jsonl line every N optimizer steps (mean loss over them).")
    workers: int = opt(2, "Data-loader worker processes.")
    name: str = opt("", "Run name (default: lora-r<rank>).")
    out: str = opt("", "Explicit run directory (default: runs/lora/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to be an existing, non-empty directory (its old run files are "
                          "deleted); with --resume CHECKPOINT, delete the newer checkpoints.")
    progress: bool = opt(True, "Show progress bars.")

    def __post_init__(self) -> None:
        # The deprecated alias is folded into --precision at once, so nothing downstream ever reads it.
        if self.mixed_precision:
            self.precision = _from_mixed_precision(self.mixed_precision, self.precision)
            self.mixed_precision = ""


@dataclass
class LoraGenerateConfig:
    run: str = opt("", "A lora run directory (with pytorch_lora_weights.safetensors).", positional=True)
    styles: list[str] = opt(["all"], "Comma-separated styles (names or aliases), or 'all'.")
    n: int = opt(4, "Images per style.")
    seed: int = opt(0, "Image i of every style uses seed + i (the same seeds with and without the LoRA).")
    steps: int = opt(30, "Denoising steps (DPM-Solver++).")
    guidance: float = opt(7.5, "Classifier-free guidance scale.")
    prompt: str = opt("", "Prompt template with {style} (default: the run's training template).")
    genre: str = opt("", "Genre for the template's {genre} (default: none, its [part] is dropped).")
    artist: str = opt("", "Artist for the template's {artist} (default: none, its [part] is dropped).")
    negative_prompt: str = opt("", "Negative prompt.")
    lora_scale: float = opt(1.0, "Strength of the LoRA (0 = base model, 1 = as trained).")
    compare: bool = opt(False, "Also paint with the base model alone, same seeds: <Style>-compare.png has both rows.")
    pretrained: str = opt("", "Base model (default: the one named in the run's config.json).")
    resolution: int = opt(0, "Image size in pixels (default: the run's training resolution).")
    batch: int = opt(4, "Images per pipeline call (lower it when GPU memory is short).")
    device: str = opt("auto", "cuda, cpu, mps, or auto (cuda when available).")
    out: str = opt("", "Output folder (default: RUN/figures/generate/).")
    progress: bool = opt(True, "Show progress bars.")


def _from_mixed_precision(value: str, precision: str) -> str:
    """``--precision`` for a ``--mixed-precision`` value, with the one-line deprecation warning."""
    new = _OLD_PRECISIONS.get(value)
    if new is None:
        raise ArtstyleError(f"--mixed-precision {value!r} is not one of: auto, no, fp16, bf16 (use --precision)")
    if precision not in ("auto", new):
        raise ArtstyleError(f"--mixed-precision {value} contradicts --precision {precision}; give --precision only")
    print(f"warning: --mixed-precision (mixed_precision) is deprecated; use --precision {new}", file=sys.stderr)
    return new


def saved_settings(saved: dict[str, Any]) -> dict[str, Any]:
    """A run's saved ``config`` in today's names: runs saved before ``--precision`` hold ``mixed_precision``."""
    saved = dict(saved)
    old = saved.pop("mixed_precision", None)
    if old and "precision" not in saved:
        saved["precision"] = _OLD_PRECISIONS.get(old, old)
    return saved


__all__ = ["LoraTrainConfig", "LoraGenerateConfig", "saved_settings", "WEIGHTS_NAME", "DEFAULT_MODEL",
           "DEFAULT_TEMPLATE", "LR_SCHEDULERS", "LOCKED_ON_RESUME"]
