"""Paint styles with a trained LoRA: ``<Style>.png`` per style, and base model vs LoRA with ``--compare``.

Usage::

    out = generate(LoraGenerateConfig(run="runs/lora/<run>", styles=["Baroque"], n=4, compare=True))
    images = paint(pipe, "a painting in the style of Baroque", n=4, seed=0, steps=30, guidance=7.5, size=512)
    save_png(prompt_grid([("with LoRA", images)], synthetic=False), path)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from artstyle.errors import ArtstyleError
from artstyle.lora.config import DEFAULT_MODEL, DEFAULT_TEMPLATE, WEIGHTS_NAME, LoraGenerateConfig
from artstyle.lora.prompts import check_template, render_prompt, select_styles
from artstyle.lora.weights import load_lora_for_inference


def paint(pipe: Any, prompt: str, n: int, seed: int, steps: int, guidance: float, size: int, negative: str = "",
          batch: int = 4, lora_scale: float | None = None, blanked: list[bool] | None = None) -> np.ndarray:
    """``n`` images ``(n, size, size, 3)`` uint8 for one prompt; image i uses a CPU generator seeded ``seed + i``.

    CPU generators make the same seed give the same starting noise on any device, so a base-model image and a
    LoRA image (or a GPU and a CPU run) differ only through the weights. ``blanked``, when given, receives one
    flag per image: True where the pipeline's safety checker replaced it with a black image.
    """
    out = []
    for start in range(0, n, max(1, batch)):
        k = min(batch, n - start)
        gens = [torch.Generator("cpu").manual_seed(seed + start + j) for j in range(k)]
        kwargs = {"cross_attention_kwargs": {"scale": lora_scale}} if lora_scale is not None else {}
        result = pipe(prompt, negative_prompt=negative or None, num_images_per_prompt=k, generator=gens,
                      num_inference_steps=steps, guidance_scale=guidance, height=size, width=size,
                      output_type="np", **kwargs)
        out.append((np.clip(result.images, 0, 1) * 255).round().astype(np.uint8))
        if blanked is not None:
            flags = getattr(result, "nsfw_content_detected", None)
            blanked.extend(bool(f) for f in (flags if flags is not None else [False] * k))
    return np.concatenate(out)


def prompt_grid(rows: Sequence[tuple[str, Any]], synthetic: bool = False) -> np.ndarray:
    """Rows of images ``[(caption, (N, S, S, 3) uint8)]`` as one uint8 image, each row under its caption.

    Short rows are padded with white cells so every row has the same width; the image is at least as wide as
    the longest caption.
    """
    from artstyle.figures.grids import captioned_grid

    ncol = max(len(images) for _, images in rows)
    cells = []
    for _, images in rows:
        images = np.asarray(images, dtype=np.uint8)
        if len(images) < ncol:
            images = np.concatenate([images, np.full((ncol - len(images), *images.shape[1:]), 255, np.uint8)])
        cells.append(images)
    image, _ = captioned_grid(np.stack(cells), row_captions=[caption for caption, _ in rows], synthetic=synthetic)
    return image


@dataclass
class _Source:
    """What ``generate`` takes from the run: its weights, training settings and styles."""

    run: Path
    train_cfg: dict[str, Any]
    styles: list[str]
    synthetic: bool
    template: str
    size: int
    pretrained: str


def _read_run(cfg: LoraGenerateConfig) -> _Source:
    """Check the run and the settings before any model is loaded."""
    from artstyle.runs import find_run, read_json

    if not cfg.run:
        raise ArtstyleError("give the lora run directory: artstyle lora generate RUN")
    run = find_run(cfg.run)
    if not (run / WEIGHTS_NAME).is_file():
        raise ArtstyleError(f"{run} has no {WEIGHTS_NAME}: training did not finish; finish it with "
                            f"`artstyle lora train --resume {run}`")
    train_cfg, classes_info = read_json(run / "config.json").get("config", {}), read_json(run / "classes.json")
    styles = select_styles(cfg.styles, classes_info["classes"])
    if cfg.n < 1 or cfg.steps < 1:
        raise ArtstyleError("--n and --steps must be at least 1")
    template = cfg.prompt or train_cfg.get("prompt_template", DEFAULT_TEMPLATE)
    check_template(template)
    size = cfg.resolution or int(train_cfg.get("resolution", 512))
    if size % 8:
        raise ArtstyleError(f"--resolution {size}: use a multiple of 8")
    pretrained = cfg.pretrained or train_cfg.get("pretrained", DEFAULT_MODEL)
    return _Source(run, train_cfg, styles, bool(classes_info.get("synthetic")), template, size, pretrained)


def output_dir(cfg: LoraGenerateConfig, run: Path, overwrite: bool = False, clear: bool = False) -> Path:
    """The folder ``generate`` writes into (``--out`` or ``RUN/figures/generate/``), checked before any model loads.

    A non-empty folder is refused unless ``overwrite``; with ``clear`` an earlier ``lora generate`` there is then
    emptied (``runs.prepare_run_dir``'s rule), and any other folder is written into but never emptied.
    """
    from artstyle.runs import run_stage

    out = Path(cfg.out) if cfg.out else run / "figures" / "generate"
    if cfg.out and (out.resolve() == run.resolve() or out.resolve() in run.resolve().parents):
        raise ArtstyleError(f"--out {out} holds the lora run itself; choose another folder")
    if out.exists() and not out.is_dir():
        raise ArtstyleError(f"--out {out} is a file; choose a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ArtstyleError(f"{out} already holds files (an earlier `lora generate`?); pass --overwrite to "
                                "replace them or choose another --out")
        stage = run_stage(out)[0] if (out / "config.json").is_file() else None
        if clear and stage == "lora-generate":
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return out


def _base_pipeline(cfg: LoraGenerateConfig, src: _Source) -> tuple[Any, str]:
    """``(pipeline with DPM-Solver++ on the device, device)``: fp16 on CUDA, fp32 elsewhere."""
    from diffusers import DPMSolverMultistepScheduler

    from artstyle.engine import set_threads
    from artstyle.lora.base_model import load_pipeline

    set_threads(0)
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    # The run's revision and variant belong to its base model; another --pretrained gets its own defaults.
    pipe = load_pipeline(src.pretrained, src.train_cfg.get("revision", "") if not cfg.pretrained else "",
                         src.train_cfg.get("variant", "") if not cfg.pretrained else "", dtype=dtype)
    # The run's --prediction-type is what its LoRA learned to predict; the sampler must read the UNet the same way.
    trained = src.train_cfg.get("prediction_type")
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config,
                                                             **({"prediction_type": trained} if trained else {}))
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe, device


def generate(cfg: LoraGenerateConfig, overwrite: bool = False) -> Path:
    """Paint ``cfg.n`` images per style with the run's LoRA; return the output folder.

    The output folder must be new or empty unless ``overwrite`` (see :func:`output_dir`).

    Writes ``<Style>.png`` (one row of images), ``<Style>-compare.png`` with ``--compare`` (base model row above
    the LoRA row, same seeds), ``generate.json`` (prompts, seeds, settings, files) and ``config.json`` (stage
    ``lora-generate`` and the command that repeats it).
    """
    from tqdm.auto import tqdm

    from artstyle.config import command_line, config_dict
    from artstyle.figures import save_png
    from artstyle.runs import write_config, write_json

    src = _read_run(cfg)
    output_dir(cfg, src.run, overwrite)  # before the model loads: a refused folder costs nothing
    pipe, device = _base_pipeline(cfg, src)
    out = output_dir(cfg, src.run, overwrite, clear=True)
    out.mkdir(parents=True, exist_ok=True)
    prompts = {s: render_prompt(src.template, s, cfg.genre or None, cfg.artist or None) for s in src.styles}
    common = dict(steps=cfg.steps, guidance=cfg.guidance, size=src.size, negative=cfg.negative_prompt, batch=cfg.batch)

    base, blanked = {}, {"lora": {}, "base": {}}
    if cfg.compare:  # the base model first, before the LoRA is loaded at all
        for s in tqdm(src.styles, desc="base model", disable=not cfg.progress):
            base[s] = paint(pipe, prompts[s], cfg.n, cfg.seed, blanked=blanked["base"].setdefault(s, []), **common)
    try:
        load_lora_for_inference(pipe, src.run, src.train_cfg)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ArtstyleError(f"could not load {src.run / WEIGHTS_NAME} into {src.pretrained} ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200]}); is --pretrained the model the LoRA was trained on?") from exc
    files = []
    for s in tqdm(src.styles, desc="with LoRA", disable=not cfg.progress):
        images = paint(pipe, prompts[s], cfg.n, cfg.seed, lora_scale=cfg.lora_scale,
                       blanked=blanked["lora"].setdefault(s, []), **common)
        save_png(prompt_grid([(prompts[s], images)], src.synthetic), out / f"{s}.png")
        files.append(f"{s}.png")
        if cfg.compare:
            grid = prompt_grid([(f"base model: {prompts[s]}", base[s]),
                                (f"with LoRA (scale {cfg.lora_scale:g}): {prompts[s]}", images)], src.synthetic)
            save_png(grid, out / f"{s}-compare.png")
            files.append(f"{s}-compare.png")
    write_config(out, "lora-generate", command_line("artstyle lora generate", cfg),
                 {"config": config_dict(cfg), "run": str(src.run), "pretrained": src.pretrained})
    write_json(out / "generate.json", {"run": str(src.run), "pretrained": src.pretrained, "prompts": prompts,
                                       "seeds": [cfg.seed + i for i in range(cfg.n)], "steps": cfg.steps,
                                       "guidance": cfg.guidance, "lora_scale": cfg.lora_scale, "size": src.size,
                                       "negative_prompt": cfg.negative_prompt, "device": device,
                                       "prediction_type": pipe.scheduler.config.prediction_type,
                                       "synthetic_training_data": src.synthetic, "files": files,
                                       # per style, one flag per seed: the safety checker blanked that image
                                       "blanked": blanked if cfg.compare else {"lora": blanked["lora"]}})
    return out


__all__ = ["generate", "output_dir", "paint", "prompt_grid"]
