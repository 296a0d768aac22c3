"""The model card (``README.md``) of a LoRA run: base model, styles, prompts, settings, expected quality.

Usage: ``write_model_card(run, cfg, info, steps_done)`` with ``info`` as ``train_lora`` builds it (``classes``,
``counts``, ``images``, ``source``, ``synthetic``, ``processes``, ``max_steps``, ``mixed_precision``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artstyle.constants import SYNTHETIC_NOTE
from artstyle.lora.config import LoraTrainConfig
from artstyle.lora.prompts import render_prompt
from artstyle.tables import markdown_table

_QUALITY = ("This adapter has not been evaluated quantitatively. How well it paints a style depends on the base "
            "model, the number and quality of the training images per style (rare styles are learned worst) and the "
            "training length: diffusers' recipe for SD 1.5 is about 15,000 steps at batch 1 x 4 accumulation, and "
            "runs of a few hundred steps change the base model's output only a little. Look at "
            "`figures/validation-*.png` and at `artstyle lora generate RUN --compare` before trusting it.")


_TEXT_ENCODER_NOTE = (
    "**Text-encoder LoRA.** The file also holds LoRA weights for the CLIP text encoder, in diffusers' layout "
    "(`text_encoder.text_model.*`). With transformers 4, `pipe.load_lora_weights` loads them with any peft >= 0.12. "
    "With transformers 5 it needs peft >= 0.22 (transformers 5 refuses older peft for text-encoder adapters); "
    "with an older peft, load the adapter as `artstyle lora generate` does: "
    "`from artstyle.lora import load_lora_for_inference; load_lora_for_inference(pipe, 'THIS_FOLDER')`.")


def _settings_table(cfg: LoraTrainConfig, info: dict[str, Any], steps_done: int) -> str:
    te = "yes: " + ", ".join(cfg.text_encoder_target_modules) if cfg.train_text_encoder else "no"
    rows = [
        ("base model", f"`{cfg.pretrained}`{' @ ' + cfg.revision if cfg.revision else ''}"),
        ("LoRA rank / alpha", f"{cfg.rank} / {cfg.lora_alpha or cfg.rank}"),
        ("UNet target modules", ", ".join(cfg.target_modules)),
        ("text-encoder LoRA", te),
        ("resolution, crop, flip", f"{cfg.resolution}, {cfg.crop}, {cfg.flip}"),
        ("batch x accumulation x processes", f"{cfg.batch_size} x {cfg.gradient_accumulation} x {info['processes']}"),
        ("learning rate, schedule, warm-up", f"{cfg.learning_rate:g}, {cfg.lr_scheduler}, {cfg.lr_warmup_steps}"),
        ("optimizer steps", f"{steps_done} (of {info['max_steps']})"),
        ("mixed precision", info["mixed_precision"]),
        ("Min-SNR gamma", cfg.snr_gamma or "off"),
        ("prediction type, noise offset", f"{info.get('prediction_type', cfg.prediction_type or 'epsilon')}, "
                                          f"{cfg.noise_offset or 'off'}"),
        ("seed", cfg.seed),
    ]
    return markdown_table(["setting", "value"], rows, right_from=2).rstrip("\n")


def write_model_card(run: Path, cfg: LoraTrainConfig, info: dict[str, Any], steps_done: int) -> None:
    """Write ``run/README.md``, a Hugging Face model card for the trained adapter."""
    from artstyle.runs import write_text
    from artstyle.styles import display_name

    styles = info["classes"]
    examples = [render_prompt(cfg.prompt_template, s) for s in styles[:3]]
    style_rows = [(s, display_name(s), f"{c:,}") for s, c in zip(styles, info["counts"])]
    lines = [
        "---", f"base_model: {cfg.pretrained}", "library_name: diffusers",
        "tags: [stable-diffusion, text-to-image, lora, art-styles, artstyle]", "---", "",
        f"# Art-style LoRA for {cfg.pretrained}", "",
        f"LoRA adapters trained with `artstyle lora train` for {steps_done} optimizer steps on "
        f"{info['images']:,} images in {len(styles)} styles from `{info['source']}`.", "",
    ]
    if info["synthetic"]:
        lines += [f"> **{SYNTHETIC_NOTE}.** These images are procedurally painted stand-ins, so the LoRA learned "
                  "their textures and palettes, not real art history. Train on real paintings for real styles.", ""]
    lines += [
        "## Expected quality", "", _QUALITY, "",
        "## Prompts", "",
        f"Template: `{cfg.prompt_template}` (a [bracketed part] is left out when the genre or artist is unknown).",
        "Examples: " + "; ".join(f"`{e}`" for e in examples), "",
        "## Styles", "",
        markdown_table(["style", "prompt name", "training images"], style_rows, right_from=2).rstrip("\n"), "",
        "## Settings", "",
        _settings_table(cfg, info, steps_done), "",
        "## Use", "",
        "```python",
        "from diffusers import StableDiffusionPipeline",
        f"pipe = StableDiffusionPipeline.from_pretrained({cfg.pretrained!r})",
        "pipe.load_lora_weights('THIS_FOLDER')",
        f"image = pipe({examples[0]!r}).images[0]",
        "```", "",
        "or `artstyle lora generate THIS_FOLDER --styles all --compare`.", "",
    ]
    if cfg.train_text_encoder:
        lines += [_TEXT_ENCODER_NOTE, ""]
    write_text(run / "README.md", "\n".join(lines))


__all__ = ["write_model_card"]
