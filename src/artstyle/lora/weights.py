"""LoRA weights in and out, in diffusers' format: ``pytorch_lora_weights.safetensors`` with the adapter config.

Usage::

    save_lora(run, unet, text_encoder)            # run/pytorch_lora_weights.safetensors, written atomically
    load_lora_into(checkpoint, unet, text_encoder)  # back into peft-adapted training models (resume)
    load_lora_for_inference(pipe, run)            # into a StableDiffusionPipeline (generate)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from artstyle.errors import ArtstyleError
from artstyle.lora.config import WEIGHTS_NAME


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


__all__ = ["lora_state_dicts", "save_lora", "load_lora_into", "load_lora_for_inference"]
