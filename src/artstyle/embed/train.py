"""``artstyle embed train``: a from-scratch autoencoder, compared with a PCA baseline of the same size.

Usage::

    run = train_autoencoder(EmbedTrainConfig(data="builtin", size=64, latent_dim=256, epochs=20))
    model, info = load_autoencoder(run)                  # needs only the run directory

A train run directory holds config.json (with a "model" section), classes.json, metrics.jsonl (per epoch:
train/val loss, val PSNR and SSIM), best/last.safetensors, metrics.json (the best checkpoint against a PCA
baseline of the same latent dimension, on the same validation images) and figures/: recon_epoch<E>.png per
epoch, reconstructions.png (the latest), pca_vs_ae.png and learning_curves.png.
"""

from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle.config import command_line, config_dict
from artstyle.data.cache import open_cache
from artstyle.dist import is_main_process, main_process_first, shared_run_dir
from artstyle.embed.config import GRID_ARCHS, EmbedTrainConfig
from artstyle.embed.measure import (default_device, fit_pca, pca_metrics, pca_reconstruct, pca_rows,
                                    reconstruct, reconstruction_metrics)
from artstyle.embed.task import AutoencoderTask
from artstyle.engine import budget_deadline, fit, to_uint8
from artstyle.errors import ArtstyleError
from artstyle.runs import (create_run, find_run, load_weights, prepare_run_dir, read_json, read_jsonl, write_bytes,
                           write_config, write_json)

FIGURE_IMAGES = 8


def figure_rows(n_rows: int, k: int = FIGURE_IMAGES) -> np.ndarray:
    """``k`` evenly spaced positions in ``range(n_rows)``: a fixed, deterministic figure sample."""
    return np.unique(np.linspace(0, n_rows - 1, num=min(k, n_rows)).round().astype(int)) if n_rows else np.zeros(0, int)


def _model_args(cfg: EmbedTrainConfig) -> dict[str, Any]:
    return {"arch": cfg.arch, "latent_dim": cfg.latent_dim, "img_size": cfg.size, "width": cfg.width,
            "blocks": cfg.blocks}


def _build(model_args: dict[str, Any]) -> torch.nn.Module:
    from artstyle.models.autoencoder import build_autoencoder

    return build_autoencoder(model_args["arch"], model_args["latent_dim"], model_args["img_size"],
                             model_args.get("width", 32), model_args.get("blocks", 2))


def _check_config(cfg: EmbedTrainConfig) -> None:
    if cfg.size % 16 or cfg.size < 16:
        raise ArtstyleError(f"--size {cfg.size}: the autoencoder needs a multiple of 16 (e.g. 32, 64 or 128)")
    if cfg.latent_dim < 1:
        raise ArtstyleError(f"--latent-dim {cfg.latent_dim}: choose a positive size, e.g. 256")
    if cfg.width < 1:
        raise ArtstyleError(f"--width {cfg.width}: choose a positive channel width, e.g. 32")
    if cfg.blocks < 0 or (cfg.blocks != 2 and cfg.arch not in GRID_ARCHS):
        raise ArtstyleError(f"--blocks {cfg.blocks}: choose 0 or more residual blocks, with --arch grid or grid-fine "
                            f"(--arch {cfg.arch} has a fixed depth)")
    if cfg.train_crop and cfg.arch == "conv":
        raise ArtstyleError(f"--train-crop {cfg.train_crop} needs --arch grid, grid-fine or spatial (the conv model "
                            "takes whole images only)")
    if cfg.train_crop:
        from artstyle.models.autoencoder import latent_grid

        stride = cfg.size // latent_grid(cfg.latent_dim, cfg.size)
        if cfg.train_crop % stride or not stride <= cfg.train_crop <= cfg.size:
            raise ArtstyleError(f"--train-crop {cfg.train_crop}: choose a multiple of {stride} (the latent's stride) up to "
                                f"--size {cfg.size}, or 0 for whole images")
    if cfg.refine_steps < 0:
        raise ArtstyleError(f"--refine-steps {cfg.refine_steps}: choose 0 (off) or more Adam steps, e.g. 50")
    if not 0 <= cfg.shift < cfg.size // 2:
        raise ArtstyleError(f"--shift {cfg.shift}: choose 0 (off) up to {cfg.size // 2 - 1} px (under half of --size "
                            f"{cfg.size})")
    if cfg.pca_samples == 1 or cfg.pca_samples < 0:
        raise ArtstyleError(f"--pca-samples {cfg.pca_samples}: the PCA baseline needs at least 2 images (0 = all "
                            "training images)")


def _train_transform(cfg: EmbedTrainConfig) -> Any:
    """Random shifts (``--shift``), crops (``--train-crop``) and flips (``--augment``); no colour jitter: palette is
    part of the signal."""
    from torchvision.transforms import v2

    steps = [v2.RandomCrop(cfg.size, padding=cfg.shift, padding_mode="reflect")] if cfg.shift else []
    steps += [v2.RandomCrop(cfg.train_crop)] if cfg.train_crop and cfg.train_crop < cfg.size else []
    steps += [v2.RandomHorizontalFlip()] if cfg.augment else []
    return v2.Compose(steps) if steps else None


def _write_run_files(run: Path, cfg: EmbedTrainConfig, cache: Any, val_split: str) -> None:
    """config.json (the resolved config, the model's arguments, the input and the data) and classes.json."""
    write_config(run, "embed", command_line("artstyle embed train", cfg), {
        "config": config_dict(cfg), "model": _model_args(cfg),
        "input": {"size": cfg.size, "range": [-1, 1], "resize": cache.meta["policy"]},
        "data": {"source": cache.source, "synthetic": cache.synthetic, "cache": str(cache.root),
                 "val_split": val_split}})
    write_json(run / "classes.json", {"classes": cache.classes})


def train_autoencoder(cfg: EmbedTrainConfig) -> Path:
    """Train an autoencoder, compare its best checkpoint with PCA on the validation images; return the run."""
    started = time.perf_counter()  # --time-budget counts the whole command from here
    from artstyle.data.dataset import CachedImages
    from artstyle.figures import save_png
    from artstyle.figures.embed import plot_reconstructions

    if cfg.resume:
        run = find_run(cfg.resume)
        recorded = read_json(run / "config.json")
        # the architecture the weights were built with, also for runs from before --arch's default changed
        saved = {**recorded["config"], "arch": recorded.get("model", {}).get("arch", recorded["config"].get("arch"))}
        unknown = sorted(set(saved) - {f.name for f in fields(EmbedTrainConfig)})
        if unknown:
            raise ArtstyleError(f"--resume {run}: its config.json has settings this version of artstyle lacks "
                                f"({', '.join(unknown)}); resume it with the version that made it, or start a new run")
        cfg = EmbedTrainConfig(**{**saved, "resume": cfg.resume, "progress": cfg.progress})
    _check_config(cfg)
    with main_process_first():
        cache = open_cache(cfg)
    if len(cache.indices("train")) < 2:
        raise ArtstyleError(f"--data {cfg.data}: the autoencoder needs at least 2 training images")
    val_split = "val" if (cache.splits == "val").any() else "test"
    val_rows = cache.indices(val_split)
    if len(val_rows) == 0:
        raise ArtstyleError(f"--data {cfg.data} has no val or test images to measure reconstructions on")
    if not cfg.resume:
        name = cfg.name or f"{cfg.arch}-d{cfg.latent_dim}"
        run = shared_run_dir(lambda: prepare_run_dir(cfg.out, cfg.overwrite) if cfg.out else create_run("embed", name))
    if not cfg.resume and is_main_process():
        _write_run_files(run, cfg, cache, val_split)
    transform = _train_transform(cfg)
    train_ds = CachedImages(cache, "train", transform=transform)
    val_ds = CachedImages(cache, val_split)
    fixed = np.asarray(cache.images[val_rows[figure_rows(len(val_rows))]])

    def on_epoch_end(model: torch.nn.Module, epoch: int, record: dict) -> None:
        title = f"Epoch {epoch}: val PSNR {record.get('val_psnr', float('nan')):.2f} dB"
        image = plot_reconstructions([("original", fixed), ("autoencoder", reconstruct(model, fixed))], title,
                                     cache.synthetic)
        path = save_png(image, run / "figures" / f"recon_epoch{epoch}.png")
        write_bytes(run / "figures" / "reconstructions.png", path.read_bytes())

    torch.manual_seed(cfg.seed)
    model = _build(_model_args(cfg))
    linear_init = None if cfg.resume else _init_linear(model, cache, cfg, val_rows)
    task = AutoencoderTask(cfg.loss, cfg.channels_last)
    t0 = time.perf_counter()
    summary = fit(model, task, train_ds, val_ds, run, cfg, resume=bool(cfg.resume), on_epoch_end=on_epoch_end,
                  metadata={"arch": cfg.arch, "latent_dim": str(cfg.latent_dim)},
                  deadline=budget_deadline(cfg.time_budget, started))
    summary["train_seconds"] = time.perf_counter() - t0
    if summary["is_main_process"]:
        _final_evaluation(run, cfg, cache, val_split, summary, linear_init)
    return run


def _init_linear(model: torch.nn.Module, cache: Any, cfg: EmbedTrainConfig, val_rows: np.ndarray) -> dict | None:
    """Start a ``grid``, ``grid-fine`` or ``spatial`` model's linear path at the patch PCA of the training images
    (all of them up to the memory cap of the PCA baseline, or ``--pca-samples``).

    Returns the scores of that starting point on the validation images (what training has to improve on),
    with ``seconds`` (counted in the time budget) and ``explained_variance``; None for other architectures."""
    if not hasattr(model, "init_linear"):
        return None
    t0 = time.perf_counter()
    pick = pca_rows(cache.indices("train"), cfg.size, cfg.pca_samples, cfg.seed)
    explained = model.init_linear(torch.from_numpy(np.asarray(cache.images[pick])).permute(0, 3, 1, 2))  # uint8
    scores = reconstruction_metrics(model, cache.images, cfg.loss, val_rows)
    return {**scores, "explained_variance": explained, "fit_images": int(len(pick)),
            "seconds": time.perf_counter() - t0}


def _final_evaluation(run: Path, cfg: EmbedTrainConfig, cache: Any, split: str, summary: dict,
                      linear_init: dict | None = None) -> None:
    """metrics.json (best AE vs PCA on the validation images), pca_vs_ae.png and learning_curves.png."""
    from artstyle.figures import save_figure, save_png
    from artstyle.figures.embed import plot_learning_curves, plot_reconstructions

    model, _ = load_autoencoder(run)
    model.to(default_device())
    rows = cache.indices(split)
    ae = reconstruction_metrics(model, cache.images, cfg.loss, rows)
    refined = _refined_metrics(model, cache, cfg, rows)
    t0 = time.perf_counter()
    pca = fit_pca(cache, cache.indices("train"), cfg.latent_dim, cfg.pca_samples, cfg.seed)
    base = pca_metrics(pca, cache.images, cfg.loss, rows)
    base.update(components=int(pca.n_components_), fit_images=int(pca.n_samples_),
                train_images=len(cache.indices("train")),
                explained_variance=float(pca.explained_variance_ratio_.sum()), seconds=time.perf_counter() - t0)
    write_json(run / "metrics.json", {
        "autoencoder": ae, "autoencoder_refined": refined, "pca_baseline": base, "linear_init": linear_init,
        "latent_dim": cfg.latent_dim, "synthetic": cache.synthetic,
        "split": split, "n_images": int(len(rows)), "loss": cfg.loss, "size": cfg.size, "training": summary,
        "data": {"source": cache.source, "synthetic": cache.synthetic}})
    fixed = np.asarray(cache.images[rows[figure_rows(len(rows))]])
    pca_imgs = to_uint8(pca_reconstruct(pca, fixed)).permute(0, 2, 3, 1).numpy()
    title = (f"{split} images: AE {ae['psnr']:.2f} dB / SSIM {ae['ssim']:.3f}, PCA-{base['components']} "
             f"{base['psnr']:.2f} dB / SSIM {base['ssim']:.3f}")
    rows_shown = [("original", fixed), (f"AE (d={cfg.latent_dim})", reconstruct(model, fixed))]
    if refined:
        rows_shown.append((f"AE, refined ({cfg.refine_steps} steps)",
                           reconstruct(model, fixed, refine_steps=cfg.refine_steps)))
        title += f"; refined {refined['psnr']:.2f} dB"
    save_png(plot_reconstructions(rows_shown + [(f"PCA ({base['components']})", pca_imgs)], title, cache.synthetic),
             run / "figures" / "pca_vs_ae.png")
    save_figure(plot_learning_curves(read_jsonl(run / "metrics.jsonl"), synthetic=cache.synthetic),
                run / "figures" / "learning_curves.png")


def _refined_metrics(model: torch.nn.Module, cache: Any, cfg: EmbedTrainConfig, rows: np.ndarray) -> dict | None:
    """The scores of refined latents (``--refine-steps``), with ``steps``, ``lr`` and ``seconds``; None when off."""
    if cfg.refine_steps <= 0:
        return None
    from artstyle.embed.refine import REFINE_LR

    t0 = time.perf_counter()
    scores = reconstruction_metrics(model, cache.images, cfg.loss, rows, refine_steps=cfg.refine_steps)
    return {**scores, "steps": cfg.refine_steps, "lr": REFINE_LR, "seconds": time.perf_counter() - t0}


def load_autoencoder(run: str | Path, weights: str = "best") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a trained autoencoder from its run directory alone. Returns ``(model in eval mode, info)``.

    ``info`` has ``classes``, ``size``, ``latent_dim``, ``loss`` and the saved ``config``.
    """
    from artstyle.models.autoencoder import AUTOENCODERS

    run = find_run(run)
    info = read_json(run / "config.json")
    if info.get("model", {}).get("arch") not in AUTOENCODERS or "latent_dim" not in info.get("model", {}):
        raise ArtstyleError(f"{run} is not an `artstyle embed train` run (config.json has no autoencoder model "
                            "section); pass the directory printed by `artstyle embed train`")
    model = load_weights(_build(info["model"]), run / f"{weights}.safetensors")
    classes = read_json(run / "classes.json")["classes"]
    return model, {"classes": classes, "size": info["model"]["img_size"], "latent_dim": info["model"]["latent_dim"],
                   "loss": info.get("config", {}).get("loss", "mse"), "config": info}


__all__ = ["FIGURE_IMAGES", "figure_rows", "load_autoencoder", "train_autoencoder"]
