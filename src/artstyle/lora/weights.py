"""LoRA weights in and out, in diffusers' format: ``pytorch_lora_weights.safetensors`` with the adapter config.

Usage::

    save_lora(run, unet, text_encoder)            # run/pytorch_lora_weights.safetensors, written atomically
    load_lora_into(checkpoint, unet, text_encoder)  # back into peft-adapted training models (resume)
    load_lora_for_inference(pipe, run)            # into a StableDiffusionPipeline (generate)

The file has the layout diffusers' own trainers write: ``unet.<module>.lora.{down,up}.weight`` and
``text_encoder.text_model.<module>.lora_linear_layer.{down,up}.weight``. transformers 5 flattened
``CLIPTextModel`` (no ``text_model.`` level), so the prefix is added on saving and dropped on loading into such
a model; diffusers' ``load_lora_weights`` drops it the same way. Every load checks that the file's keys and the
model's adapter match exactly and names the file when they do not.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from artstyle.errors import ArtstyleError
from artstyle.lora.config import WEIGHTS_NAME

TEXT_PREFIX = "text_model."


def _text_encoder_layers(text_encoder: Any) -> dict[str, Any]:
    """The text encoder's LoRA tensors in diffusers' layout, with ``text_model.`` as a transformers-4 model has it."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    state = convert_state_dict_to_diffusers(get_peft_model_state_dict(text_encoder))
    if hasattr(text_encoder, "text_model"):
        return state
    return {k if k.startswith(TEXT_PREFIX) else TEXT_PREFIX + k: v for k, v in state.items()}


def lora_state_dicts(unet: Any, text_encoder: Any | None) -> dict[str, Any]:
    """Keyword arguments for ``StableDiffusionPipeline.save_lora_weights``: diffusers-format LoRA tensors + metadata."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    kwargs = {"unet_lora_layers": convert_state_dict_to_diffusers(get_peft_model_state_dict(unet)),
              # the adapter config (rank, alpha, targets) rides along, so a loader scales by alpha / rank correctly
              "unet_lora_adapter_metadata": unet.peft_config["default"].to_dict()}
    if text_encoder is not None:
        kwargs["text_encoder_lora_layers"] = _text_encoder_layers(text_encoder)
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


def check_keys(in_file: set[str], in_model: set[str], path: Path, part: str) -> None:
    """Raise when the file's LoRA keys for ``part`` and the model's adapter keys differ, naming a few of each."""
    missing, unexpected = sorted(in_model - in_file), sorted(in_file - in_model)
    if missing or unexpected:
        raise ArtstyleError(f"{path}: its {part} LoRA weights do not match the model: {len(unexpected)} unexpected "
                            f"key(s) {unexpected[:3]}, {len(missing)} missing {missing[:3]}. Was it trained on "
                            "another base model or with other --rank/--target-modules? Pass the --pretrained it "
                            "was trained on")


def _peft_keys(model: Any, adapter: str) -> set[str]:
    from peft.utils import get_peft_model_state_dict

    return set(get_peft_model_state_dict(model, adapter_name=adapter))


def _unet_state(state: dict[str, Any]) -> dict[str, Any]:
    from diffusers.utils import convert_unet_state_dict_to_peft

    return convert_unet_state_dict_to_peft({k[len("unet."):]: v for k, v in state.items() if k.startswith("unet.")})


def set_text_encoder_state(state: dict[str, Any], text_encoder: Any, path: Path, adapter: str = "default") -> None:
    """Load the ``text_encoder.*`` LoRA tensors of ``state`` into the adapted ``text_encoder``; mismatches raise."""
    from diffusers.utils import convert_state_dict_to_diffusers, convert_state_dict_to_peft
    from peft import set_peft_model_state_dict

    part = {k[len("text_encoder."):]: v for k, v in state.items() if k.startswith("text_encoder.")}
    part = convert_state_dict_to_peft(convert_state_dict_to_diffusers(part))
    if not hasattr(text_encoder, "text_model"):  # transformers 5: a flattened CLIPTextModel
        part = {k.removeprefix(TEXT_PREFIX): v for k, v in part.items()}
    check_keys(set(part), _peft_keys(text_encoder, adapter), path, "text-encoder")
    set_peft_model_state_dict(text_encoder, part, adapter_name=adapter)


def load_lora_into(directory: Path, unet: Any, text_encoder: Any | None = None) -> None:
    """Load ``directory``'s LoRA weights into the peft-adapted ``unet`` (and text encoder); any mismatch is an error."""
    from diffusers import StableDiffusionPipeline
    from peft import set_peft_model_state_dict

    path = Path(directory) / WEIGHTS_NAME
    state, _ = StableDiffusionPipeline.lora_state_dict(str(directory), weight_name=WEIGHTS_NAME)
    unet_state = _unet_state(state)
    check_keys(set(unet_state), _peft_keys(unet, "default"), path, "UNet")
    set_peft_model_state_dict(unet, unet_state, adapter_name="default")
    if text_encoder is not None:
        set_text_encoder_state(state, text_encoder, path)


def load_lora_for_inference(pipe: Any, run: Path, train_cfg: dict[str, Any] | None = None) -> None:
    """Load a run's LoRA into ``pipe``; the keys loaded must be exactly the file's.

    The UNet part goes through diffusers (``pipe.load_lora_weights`` / ``load_lora_into_unet``). A text-encoder
    LoRA gets its adapter from peft directly: transformers 5's ``load_adapter``, which diffusers uses, refuses
    peft releases older than 0.22.
    """
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig, inject_adapter_in_model

    path = Path(run) / WEIGHTS_NAME
    state, _, metadata = StableDiffusionPipeline.lora_state_dict(str(run), weight_name=WEIGHTS_NAME,
                                                                 return_lora_metadata=True)
    before = set(getattr(pipe.unet, "peft_config", {}) or {})
    if not any(k.startswith("text_encoder.") for k in state):
        pipe.load_lora_weights(str(run), weight_name=WEIGHTS_NAME)
    else:
        unet_state = {k: v for k, v in state.items() if k.startswith("unet.")}
        pipe.load_lora_into_unet(unet_state, network_alphas=None, unet=pipe.unet, _pipeline=pipe, metadata=metadata)
    adapter = next(iter(set(pipe.unet.peft_config) - before))
    check_keys(set(_unet_state(state)), _peft_keys(pipe.unet, adapter), path, "UNet")
    if not any(k.startswith("text_encoder.") for k in state):
        return
    te_meta = {k[len("text_encoder."):]: v for k, v in (metadata or {}).items() if k.startswith("text_encoder.")}
    train_cfg = train_cfg or {}
    rank = int(te_meta.get("r") or train_cfg.get("rank", 4))
    config = LoraConfig(r=rank, lora_alpha=int(te_meta.get("lora_alpha") or train_cfg.get("lora_alpha") or rank),
                        target_modules=list(te_meta.get("target_modules") or train_cfg.get("text_encoder_target_modules")
                                            or ["q_proj", "k_proj", "v_proj", "out_proj"]))
    inject_adapter_in_model(config, pipe.text_encoder, adapter_name="default")
    set_text_encoder_state(state, pipe.text_encoder, path)
    pipe.text_encoder.to(pipe.unet.device, dtype=pipe.unet.dtype)


__all__ = ["lora_state_dicts", "save_lora", "check_keys", "set_text_encoder_state", "load_lora_into",
           "load_lora_for_inference"]
