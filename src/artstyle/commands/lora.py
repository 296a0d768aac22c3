"""``artstyle lora``: LoRA-fine-tune a pretrained Stable-Diffusion-class model on art styles, then paint with it.

Usage: ``artstyle lora train --pretrained stable-diffusion-v1-5/stable-diffusion-v1-5 --data /data/wikiart``;
``artstyle lora generate runs/lora/<run> --styles Baroque,Ukiyo-e --compare``;
``accelerate launch -m artstyle.cli lora train ...`` on several GPUs.

The settings come from the torch-free ``artstyle.lora.config``; diffusers, peft and torch are imported inside the
commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import typer

from artstyle.config import typer_command
from artstyle.lora.config import LoraGenerateConfig, LoraTrainConfig

app = typer.Typer(help="LoRA fine-tuning of a pretrained text-to-image model (Stable Diffusion 1.x/2.x class) on the "
                       "styles of --data, and per-style image generation with the result. Needs the base model's "
                       "weights (hub id in the local cache, or a diffusers folder) and, in practice, a GPU.",
                  no_args_is_help=True)


def _train(cfg: LoraTrainConfig) -> None:
    from artstyle.dist import is_main_process
    from artstyle.lora import train_lora
    from artstyle.runs import read_jsonl

    run = train_lora(cfg)
    if not is_main_process():
        return
    last = (read_jsonl(run / "metrics.jsonl") or [{}])[-1]
    if "loss" in last:
        typer.echo(f"step {last['step']}: loss {last['loss']:.4f}")
    typer.echo(f"run: {run}")


def _generate(cfg: LoraGenerateConfig, overwrite: bool) -> None:
    from artstyle.lora import generate
    from artstyle.runs import read_json

    out = generate(cfg, overwrite=overwrite)
    files = read_json(out / "generate.json")["files"]
    typer.echo(f"{len(files)} grids in {out}")


typer_command(app, "train", LoraTrainConfig, _train,
              help="Add LoRA adapters to the UNet attention layers of --pretrained (optionally the text encoder) and "
                   "train them on --data with one prompt per image built from --prompt-template. Writes "
                   "runs/lora/<timestamp>-<name>/ with pytorch_lora_weights.safetensors (diffusers format), "
                   "config.json, metrics.jsonl, README.md (model card), checkpoints and validation grids. Works "
                   "unchanged under `accelerate launch -m artstyle.cli lora train ...`.")

typer_command(app, "generate", LoraGenerateConfig, _generate,
              help="Paint --n images per style with a trained LoRA: RUN/figures/generate/<Style>.png, and with "
                   "--compare <Style>-compare.png (base model above, LoRA below, same seeds).",
              extra={"overwrite": (bool, typer.Option(False, help="Allow the output folder (--out, or "
                                                                  "RUN/figures/generate/) to hold files already; an "
                                                                  "earlier generate there is emptied first."))})
