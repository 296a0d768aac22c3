"""The pretrained Stable-Diffusion-class base model: its parts for training, or a pipeline for painting.

Usage::

    parts = load_base_model("stable-diffusion-v1-5/stable-diffusion-v1-5")   # tokenizer, text_encoder, vae, unet, ...
    pipe = load_pipeline("/models/sd15", dtype=torch.float16)

Every way the model can be missing (offline hub, half a folder, a single-file checkpoint, SDXL) becomes one
clear ArtstyleError that names the ways out.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from artstyle.errors import ArtstyleError


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


__all__ = ["load_base_model", "load_pipeline"]
