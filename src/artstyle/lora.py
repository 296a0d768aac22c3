"""LoRA fine-tuning of a pretrained Stable-Diffusion-class text-to-image model on art styles, and painting with it.

Usage::

    artstyle lora train --pretrained stable-diffusion-v1-5/stable-diffusion-v1-5 --data /data/wikiart \\
        --mixed-precision fp16 --gradient-checkpointing
    artstyle lora generate runs/lora/<run> --styles Baroque,Ukiyo-e --n 4 --compare
    accelerate launch -m artstyle.cli lora train ...          # several GPUs: the same command

    from artstyle.lora import LoraTrainConfig, LoraGenerateConfig, train_lora, generate
    run = train_lora(LoraTrainConfig(pretrained="path/to/sd15", data="builtin:0.1", max_steps=1000))
    out = generate(LoraGenerateConfig(run=str(run), styles=["Baroque"]))

The training loop follows diffusers' ``examples/text_to_image/train_text_to_image_lora.py``: the base model is
frozen (and cast to the mixed-precision dtype), LoRA adapters are added to the UNet attention projections with
peft (optionally also to the CLIP text encoder) and kept in fp32, and the UNet learns to predict the noise added
to VAE latents, conditioned on a per-style prompt such as ``"a painting in the style of Post-Impressionism"``.

A run directory holds:

- ``config.json``: ``{"config": <resolved LoraTrainConfig>, "data": {...}, "versions": {...}}``;
- ``classes.json``: the styles trained, with display names and image counts;
- ``metrics.jsonl``: ``{"step", "loss", "lr", "epoch"}`` every ``--log-every`` optimizer steps;
- ``pytorch_lora_weights.safetensors``: diffusers-format LoRA weights (``pipe.load_lora_weights(run)``);
- ``README.md``: a model card; ``figures/validation-<step>.png``: validation grids;
- ``checkpoint-<step>/``: resumable Accelerate states (LoRA weights, optimizer, scheduler, RNG), at most
  ``--keep-checkpoints`` of them.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import string
import time
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Sequence

from artstyle.config import config_dict, opt
from artstyle.constants import DATA_HELP
from artstyle.errors import ArtstyleError

WEIGHTS_NAME = "pytorch_lora_weights.safetensors"
DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEFAULT_TEMPLATE = "a painting in the style of {style}[, {genre}][, by {artist}]"
TEMPLATE_FIELDS = ("style", "genre", "artist")
LR_SCHEDULERS = ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial")
# Settings a resumed run must share with its checkpoint: they define the shapes or the precision of the saved state.
_LOCKED_ON_RESUME = ("pretrained", "revision", "variant", "rank", "lora_alpha", "target_modules", "train_text_encoder",
                     "text_encoder_target_modules", "mixed_precision")
_UNKNOWN_VALUES = {"", "unknown", "unknown artist", "unknown genre", "none", "nan"}


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
    crop: str = opt("center", "center: the cache holds centre squares at --resolution; random: it holds them "
                    "12.5% larger and a random --resolution crop is taken each time.", choices=("center", "random"))
    flip: bool = opt(True, "Random horizontal flips.")
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
    mixed_precision: str = opt("auto", "Precision of the frozen base model: fp16/bf16 halve its memory (LoRA "
                               "weights stay fp32). auto = fp16 on a CUDA GPU (or what `accelerate launch` "
                               "sets), no on CPU.", choices=("auto", "no", "fp16", "bf16"))
    gradient_checkpointing: bool = opt(False, "Recompute activations in the backward pass: much less memory, ~20% slower.")
    use_8bit_adam: bool = opt(False, "bitsandbytes 8-bit AdamW (CUDA; pip install bitsandbytes).")
    snr_gamma: float = opt(0.0, "Min-SNR loss weighting gamma (Hang et al. 2023; 5 is the paper's value); 0 = off.")
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
    validation_inference_steps: int = opt(25, "Denoising steps for validation images.")
    log_every: int = opt(10, "Append a metrics.jsonl line every N optimizer steps (mean loss over them).")
    workers: int = opt(2, "Data-loader worker processes.")
    name: str = opt("", "Run name (default: lora-r<rank>).")
    out: str = opt("", "Explicit run directory (default: runs/lora/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to be an existing, non-empty directory (its old run files are "
                          "deleted); with --resume CHECKPOINT, delete the newer checkpoints.")
    progress: bool = opt(True, "Show progress bars.")


@dataclass
class LoraGenerateConfig:
    run: str = opt("", "A lora run directory (with pytorch_lora_weights.safetensors).", positional=True)
    styles: list[str] = opt(["all"], "Comma-separated styles (names or aliases), or 'all'.")
    n: int = opt(4, "Images per style.")
    seed: int = opt(0, "Image i of every style uses seed + i (the same seeds with and without the LoRA).")
    steps: int = opt(30, "Denoising steps (DPM-Solver++).")
    guidance: float = opt(7.5, "Classifier-free guidance scale.")
    prompt: str = opt("", "Prompt template with {style} (default: the run's training template, without genre/artist).")
    negative_prompt: str = opt("", "Negative prompt.")
    lora_scale: float = opt(1.0, "Strength of the LoRA (0 = base model, 1 = as trained).")
    compare: bool = opt(False, "Also paint with the base model alone, same seeds: <Style>-compare.png has both rows.")
    pretrained: str = opt("", "Base model (default: the one named in the run's config.json).")
    resolution: int = opt(0, "Image size in pixels (default: the run's training resolution).")
    batch: int = opt(4, "Images per pipeline call (lower it when GPU memory is short).")
    device: str = opt("auto", "cuda, cpu, mps, or auto (cuda when available).")
    out: str = opt("", "Output folder (default: RUN/figures/generate/).")
    progress: bool = opt(True, "Show progress bars.")


# ------------------------------------------------------------------------------------------------ prompts


def check_template(template: str) -> None:
    """Reject a prompt template with unknown fields, unbalanced brackets, or no ``{style}``."""
    if template.count("[") != template.count("]") or re.search(r"\[[^\]]*\[", template):
        raise ArtstyleError(f"--prompt-template {template!r}: unbalanced or nested [brackets]")
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template.replace("[", "").replace("]", "")) if f is not None]
    except ValueError as exc:
        raise ArtstyleError(f"--prompt-template {template!r}: {exc}") from None
    unknown = sorted({n for n in names if n not in TEMPLATE_FIELDS})
    if unknown:
        raise ArtstyleError(f"--prompt-template {template!r}: unknown field(s) {', '.join('{' + u + '}' for u in unknown)}; "
                            f"use {{style}}, {{genre}}, {{artist}}")
    if "style" not in names:
        raise ArtstyleError(f"--prompt-template {template!r} has no {{style}}: the LoRA could not be told which style to paint")


def _humanize(value: str | None, title: bool = False) -> str | None:
    """``claude-monet`` -> ``Claude Monet``, ``religious_painting`` -> ``religious painting``; unknowns -> None."""
    if value is None or str(value).strip().lower() in _UNKNOWN_VALUES:
        return None
    text = re.sub(r"[-_]+", " ", str(value)).strip()
    return text.title() if title else text


def render_prompt(template: str, style: str, genre: str | None = None, artist: str | None = None) -> str:
    """Fill a template: ``{style}`` gets the display name; a ``[part]`` whose fields are unknown is dropped.

    >>> render_prompt(DEFAULT_TEMPLATE, "Post_Impressionism", genre="landscape", artist="vincent-van-gogh")
    'a painting in the style of Post-Impressionism, landscape, by Vincent Van Gogh'
    """
    from artstyle.styles import display_name

    values = {"style": display_name(style), "genre": _humanize(genre), "artist": _humanize(artist, title=True)}

    def optional(match: re.Match) -> str:
        part = match.group(1)
        needed = [f for _, f, _, _ in string.Formatter().parse(part) if f]
        return part.format(**values) if all(values.get(f) for f in needed) else ""

    text = re.sub(r"\[([^\]]*)\]", optional, template)
    return text.format(**{k: (v or "") for k, v in values.items()})


# ------------------------------------------------------------------------------------------------ base model


def _offline_hint(pretrained: str) -> str:
    """Why a base model could not be found, and the ways out."""
    if Path(pretrained).expanduser().exists():
        return f"'{pretrained}' is a local folder: check that it is a complete diffusers Stable Diffusion folder"
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    where = "HF_HUB_OFFLINE is set, so the hub was not asked" if offline else "the hub could not be reached or has no such model"
    return (f"'{pretrained}' is not a local folder and is not in the Hugging Face cache ({where}). Pass --pretrained "
            "/path/to/a/diffusers/folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/), or "
            f"download it where there is internet (`huggingface-cli download {pretrained}`) and point HF_HOME at that "
            "cache; set HF_HUB_OFFLINE=1 to stop network attempts")


def _model_index(pretrained: str, revision: str = "") -> dict[str, Any]:
    """model_index.json of the base model; every way it can be missing becomes one clear ArtstyleError."""
    from diffusers import DiffusionPipeline

    path = Path(pretrained).expanduser()
    if path.exists():
        if path.is_file():
            raise ArtstyleError(f"--pretrained {pretrained} is a single file; convert it to a diffusers folder first: "
                                "StableDiffusionPipeline.from_single_file(FILE).save_pretrained(DIR)")
        if not (path / "model_index.json").is_file():
            raise ArtstyleError(f"--pretrained {pretrained} is not a diffusers model folder: model_index.json is missing")
    try:
        index = DiffusionPipeline.load_config(str(path) if path.exists() else pretrained, revision=revision or None)
    except Exception as exc:  # noqa: BLE001 - hub, HTTP, offline and OS errors all mean "not available here"
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise ArtstyleError(f"could not load the base model: {_offline_hint(pretrained)} [{type(exc).__name__}: {first}]") from exc
    cls = index.get("_class_name", "")
    if "XL" in cls or "StableDiffusion3" in cls or "Flux" in cls:
        raise ArtstyleError(f"--pretrained {pretrained} is a {cls}; artstyle lora trains Stable Diffusion 1.x/2.x class "
                            "models (one CLIP text encoder, UNet2DConditionModel)")
    missing = [c for c in ("unet", "vae", "text_encoder", "tokenizer", "scheduler") if not index.get(c)]
    if missing:
        raise ArtstyleError(f"--pretrained {pretrained}: model_index.json lists no {', '.join(missing)}")
    return index


def _from_pretrained(cls: Any, pretrained: str, subfolder: str, **kwargs: Any) -> Any:
    try:
        return cls.from_pretrained(pretrained, subfolder=subfolder, **{k: v for k, v in kwargs.items() if v})
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ArtstyleError(f"could not load {subfolder}/ of the base model '{pretrained}' ({type(exc).__name__}: "
                            f"{first}); it may be incomplete: {_offline_hint(pretrained)}") from exc


def load_base_model(pretrained: str, revision: str = "", variant: str = "") -> dict[str, Any]:
    """The frozen SD components: ``tokenizer``, ``text_encoder``, ``vae``, ``unet``, ``noise_scheduler`` (DDPM)."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    _model_index(pretrained, revision)
    kw = {"revision": revision or None}
    return {
        "noise_scheduler": _from_pretrained(DDPMScheduler, pretrained, "scheduler", **kw),
        "tokenizer": _from_pretrained(CLIPTokenizer, pretrained, "tokenizer", **kw),
        "text_encoder": _from_pretrained(CLIPTextModel, pretrained, "text_encoder", variant=variant, **kw),
        "vae": _from_pretrained(AutoencoderKL, pretrained, "vae", variant=variant, **kw),
        "unet": _from_pretrained(UNet2DConditionModel, pretrained, "unet", variant=variant, **kw),
    }


def load_pipeline(pretrained: str, revision: str = "", variant: str = "", dtype: Any = None) -> Any:
    """A ``StableDiffusionPipeline`` for inference, with the clear missing-model error."""
    from diffusers import StableDiffusionPipeline

    _model_index(pretrained, revision)
    try:
        with warnings.catch_warnings():  # newer diffusers renamed torch_dtype to dtype; older ones know only torch_dtype
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            return StableDiffusionPipeline.from_pretrained(pretrained, revision=revision or None,
                                                           variant=variant or None, torch_dtype=dtype)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ArtstyleError(f"could not load the base model '{pretrained}' ({type(exc).__name__}: {first}); "
                            f"{_offline_hint(pretrained)}") from exc


# ------------------------------------------------------------------------------------------------ data


class StyleImages:
    """Map-style dataset over cache rows: ``{"pixel_values": (3, R, R) float in [-1, 1], "input_ids": (T,) long}``.

    The memmap is opened lazily in each worker (a pickled memmap would copy the whole array).
    """

    def __init__(self, cache_root: Path, n: int, size: int, rows: Sequence[int], input_ids: Any, resolution: int,
                 crop: str, flip: bool) -> None:
        self.cache_root, self.n, self.size = Path(cache_root), n, size
        self.rows, self.input_ids = list(rows), input_ids
        self.resolution, self.crop, self.flip = resolution, crop, flip
        self._images: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_images": None}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        import numpy as np
        import torch

        if self._images is None:
            self._images = np.memmap(self.cache_root / "images.u8", dtype=np.uint8, mode="r",
                                     shape=(self.n, self.size, self.size, 3))
        img = self._images[self.rows[i]]  # (S, S, 3) uint8
        r, s = self.resolution, self.size
        if s > r:
            if self.crop == "random":
                y, x = (int(v) for v in torch.randint(0, s - r + 1, (2,)))
            else:
                y = x = (s - r) // 2
            img = img[y:y + r, x:x + r]
        if self.flip and torch.rand(()) < 0.5:
            img = img[:, ::-1]
        pixels = torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div(127.5).sub(1.0)
        return {"pixel_values": pixels, "input_ids": self.input_ids[i]}


def _cache_size(resolution: int, crop: str) -> int:
    # Random crops need a margin around the --resolution square; centre crops are cut at the exact size.
    return resolution if crop == "center" else int(math.ceil(resolution * 1.125 / 8) * 8)


def select_styles(wanted: Sequence[str], classes: Sequence[str], flag: str = "--styles") -> list[str]:
    """Resolve names/aliases (``ukiyo-e``, ``Post-Impressionism``) or ``all`` against ``classes``; unknown -> error."""
    from artstyle.styles import canonical_style

    wanted = [w for w in wanted if w.strip()]
    if not wanted or any(w.strip().lower() == "all" for w in wanted):
        return list(classes)
    by_key = {c.lower(): c for c in classes}
    out, unknown = [], []
    for w in wanted:
        key = (canonical_style(w) or w.strip()).lower()
        hit = by_key.get(key) or by_key.get(w.strip().lower()) or by_key.get(w.strip().replace(" ", "_").lower())
        if hit is None:
            unknown.append(w)
        elif hit not in out:
            out.append(hit)
    if unknown:
        raise ArtstyleError(f"{flag}: unknown style(s) {', '.join(unknown)}; known: {', '.join(classes)}")
    return out


def _training_rows(cache: Any, cfg: LoraTrainConfig) -> tuple[list[int], list[str]]:
    """Cache rows to train on (chosen split and styles) and the styles that have images, in label order."""
    splits = {"train": "train", "train+val": ["train", "val"], "all": "all"}[cfg.split]
    styles = select_styles(cfg.styles, cache.classes)
    keep = {cache.classes.index(s) for s in styles}
    rows = [int(r) for r in cache.indices(splits) if int(cache.labels[r]) in keep]
    if not rows:
        raise ArtstyleError(f"--data {cfg.data}: no images in split {cfg.split!r} for the chosen styles")
    present = {cache.classes[int(cache.labels[r])] for r in rows}
    return rows, [s for s in styles if s in present]


def build_prompts(cache: Any, rows: Sequence[int], template: str) -> list[str]:
    """One prompt per row: the style, plus genre/artist when the source records them."""
    prompts = []
    for r in rows:
        extra = cache.extra(r)
        prompts.append(render_prompt(template, cache.classes[int(cache.labels[r])], extra.get("genre"), extra.get("artist")))
    return prompts


# ------------------------------------------------------------------------------------------------ run dir, resume


def _checkpoints(run: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first (a half-written one is a hidden temp folder, never listed)."""
    found = []
    for p in run.glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", p.name)
        if m and p.is_dir() and (p / WEIGHTS_NAME).is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def _step_of(checkpoint: Path) -> int:
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
        found = _checkpoints(run)
        return run, (found[-1][1] if found else None)
    return run, path


def _merge_resume(cfg: LoraTrainConfig, saved: dict[str, Any]) -> LoraTrainConfig:
    """Saved settings for everything left at its default; settings that differ from the default win.

    (The CLI cannot tell "passed the default value" from "not passed", so a flag set to its default value
    does not override the saved one.)
    """
    defaults = LoraTrainConfig()
    merged = {}
    for f in fields(LoraTrainConfig):
        mine = getattr(cfg, f.name)
        if f.name in ("resume", "out", "overwrite", "progress") or mine != getattr(defaults, f.name) or f.name not in saved:
            merged[f.name] = mine
        else:
            merged[f.name] = saved[f.name]
    out = LoraTrainConfig(**merged)
    changed = [k for k in _LOCKED_ON_RESUME if k in saved and getattr(out, k) != saved[k]]
    if changed:
        raise ArtstyleError("--resume: these settings cannot change when resuming (the checkpoint depends on them): "
                            + ", ".join(f"--{k.replace('_', '-')} {saved[k]!r} -> {getattr(out, k)!r}" for k in changed))
    return out


# ------------------------------------------------------------------------------------------------ images


def _font() -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(12)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font only
        return ImageFont.load_default()


def _caption_strip(text: str, width: int, color: tuple[int, int, int] = (0, 0, 0)) -> Any:
    """A white ``(18, width, 3)`` uint8 strip with ``text`` on it."""
    import numpy as np
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, 18), (255, 255, 255))
    ImageDraw.Draw(im).text((3, 2), text, fill=color, font=_font())
    return np.asarray(im)


def labeled_grid(rows: Sequence[tuple[str, Any]], synthetic: bool = False) -> Any:
    """Stack rows of images ``[(label, (N, H, W, 3) uint8)]`` into one uint8 image with a caption above each row.

    The result is at least as wide as the longest caption (small images would cut it off otherwise).
    """
    import numpy as np

    from artstyle.figures import SYNTHETIC_NOTE, image_grid

    labels = [label for label, _ in rows] + ([SYNTHETIC_NOTE] if synthetic else [])
    ncol = max(len(images) for _, images in rows)
    grids = []
    for _, images in rows:
        images = np.asarray(images)
        if len(images) < ncol:  # pad short rows so every row has the same width
            images = np.concatenate([images, np.full((ncol - len(images), *images.shape[1:]), 255, np.uint8)])
        grids.append(image_grid(images, nrow=ncol))
    width = max([g.shape[1] for g in grids] + [int(_font().getlength(t)) + 6 for t in labels])
    parts = []
    for (label, _), grid in zip(rows, grids):
        pad = np.full((grid.shape[0], width - grid.shape[1], 3), 255, np.uint8)
        parts += [_caption_strip(label, width), np.concatenate([grid, pad], axis=1)]
    if synthetic:
        parts.append(_caption_strip(SYNTHETIC_NOTE, width, color=(176, 0, 32)))
    return np.concatenate(parts, axis=0)


def paint(pipe: Any, prompt: str, n: int, seed: int, steps: int, guidance: float, size: int, negative: str = "",
          batch: int = 4, lora_scale: float | None = None) -> Any:
    """``n`` images ``(n, size, size, 3)`` uint8 for one prompt; image i uses a CPU generator seeded ``seed + i``.

    CPU generators make the same seed give the same starting noise on any device, so a base-model image and a
    LoRA image (or a GPU and a CPU run) differ only through the weights.
    """
    import numpy as np
    import torch

    out = []
    for start in range(0, n, max(1, batch)):
        k = min(batch, n - start)
        gens = [torch.Generator("cpu").manual_seed(seed + start + j) for j in range(k)]
        kwargs = {"cross_attention_kwargs": {"scale": lora_scale}} if lora_scale is not None else {}
        result = pipe(prompt, negative_prompt=negative or None, num_images_per_prompt=k, generator=gens,
                      num_inference_steps=steps, guidance_scale=guidance, height=size, width=size,
                      output_type="np", **kwargs)
        out.append((np.clip(result.images, 0, 1) * 255).round().astype(np.uint8))
    return np.concatenate(out)


# ------------------------------------------------------------------------------------------------ LoRA state


def lora_state_dicts(unet: Any, text_encoder: Any | None) -> dict[str, Any]:
    """Keyword arguments for ``StableDiffusionPipeline.save_lora_weights``: diffusers-format LoRA tensors + metadata."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    kwargs = {"unet_lora_layers": convert_state_dict_to_diffusers(get_peft_model_state_dict(unet)),
              # the adapter config (rank, alpha, targets) rides along, so a loader scales by alpha / rank correctly
              "unet_lora_adapter_metadata": unet.peft_config["default"].to_dict()}
    if text_encoder is not None:
        kwargs["text_encoder_lora_layers"] = convert_state_dict_to_diffusers(get_peft_model_state_dict(text_encoder))
        kwargs["text_encoder_lora_adapter_metadata"] = text_encoder.peft_config["default"].to_dict()
    return kwargs


def save_lora(directory: Path, unet: Any, text_encoder: Any | None = None) -> Path:
    """Write ``directory/pytorch_lora_weights.safetensors`` atomically (written beside it, then renamed)."""
    from diffusers import StableDiffusionPipeline

    directory = Path(directory)
    tmp = directory / f".lora-tmp-{os.getpid()}"
    StableDiffusionPipeline.save_lora_weights(str(tmp), weight_name=WEIGHTS_NAME, safe_serialization=True,
                                              **lora_state_dicts(unet, text_encoder))
    os.chmod(tmp / WEIGHTS_NAME, 0o644)  # the writer's temp file is private; the weights are meant to be shared
    os.replace(tmp / WEIGHTS_NAME, directory / WEIGHTS_NAME)
    shutil.rmtree(tmp, ignore_errors=True)
    return directory / WEIGHTS_NAME


def load_lora_into(directory: Path, unet: Any, text_encoder: Any | None = None) -> None:
    """Load ``directory``'s LoRA weights into the peft-adapted ``unet`` (and text encoder); missing keys are an error."""
    from diffusers import StableDiffusionPipeline
    from diffusers.training_utils import _set_state_dict_into_text_encoder
    from diffusers.utils import convert_unet_state_dict_to_peft
    from peft import set_peft_model_state_dict

    state, _ = StableDiffusionPipeline.lora_state_dict(str(directory), weight_name=WEIGHTS_NAME)
    unet_state = convert_unet_state_dict_to_peft({k[len("unet."):]: v for k, v in state.items() if k.startswith("unet.")})
    result = set_peft_model_state_dict(unet, unet_state, adapter_name="default")
    missing = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]
    unexpected = getattr(result, "unexpected_keys", [])
    if missing or unexpected:
        raise ArtstyleError(f"checkpoint {directory} does not match this LoRA (missing {missing[:3]}, unexpected "
                            f"{unexpected[:3]}); was it made with other --rank/--target-modules?")
    if text_encoder is not None:
        _set_state_dict_into_text_encoder(state, prefix="text_encoder.", text_encoder=text_encoder)


# ------------------------------------------------------------------------------------------------ training


def _set_threads() -> None:
    """Honour ``artstyle --threads N`` (``ARTSTYLE_THREADS``): on shared CPUs, oversubscribed threads are ~50x slower."""
    import torch

    threads = int(os.environ.get("ARTSTYLE_THREADS", "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)


def _mixed_precision(choice: str) -> str | None:
    """The Accelerator's ``mixed_precision`` (None = let `accelerate launch`/config decide)."""
    import torch

    if choice == "auto":
        if os.environ.get("ACCELERATE_MIXED_PRECISION"):
            return None
        return "fp16" if torch.cuda.is_available() else "no"
    if choice == "fp16" and not torch.cuda.is_available():
        raise ArtstyleError("--mixed-precision fp16 needs a CUDA GPU; use bf16 or no on this machine")
    return choice


def _validation_styles(cfg: LoraTrainConfig, styles: list[str]) -> list[str]:
    if cfg.validation_styles:
        return select_styles(cfg.validation_styles, styles, "--validation-styles")
    k = min(4, len(styles))
    return [styles[round(i * (len(styles) - 1) / max(1, k - 1))] for i in range(k)]


def _write_model_card(run: Path, cfg: LoraTrainConfig, info: dict[str, Any], steps_done: int) -> None:
    from artstyle.figures import SYNTHETIC_NOTE
    from artstyle.runs import write_text
    from artstyle.styles import display_name

    styles = info["classes"]
    examples = [render_prompt(cfg.prompt_template, s) for s in styles[:3]]
    alpha = cfg.lora_alpha or cfg.rank
    synthetic = info["synthetic"]
    lines = [
        "---",
        f"base_model: {cfg.pretrained}",
        "library_name: diffusers",
        "tags: [stable-diffusion, text-to-image, lora, art-styles, artstyle]",
        "---",
        "",
        f"# Art-style LoRA for {cfg.pretrained}",
        "",
        f"LoRA adapters trained with `artstyle lora train` for {steps_done} optimizer steps on "
        f"{info['images']:,} images in {len(styles)} styles from `{info['source']}`.",
        "",
    ]
    if synthetic:
        lines += [f"> **{SYNTHETIC_NOTE}.** These images are procedurally painted stand-ins, so the LoRA learned "
                  "their textures and palettes, not real art history. Train on real paintings for real styles.", ""]
    lines += [
        "## Expected quality",
        "",
        "This adapter has not been evaluated quantitatively. How well it paints a style depends on the base model, "
        "the number and quality of the training images per style (rare styles are learned worst) and the training "
        "length: diffusers' recipe for SD 1.5 is about 15,000 steps at batch 1 x 4 accumulation, and runs of a few "
        "hundred steps change the base model's output only a little. Look at `figures/validation-*.png` and at "
        "`artstyle lora generate RUN --compare` before trusting it.",
        "",
        "## Prompts",
        "",
        f"Template: `{cfg.prompt_template}` (a [bracketed part] is left out when the genre or artist is unknown).",
        "Examples: " + "; ".join(f"`{e}`" for e in examples),
        "",
        "## Styles",
        "",
        "| style | prompt name | training images |",
        "|---|---|---:|",
        *[f"| {s} | {display_name(s)} | {c:,} |" for s, c in zip(styles, info["counts"])],
        "",
        "## Settings",
        "",
        "| setting | value |",
        "|---|---|",
        f"| base model | `{cfg.pretrained}`{' @ ' + cfg.revision if cfg.revision else ''} |",
        f"| LoRA rank / alpha | {cfg.rank} / {alpha} |",
        f"| UNet target modules | {', '.join(cfg.target_modules)} |",
        f"| text-encoder LoRA | {'yes: ' + ', '.join(cfg.text_encoder_target_modules) if cfg.train_text_encoder else 'no'} |",
        f"| resolution, crop, flip | {cfg.resolution}, {cfg.crop}, {cfg.flip} |",
        f"| batch x accumulation x processes | {cfg.batch_size} x {cfg.gradient_accumulation} x {info['processes']} |",
        f"| learning rate, schedule, warm-up | {cfg.learning_rate:g}, {cfg.lr_scheduler}, {cfg.lr_warmup_steps} |",
        f"| optimizer steps | {steps_done} (of {info['max_steps']}) |",
        f"| mixed precision | {info['mixed_precision']} |",
        f"| Min-SNR gamma | {cfg.snr_gamma or 'off'} |",
        f"| seed | {cfg.seed} |",
        "",
        "## Use",
        "",
        "```python",
        "from diffusers import StableDiffusionPipeline",
        f"pipe = StableDiffusionPipeline.from_pretrained({cfg.pretrained!r})",
        "pipe.load_lora_weights('THIS_FOLDER')",
        f"image = pipe({examples[0]!r}).images[0]",
        "```",
        "",
        "or `artstyle lora generate THIS_FOLDER --styles all --compare`.",
        "",
    ]
    write_text(run / "README.md", "\n".join(lines))


def _fresh_run_dir(cfg: LoraTrainConfig) -> Path:
    """A new run directory; an overwritten ``--out`` loses the files of the run that was there (a stale
    checkpoint or metrics line would otherwise be mistaken for this run's)."""
    from artstyle.runs import create_run, prepare_run_dir

    if not cfg.out:
        return create_run("lora", cfg.name or f"lora-r{cfg.rank}")
    run = prepare_run_dir(cfg.out, cfg.overwrite)
    for _, old in _checkpoints(run):
        shutil.rmtree(old)
    for old in [run / "metrics.jsonl", run / WEIGHTS_NAME, *(run / "figures").glob("validation-*.png")]:
        old.unlink(missing_ok=True)
    return run


def _reset_accelerate_state() -> None:
    """Forget Accelerate's process-wide state (single-process runs only).

    The state is a singleton that refuses a second mixed-precision setting, and one process (a notebook, a
    pipeline of stages, the test suite) may train several runs, so each run starts and ends with a clean one.
    """
    from accelerate.state import AcceleratorState, GradientState

    from artstyle.dist import is_distributed

    if not is_distributed():
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()


def train_lora(cfg: LoraTrainConfig) -> Path:
    """Fine-tune LoRA adapters on ``cfg.data``'s styles and return the run directory (see the module docstring).

    Runs unchanged under ``accelerate launch`` (one process per GPU); only the main process writes files.
    """
    try:
        return _train_lora(cfg)
    finally:
        _reset_accelerate_state()


def _train_lora(cfg: LoraTrainConfig) -> Path:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import cast_training_params, compute_snr
    from peft import LoraConfig, inject_adapter_in_model
    from tqdm.auto import tqdm

    from artstyle.data.cache import prepare_cache
    from artstyle.dist import shared_run_dir
    from artstyle.runs import append_jsonl, read_json, read_jsonl, write_bytes, write_json
    from artstyle.styles import display_name

    checkpoint = None
    if cfg.resume:
        run, checkpoint = resolve_resume(cfg.resume)
        cfg = _merge_resume(cfg, read_json(run / "config.json").get("config", {}))
        newer = [p for step, p in _checkpoints(run) if checkpoint is not None and step > _step_of(checkpoint)]
        if newer and not cfg.overwrite:
            raise ArtstyleError(f"--resume {cfg.resume}: newer checkpoints exist ({', '.join(p.name for p in newer)}); "
                                "resuming from here abandons them. Pass --overwrite to delete them, or --resume the "
                                "run directory to continue from the latest")
    check_template(cfg.prompt_template)
    if cfg.resolution % 8 or cfg.resolution < 8:
        raise ArtstyleError(f"--resolution {cfg.resolution}: use a multiple of 8 (512 for SD 1.5)")
    for flag, value in (("--batch-size", cfg.batch_size), ("--gradient-accumulation", cfg.gradient_accumulation),
                        ("--rank", cfg.rank), ("--log-every", cfg.log_every)):
        if value < 1:
            raise ArtstyleError(f"{flag} must be at least 1 (got {value})")
    if cfg.max_steps <= 0 and cfg.epochs <= 0:
        raise ArtstyleError("--max-steps 0 trains for --epochs, so --epochs must be at least 1")
    if cfg.use_8bit_adam:
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise ArtstyleError("--use-8bit-adam needs bitsandbytes (CUDA only): pip install bitsandbytes") from None

    _set_threads()
    precision = _mixed_precision(cfg.mixed_precision)
    _reset_accelerate_state()
    try:
        # cpu=True without CUDA, as in artstyle.engine: otherwise torchrun's WORLD_SIZE is ignored on CPU machines.
        accelerator = Accelerator(gradient_accumulation_steps=cfg.gradient_accumulation, mixed_precision=precision,
                                  cpu=not torch.cuda.is_available())
    except ValueError as exc:  # e.g. bf16 on hardware without support
        raise ArtstyleError(f"--mixed-precision {cfg.mixed_precision}: {exc}") from exc
    main = accelerator.is_main_process
    # Per-process seeds: each GPU draws its own noise and timesteps (DDP copies rank 0's LoRA initialisation).
    set_seed(cfg.seed, device_specific=True)

    # 1. The frozen base model, cast to the mixed-precision dtype (it is only run forward).
    parts = load_base_model(cfg.pretrained, cfg.revision, cfg.variant)
    tokenizer, text_encoder, vae, unet = parts["tokenizer"], parts["text_encoder"], parts["vae"], parts["unet"]
    noise_scheduler = parts["noise_scheduler"]
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)
    for m in (unet, vae, text_encoder):
        m.requires_grad_(False)
        m.to(accelerator.device)
        if weight_dtype != torch.float32:
            m.to(dtype=weight_dtype)

    # 2. LoRA adapters (A gaussian, B zero: the adapted model starts exactly as the base model).
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

    # 3. Checkpoints hold only the LoRA weights (diffusers format), not the multi-GB frozen model.
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

    if cfg.use_8bit_adam:
        optimizer = bnb.optim.AdamW8bit(params, lr=cfg.learning_rate, weight_decay=cfg.adam_weight_decay)
    else:
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.adam_weight_decay)

    # 4. Data: the decode-once cache, one tokenized prompt per image.
    with accelerator.main_process_first():
        cache = prepare_cache(cfg.data, size=_cache_size(cfg.resolution, cfg.crop), label_column=cfg.label_column,
                              seed=cfg.seed, progress=cfg.progress and main)
    rows, styles = _training_rows(cache, cfg)
    prompts = build_prompts(cache, rows, cfg.prompt_template)
    input_ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                          return_tensors="pt").input_ids  # (N, T) long
    dataset = StyleImages(cache.root, len(cache.labels), cache.size, rows, input_ids, cfg.resolution, cfg.crop, cfg.flip)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=cfg.workers,
                                         drop_last=False, persistent_workers=cfg.workers > 0,
                                         generator=torch.Generator().manual_seed(cfg.seed))
    max_steps = cfg.max_steps or cfg.epochs * math.ceil(len(loader) / cfg.gradient_accumulation)
    # The prepared scheduler steps once per process per optimizer step, hence the factors (as diffusers does).
    lr_scheduler = get_scheduler(cfg.lr_scheduler, optimizer=optimizer,
                                 num_warmup_steps=cfg.lr_warmup_steps * accelerator.num_processes,
                                 num_training_steps=max_steps * accelerator.num_processes)
    if cfg.train_text_encoder:
        unet, text_encoder, optimizer, loader, lr_scheduler = accelerator.prepare(unet, text_encoder, optimizer, loader,
                                                                                  lr_scheduler)
    else:
        unet, optimizer, loader, lr_scheduler = accelerator.prepare(unet, optimizer, loader, lr_scheduler)
    steps_per_epoch = math.ceil(len(loader) / cfg.gradient_accumulation)
    num_epochs = math.ceil(max_steps / steps_per_epoch)

    # 5. The run directory (shared by all processes) and its descriptive files.
    if not cfg.resume:
        run = shared_run_dir(lambda: _fresh_run_dir(cfg))
    counts = [int(np.sum(cache.labels[rows] == cache.classes.index(s))) for s in styles]
    info = {"classes": styles, "display_names": [display_name(s) for s in styles], "counts": counts,
            "images": len(rows), "source": cache.source, "synthetic": cache.synthetic, "max_steps": max_steps,
            "processes": accelerator.num_processes, "mixed_precision": accelerator.mixed_precision}
    if main:
        import diffusers
        import peft
        import transformers

        resolved = replace(cfg, resume="")
        write_json(run / "config.json", {
            "config": config_dict(resolved),
            "data": {"source": cache.source, "synthetic": cache.synthetic, "cache": str(cache.root), "images": len(rows),
                     "example_prompts": prompts[:5]},
            "training": {"max_steps": max_steps, "steps_per_epoch": steps_per_epoch, "epochs": num_epochs,
                         "processes": accelerator.num_processes, "mixed_precision": accelerator.mixed_precision,
                         "effective_batch": cfg.batch_size * cfg.gradient_accumulation * accelerator.num_processes},
            "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "peft": peft.__version__,
                         "transformers": transformers.__version__}})
        write_json(run / "classes.json", {k: info[k] for k in ("classes", "display_names", "counts", "synthetic", "source")})

    # 6. Resume: LoRA weights, optimizer, scheduler, scaler and RNG from the checkpoint; the step count continues.
    global_step = 0
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
        global_step = _step_of(checkpoint)
        if main:  # checkpoints and metrics past the checkpoint belong to the abandoned continuation
            for step, old in _checkpoints(run):
                if step > global_step:
                    shutil.rmtree(old)
            kept = [r for r in read_jsonl(run / "metrics.jsonl") if r.get("step", 0) <= global_step]
            write_bytes(run / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept).encode())
        accelerator.print(f"resuming {run} from {checkpoint.name} (step {global_step} of {max_steps})")
    elif cfg.resume:
        accelerator.print(f"--resume {cfg.resume}: no checkpoint yet, starting {run} from step 0")
    first_epoch = global_step // steps_per_epoch

    accelerator.print(f"LoRA r={cfg.rank} on {cfg.pretrained}: {len(rows):,} images, {len(styles)} styles"
                      f"{' (SYNTHETIC built-in data)' if cache.synthetic else ''}, {max_steps} steps, effective batch "
                      f"{cfg.batch_size * cfg.gradient_accumulation * accelerator.num_processes}, precision "
                      f"{accelerator.mixed_precision} -> {run}")
    val_styles = _validation_styles(cfg, styles)

    def validate(step: int) -> None:
        if not main or not cfg.validate_every or cfg.validation_images < 1:
            return
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=accelerator.unwrap_model(text_encoder), tokenizer=tokenizer,
                                       unet=accelerator.unwrap_model(unet), safety_checker=None, feature_extractor=None,
                                       scheduler=DPMSolverMultistepScheduler.from_config(noise_scheduler.config),
                                       requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        unet.eval()
        rows_out = []
        with torch.no_grad(), accelerator.autocast():
            for s in val_styles:
                prompt = render_prompt(cfg.prompt_template, s)
                rows_out.append((prompt, paint(pipe, prompt, cfg.validation_images, cfg.seed,
                                               cfg.validation_inference_steps, 7.5, cfg.resolution)))
        unet.train()
        from artstyle.figures import save_png

        save_png(labeled_grid(rows_out, cache.synthetic), run / "figures" / f"validation-{step}.png")

    def save_checkpoint(step: int) -> None:
        # Saved to a hidden temp folder and renamed, so a kill never leaves a checkpoint that looks complete.
        final, tmp = run / f"checkpoint-{step}", run / f".checkpoint-{step}.tmp"
        if main:
            shutil.rmtree(tmp, ignore_errors=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp))  # every process: each saves its own RNG state
        accelerator.wait_for_everyone()
        if main:
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            found = _checkpoints(run)
            if cfg.keep_checkpoints > 0:
                for _, old in found[:max(0, len(found) - cfg.keep_checkpoints)]:
                    shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    bar = tqdm(total=max_steps, initial=global_step, desc="lora", unit="step",
               disable=not (cfg.progress and accelerator.is_local_main_process))
    loss_sum, micro, window = 0.0, 0, []
    t0 = time.perf_counter()
    unet.train()
    if cfg.train_text_encoder:
        text_encoder.train()
    for epoch in range(first_epoch, num_epochs):
        if global_step >= max_steps:
            break
        for batch in loader:
            with accelerator.accumulate(*([unet, text_encoder] if cfg.train_text_encoder else [unet])):
                latents = vae.encode(batch["pixel_values"].to(dtype=weight_dtype)).latent_dist.sample()
                latents = latents * vae.config.scaling_factor  # (B, 4, R/8, R/8) for SD
                noise = torch.randn_like(latents)
                bsz = latents.shape[0]
                timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (bsz,), device=latents.device)
                noisy = noise_scheduler.add_noise(latents, noise, timesteps)
                hidden = text_encoder(batch["input_ids"], return_dict=False)[0]  # (B, T, D)
                if noise_scheduler.config.prediction_type == "epsilon":
                    target = noise
                elif noise_scheduler.config.prediction_type == "v_prediction":
                    target = noise_scheduler.get_velocity(latents, noise, timesteps)
                else:
                    raise ArtstyleError(f"unsupported prediction type {noise_scheduler.config.prediction_type!r}")
                pred = unet(noisy, timesteps, hidden, return_dict=False)[0]
                if cfg.snr_gamma > 0:
                    # Min-SNR-gamma (arXiv:2303.09556, sec. 3.4), rewritten for epsilon/v targets as in diffusers.
                    snr = compute_snr(noise_scheduler, timesteps)
                    weights = torch.clamp(snr, max=cfg.snr_gamma)
                    weights = weights / snr if noise_scheduler.config.prediction_type == "epsilon" else weights / (snr + 1)
                    loss = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
                    loss = (loss * weights).mean()
                else:
                    loss = F.mse_loss(pred.float(), target.float(), reduction="mean")
                loss_sum += accelerator.gather(loss.detach().repeat(bsz)).mean().item()
                micro += 1
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad(set_to_none=True)

            if not accelerator.sync_gradients:
                continue
            global_step += 1
            step_loss, loss_sum, micro = loss_sum / max(1, micro), 0.0, 0  # mean over this step's forward passes
            if not math.isfinite(step_loss):
                raise ArtstyleError(f"the loss became {step_loss} at step {global_step}; lower --learning-rate or use "
                                    "--mixed-precision bf16/no, then --resume from the last checkpoint")
            window.append(step_loss)
            lr = lr_scheduler.get_last_lr()[0]
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{lr:.2e}")
            if main and (global_step % cfg.log_every == 0 or global_step == max_steps):
                append_jsonl(run / "metrics.jsonl", {"step": global_step, "loss": float(np.mean(window)), "lr": lr,
                                                     "epoch": epoch, "seconds": round(time.perf_counter() - t0, 2)})
                window = []
            if cfg.checkpoint_every and global_step % cfg.checkpoint_every == 0:
                save_checkpoint(global_step)
            if cfg.validate_every and global_step % cfg.validate_every == 0:
                validate(global_step)
            if global_step >= max_steps:
                break
    bar.close()

    # 7. Final weights (fp32 LoRA tensors), a last validation grid, and the model card.
    accelerator.wait_for_everyone()
    if main:
        save_lora(run, accelerator.unwrap_model(unet),
                  accelerator.unwrap_model(text_encoder) if cfg.train_text_encoder else None)
        if cfg.validate_every and global_step % cfg.validate_every and global_step > 0:
            validate(global_step)
        _write_model_card(run, cfg, info, global_step)
        accelerator.print(f"LoRA weights: {run / WEIGHTS_NAME}")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return run


# ------------------------------------------------------------------------------------------------ generation


def load_lora_for_inference(pipe: Any, run: Path, train_cfg: dict[str, Any] | None = None) -> None:
    """Load a run's LoRA into ``pipe``: ``pipe.load_lora_weights`` for a UNet-only LoRA (the common case).

    A text-encoder LoRA gets its adapter from peft directly (transformers' ``load_adapter``, which diffusers
    uses, refuses peft releases older than it expects), and the UNet part goes through diffusers as usual.
    """
    from diffusers import StableDiffusionPipeline
    from diffusers.training_utils import _set_state_dict_into_text_encoder
    from peft import LoraConfig, inject_adapter_in_model

    state, _, metadata = StableDiffusionPipeline.lora_state_dict(str(run), weight_name=WEIGHTS_NAME,
                                                                 return_lora_metadata=True)
    if not any(k.startswith("text_encoder.") for k in state):
        pipe.load_lora_weights(str(run), weight_name=WEIGHTS_NAME)
        return
    unet_state = {k: v for k, v in state.items() if k.startswith("unet.")}
    pipe.load_lora_into_unet(unet_state, network_alphas=None, unet=pipe.unet, _pipeline=pipe, metadata=metadata)
    te_meta = {k[len("text_encoder."):]: v for k, v in (metadata or {}).items() if k.startswith("text_encoder.")}
    train_cfg = train_cfg or {}
    rank = int(te_meta.get("r") or train_cfg.get("rank", 4))
    config = LoraConfig(r=rank, lora_alpha=int(te_meta.get("lora_alpha") or train_cfg.get("lora_alpha") or rank),
                        target_modules=list(te_meta.get("target_modules") or train_cfg.get("text_encoder_target_modules")
                                            or ["q_proj", "k_proj", "v_proj", "out_proj"]))
    inject_adapter_in_model(config, pipe.text_encoder, adapter_name="default")
    _set_state_dict_into_text_encoder(state, prefix="text_encoder.", text_encoder=pipe.text_encoder)
    pipe.text_encoder.to(pipe.unet.device, dtype=pipe.unet.dtype)


def generate(cfg: LoraGenerateConfig) -> Path:
    """Paint ``cfg.n`` images per style with the run's LoRA; return the output folder.

    Writes ``<Style>.png`` (one row of images), ``<Style>-compare.png`` with ``--compare`` (base model row above
    the LoRA row, same seeds) and ``generate.json`` (prompts, seeds, settings, files).
    """
    import torch
    from diffusers import DPMSolverMultistepScheduler
    from tqdm.auto import tqdm

    from artstyle.figures import save_png
    from artstyle.runs import find_run, read_json, write_json

    if not cfg.run:
        raise ArtstyleError("give the lora run directory: artstyle lora generate RUN")
    run = find_run(cfg.run)
    if not (run / WEIGHTS_NAME).is_file():
        raise ArtstyleError(f"{run} has no {WEIGHTS_NAME}: training did not finish; finish it with "
                            f"`artstyle lora train --resume {run}`")
    saved = read_json(run / "config.json")
    train_cfg, classes_info = saved.get("config", {}), read_json(run / "classes.json")
    styles = select_styles(cfg.styles, classes_info["classes"])
    if cfg.n < 1 or cfg.steps < 1:
        raise ArtstyleError("--n and --steps must be at least 1")
    template = cfg.prompt or train_cfg.get("prompt_template", DEFAULT_TEMPLATE)
    check_template(template)
    size = cfg.resolution or int(train_cfg.get("resolution", 512))
    if size % 8:
        raise ArtstyleError(f"--resolution {size}: use a multiple of 8")
    pretrained = cfg.pretrained or train_cfg.get("pretrained", DEFAULT_MODEL)
    _set_threads()
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    pipe = load_pipeline(pretrained, train_cfg.get("revision", "") if not cfg.pretrained else "",
                         train_cfg.get("variant", "") if not cfg.pretrained else "", dtype=dtype)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    out = Path(cfg.out) if cfg.out else run / "figures" / "generate"
    out.mkdir(parents=True, exist_ok=True)
    prompts = {s: render_prompt(template, s) for s in styles}
    synthetic = bool(classes_info.get("synthetic"))
    common = dict(steps=cfg.steps, guidance=cfg.guidance, size=size, negative=cfg.negative_prompt, batch=cfg.batch)

    base = {}
    if cfg.compare:  # the base model first, before the LoRA is loaded at all
        for s in tqdm(styles, desc="base model", disable=not cfg.progress):
            base[s] = paint(pipe, prompts[s], cfg.n, cfg.seed, **common)
    try:
        load_lora_for_inference(pipe, run, train_cfg)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ArtstyleError(f"could not load {run / WEIGHTS_NAME} into {pretrained} ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200]}); is --pretrained the model the LoRA was trained on?") from exc
    files = []
    for s in tqdm(styles, desc="with LoRA", disable=not cfg.progress):
        images = paint(pipe, prompts[s], cfg.n, cfg.seed, lora_scale=cfg.lora_scale, **common)
        save_png(labeled_grid([(prompts[s], images)], synthetic), out / f"{s}.png")
        files.append(f"{s}.png")
        if cfg.compare:
            grid = labeled_grid([(f"base model: {prompts[s]}", base[s]),
                                 (f"with LoRA (scale {cfg.lora_scale:g}): {prompts[s]}", images)], synthetic)
            save_png(grid, out / f"{s}-compare.png")
            files.append(f"{s}-compare.png")
    write_json(out / "generate.json", {"run": str(run), "pretrained": pretrained, "prompts": prompts,
                                       "seeds": [cfg.seed + i for i in range(cfg.n)], "steps": cfg.steps,
                                       "guidance": cfg.guidance, "lora_scale": cfg.lora_scale, "size": size,
                                       "negative_prompt": cfg.negative_prompt, "device": device,
                                       "synthetic_training_data": synthetic, "files": files})
    return out


__all__ = ["LoraTrainConfig", "LoraGenerateConfig", "train_lora", "generate", "render_prompt", "check_template",
           "select_styles", "load_base_model", "load_pipeline", "save_lora", "load_lora_into", "WEIGHTS_NAME"]
