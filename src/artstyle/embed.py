"""Compressed representations of paintings: a from-scratch autoencoder, a PCA baseline, embeddings export.

Usage::

    run = train_autoencoder(EmbedTrainConfig(data="builtin", size=64, latent_dim=256, epochs=20))
    model, info = load_autoencoder(run)                  # needs only the run directory
    export_embeddings("builtin", "ae", run=run)          # -> RUN/embeddings-ae.npz (artstyle.embeddings format)
    export_embeddings("builtin", "color-hist")           # -> runs/embed/<ts>-color-hist/embeddings.npz

A train run directory holds config.json (with a "model" section), classes.json, metrics.jsonl (per epoch:
train/val loss, val PSNR and SSIM), best/last.safetensors, metrics.json (the best checkpoint against a PCA
baseline of the same latent dimension, on the same validation images) and figures/: recon_epoch<E>.png per
epoch, reconstructions.png (the latest), pca_vs_ae.png and learning_curves.png.

Defaults and why:

- ``size=64``: a 64 px autoencoder trains about 4x faster than at the classifier's 128 px, and what the
  cluster question is about (palette, composition, coarse texture) survives at 64 px; fine brushwork does
  not, so train at 128 when that matters and a GPU is at hand.
- ``latent_dim=256``: 48x compression of a 64x64x3 image: enough for layout and colour, small enough that
  clustering, t-SNE and UMAP stay fast, and the same order as the classifier's penultimate layer, so the
  ``ae`` and ``classifier`` embeddings can be compared at a similar dimension.
- Reconstruction metrics (loss, PSNR, SSIM) are computed on [0, 1] images, per image, then averaged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.constants import DATA_HELP
from artstyle.data.cache import open_cache
from artstyle.config import config_dict, opt
from artstyle.dist import is_main_process, main_process_first, shared_run_dir
from artstyle.engine import TrainSettings, fit, set_threads, to_float, to_uint8
from artstyle.errors import ArtstyleError
from artstyle.runs import (create_run, find_run, load_weights, prepare_run_dir, read_json, read_jsonl, write_bytes,
                           write_json)

LOSSES = ("mse", "l1", "l1+ssim")
SSIM_WEIGHT = 0.84
"""``l1+ssim``: weight of (1 - SSIM) against L1, as in Zhao et al. 2017 ("Loss functions for image restoration")."""
PSNR_CAP = 100.0
"""PSNR of a perfect reconstruction (dB); keeps identical images finite."""
FIGURE_IMAGES = 8
THUMB_SIZE = 32
SPLITS = ("all", "train", "val", "test")


@dataclass
class EmbedTrainConfig(TrainSettings):
    data: str = opt("builtin", DATA_HELP)
    label_column: str = opt("style", "Label column for Hugging Face sources (only used for figures and exports).")
    size: int = opt(64, "Image size in pixels, a multiple of 16. 64 trains ~4x faster than 128 and keeps palette "
                    "and composition.")
    arch: str = opt("conv", "Autoencoder architecture.", choices=("conv",))
    latent_dim: int = opt(256, "Latent vector size: 48x compression at 64 px, small enough for fast clustering.")
    width: int = opt(32, "Base channel width of the autoencoder (16 is ~3x faster on a CPU).")
    loss: str = opt("mse", "Reconstruction loss: mse, l1, or l1+ssim (0.84 (1-SSIM) + 0.16 L1).", choices=LOSSES)
    augment: bool = opt(True, "Random horizontal flips during training.")
    pca_samples: int = opt(2000, "Training images the PCA baseline is fitted on (a random subsample).")
    patience: int = opt(3, "Early stopping: epochs without a val PSNR improvement (0 = off).")
    weight_decay: float = opt(1e-4, "AdamW weight decay (small: an autoencoder should not be pulled to zero).")
    name: str = opt("", "Run name (default: <arch>-d<latent_dim>).")
    out: str = opt("", "Explicit run directory (default: runs/embed/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to be an existing, non-empty directory.")
    resume: str = opt("", "Continue the run in this directory exactly where its last checkpoint left off.")
    cache: str = opt("", "Use this prepared cache directory instead of preparing --data.")


# ---------------------------------------------------------------- losses and metrics (on [0, 1] images)


def _gaussian_window(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    g = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-g ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Differentiable SSIM (Wang et al. 2004) per image: ``(N, C, H, W)`` twice in [0, 1] -> ``(N,)``.

    Gaussian window (11, sigma 1.5; the largest odd size that fits for smaller images), valid region only,
    K1 = 0.01, K2 = 0.03, per channel then averaged. Always computed in float32, also under autocast.
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        x, y = x.float(), y.float()
        size = min(window, x.shape[-1], x.shape[-2])
        size -= (size + 1) % 2  # an odd window keeps the filter centred
        g = _gaussian_window(size, sigma, x.device)
        c = x.shape[1]
        kx, ky = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

        def filt(t: torch.Tensor) -> torch.Tensor:  # separable: two 1-D passes instead of one 2-D
            return F.conv2d(F.conv2d(t, kx, groups=c), ky, groups=c)

        c1, c2 = 0.01 ** 2, 0.03 ** 2
        mx, my = filt(x), filt(y)
        sxx, syy, sxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
        num = (2 * mx * my + c1) * (2 * sxy + c2)
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        return (num / den).mean((1, 2, 3))


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image of ``(N, C, H, W)`` in [0, 1], capped at :data:`PSNR_CAP` -> ``(N,)``."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1)
    return (-10 * torch.log10(mse.clamp_min(10 ** (-PSNR_CAP / 10)))).clamp_max(PSNR_CAP)


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Per-image loss ``(N,)`` between ``(N, 3, H, W)`` images in [-1, 1], computed on the [0, 1] scale."""
    a, b = (recon.float() + 1) / 2, (target.float() + 1) / 2
    if kind == "mse":
        return (a - b).pow(2).flatten(1).mean(1)
    l1 = (a - b).abs().flatten(1).mean(1)
    if kind == "l1":
        return l1
    if kind == "l1+ssim":
        return SSIM_WEIGHT * (1 - ssim(a, b)) + (1 - SSIM_WEIGHT) * l1
    raise ArtstyleError(f"--loss {kind!r} is not one of: {', '.join(LOSSES)}")


def image_scores(recon: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> dict[str, torch.Tensor]:
    """Per-image ``loss``, ``mse``, ``psnr`` and ``ssim`` ``(N,)`` for images ``(N, 3, H, W)`` in [-1, 1]."""
    a, b = (recon.float().clamp(-1, 1) + 1) / 2, (target.float() + 1) / 2
    return {"loss": reconstruction_loss(recon, target, kind), "mse": (a - b).pow(2).flatten(1).mean(1),
            "psnr": psnr(a, b), "ssim": ssim(a, b)}


class AutoencoderTask:
    """Reconstruction loss for the engine; monitors validation PSNR (higher is better)."""

    monitor = "psnr"
    mode = "max"

    def __init__(self, loss: str = "mse", channels_last: bool = True) -> None:
        if loss not in LOSSES:
            raise ArtstyleError(f"--loss {loss!r} is not one of: {', '.join(LOSSES)}")
        self.loss = loss
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        images, _ = batch
        x = to_float(images).contiguous(memory_format=self.memory_format)
        return reconstruction_loss(model(x), x, self.loss).mean(), {}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, loader: Any, accelerator: Any) -> dict[str, float]:
        model.eval()
        parts: dict[str, list[torch.Tensor]] = {}
        for images, _ in loader:
            x = to_float(images).contiguous(memory_format=self.memory_format)
            with accelerator.autocast():
                recon = model(x)
            scores = accelerator.gather_for_metrics(image_scores(recon, x, self.loss))
            for k, v in scores.items():
                parts.setdefault(k, []).append(v.cpu())
        return {k: float(torch.cat(v).mean()) for k, v in parts.items()}


# ---------------------------------------------------------------- reconstruction of cached images


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def reconstruct(model: torch.nn.Module, images: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """uint8 ``(N, H, W, 3)`` -> the model's uint8 reconstructions ``(N, H, W, 3)`` (eval mode, restored after)."""
    was_training, device = model.training, _device(model)
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size])).permute(0, 3, 1, 2).to(device)
        out.append(to_uint8(model(to_float(x))).permute(0, 2, 3, 1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros_like(images)


def _batches(images: np.ndarray, rows: np.ndarray | None, batch_size: int) -> Any:
    """Yield uint8 ``(B, H, W, 3)`` arrays of ``images[rows]`` (all rows when None), one batch in memory at a time."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    for i in range(0, len(rows), batch_size):
        yield np.ascontiguousarray(images[rows[i:i + batch_size]])


@torch.no_grad()
def reconstruction_metrics(model: torch.nn.Module, images: np.ndarray, loss: str = "mse", rows: np.ndarray | None = None,
                           batch_size: int = 128) -> dict[str, float]:
    """Mean ``loss``, ``mse``, ``psnr``, ``ssim`` of ``model`` on uint8 ``images[rows]`` ``(N, H, W, 3)``.

    ``images`` may be the cache's memmap: it is read ``batch_size`` rows at a time.
    """
    was_training, device = model.training, _device(model)
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in _batches(images, rows, batch_size):
        x = to_float(torch.from_numpy(batch).permute(0, 3, 1, 2).to(device))
        for k, v in image_scores(model(x), x, loss).items():
            parts.setdefault(k, []).append(v.cpu())
    model.train(was_training)
    return {k: float(torch.cat(v).mean()) for k, v in parts.items()}


# ---------------------------------------------------------------- PCA baseline


def fit_pca(cache: Any, rows: np.ndarray, n_components: int, max_samples: int = 2000, seed: int = 0,
            memory_budget: int = 1 << 30) -> Any:
    """sklearn PCA (randomized SVD) fitted on the pixels of up to ``max_samples`` of ``rows`` (in [0, 1]).

    The sample is also capped so the float32 pixel matrix stays under ``memory_budget`` bytes. With fewer
    images than ``n_components`` the PCA gets as many components as images.
    """
    from sklearn.decomposition import PCA

    dim = cache.size * cache.size * 3
    cap = max(2, min(max_samples, memory_budget // (4 * dim)))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(rows, size=min(cap, len(rows)), replace=False))  # sorted: sequential memmap reads
    x = np.asarray(cache.images[pick], dtype=np.float32).reshape(len(pick), -1) / 255.0
    k = min(n_components, len(pick), dim)
    return PCA(n_components=k, svd_solver="randomized", random_state=seed).fit(x)


def pca_reconstruct(pca: Any, images: np.ndarray) -> np.ndarray:
    """uint8 ``(N, H, W, 3)`` -> PCA reconstructions as float32 ``(N, 3, H, W)`` in [-1, 1] (clipped)."""
    x = np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0
    rec = np.clip(pca.inverse_transform(pca.transform(x)), 0, 1).reshape(images.shape)
    return torch.from_numpy(rec.astype(np.float32)).permute(0, 3, 1, 2) * 2 - 1


def pca_metrics(pca: Any, images: np.ndarray, loss: str = "mse", rows: np.ndarray | None = None,
                batch_size: int = 256) -> dict[str, float]:
    """The same metrics as :func:`reconstruction_metrics`, for the PCA baseline, on ``images[rows]``."""
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in _batches(images, rows, batch_size):
        target = to_float(torch.from_numpy(batch).permute(0, 3, 1, 2))
        for k, v in image_scores(pca_reconstruct(pca, batch), target, loss).items():
            parts.setdefault(k, []).append(v)
    return {k: float(torch.cat(v).mean()) for k, v in parts.items()}


# ---------------------------------------------------------------- figures (pure plot functions)


def plot_reconstructions(rows: Sequence[tuple[str, np.ndarray]], title: str = "", synthetic: bool = False) -> Any:
    """Labelled rows of images: ``rows`` is ``[(label, uint8 (K, H, W, 3)), ...]``, e.g. originals over
    reconstructions. Returns the Figure."""
    from artstyle.figures import image_grid, new_figure, stamp_synthetic

    k = max(len(images) for _, images in rows)
    h = rows[0][1].shape[1]
    pad = 2
    grid = image_grid(np.concatenate([np.asarray(images) for _, images in rows]), nrow=k, pad=pad)
    fig, ax = new_figure(figsize=(1.0 * k + 1.6, 1.0 * len(rows) + 0.8))
    ax.imshow(grid, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([pad + i * (h + pad) + h / 2 for i in range(len(rows))], [label for label, _ in rows], fontsize=9)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title + (" (synthetic data)" if synthetic else ""), fontsize=10)
    stamp_synthetic(fig, synthetic)
    return fig


def plot_learning_curves(records: Sequence[dict], ax: Any = None, synthetic: bool = False) -> Any:
    """Train/val loss (left axis, log scale) and val PSNR (right axis) per epoch from ``metrics.jsonl`` records.

    Records without an epoch's metrics (e.g. a non-finite-loss event) are skipped. Returns the Figure.
    """
    from artstyle.figures import new_figure, stamp_synthetic

    own = ax is None
    fig, ax = new_figure(ax, figsize=(7, 4))
    recs = [r for r in records if "epoch" in r and "event" not in r]
    epochs = [r["epoch"] for r in recs]
    lines = []
    for key, label, style in (("train_loss", "train loss", "-o"), ("val_loss", "val loss", "-s")):
        pts = [(e, r[key]) for e, r in zip(epochs, recs) if key in r]
        if pts:
            lines += ax.plot(*zip(*pts), style, label=label, markersize=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("reconstruction loss")
    if any(v > 0 for line in lines for v in line.get_ydata()):
        ax.set_yscale("log")
    pts = [(e, r["val_psnr"]) for e, r in zip(epochs, recs) if "val_psnr" in r]
    if pts:
        twin = ax.twinx()
        lines += twin.plot(*zip(*pts), "-^", color="tab:green", label="val PSNR (dB)", markersize=4)
        twin.set_ylabel("val PSNR (dB)")
    if lines:
        ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center right")
    ax.set_title("Autoencoder learning curves" + (" (synthetic data)" if synthetic else ""))
    if epochs:
        ax.set_xticks(sorted(set(epochs)))
    if own and synthetic:
        fig.subplots_adjust(bottom=0.2)  # room for the synthetic-data note below the x label
    stamp_synthetic(fig, synthetic)
    return fig


def figure_rows(n_rows: int, k: int = FIGURE_IMAGES) -> np.ndarray:
    """``k`` evenly spaced positions in ``range(n_rows)``: a fixed, deterministic figure sample."""
    return np.unique(np.linspace(0, n_rows - 1, num=min(k, n_rows)).round().astype(int)) if n_rows else np.zeros(0, int)


# ---------------------------------------------------------------- train


def _model_args(cfg: EmbedTrainConfig) -> dict[str, Any]:
    return {"arch": cfg.arch, "latent_dim": cfg.latent_dim, "img_size": cfg.size, "width": cfg.width}


def _build(model_args: dict[str, Any]) -> torch.nn.Module:
    from artstyle.models.autoencoder import build_autoencoder

    return build_autoencoder(model_args["arch"], model_args["latent_dim"], model_args["img_size"],
                             model_args.get("width", 32))


def _check_config(cfg: EmbedTrainConfig) -> None:
    if cfg.size % 16 or cfg.size < 16:
        raise ArtstyleError(f"--size {cfg.size}: the autoencoder needs a multiple of 16 (e.g. 32, 64 or 128)")
    if cfg.latent_dim < 1:
        raise ArtstyleError(f"--latent-dim {cfg.latent_dim}: choose a positive size, e.g. 256")
    if cfg.width < 1:
        raise ArtstyleError(f"--width {cfg.width}: choose a positive channel width, e.g. 32")
    if cfg.pca_samples < 2:
        raise ArtstyleError(f"--pca-samples {cfg.pca_samples}: the PCA baseline needs at least 2 images")


def train_autoencoder(cfg: EmbedTrainConfig) -> Path:
    """Train an autoencoder, compare its best checkpoint with PCA on the validation images; return the run."""
    from artstyle.data.cache import CachedImages

    if cfg.resume:
        run = find_run(cfg.resume)
        saved = read_json(run / "config.json")["config"]
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
        write_json(run / "config.json", {"config": config_dict(cfg), "model": _model_args(cfg),
                                         "input": {"size": cfg.size, "range": [-1, 1], "resize": cache.meta["policy"]},
                                         "data": {"source": cache.source, "synthetic": cache.synthetic,
                                                  "cache": str(cache.root), "val_split": val_split}})
        write_json(run / "classes.json", {"classes": cache.classes})
    transform = None
    if cfg.augment:
        from torchvision.transforms import v2

        transform = v2.RandomHorizontalFlip()  # no crops or colour jitter: composition and palette are the signal
    train_ds = CachedImages(cache, "train", transform=transform)
    val_ds = CachedImages(cache, val_split)
    fixed = np.asarray(cache.images[val_rows[figure_rows(len(val_rows))]])

    def on_epoch_end(model: torch.nn.Module, epoch: int, record: dict) -> None:
        from artstyle.figures import save_figure

        title = f"Epoch {epoch}: val PSNR {record.get('val_psnr', float('nan')):.2f} dB"
        fig = plot_reconstructions([("original", fixed), ("autoencoder", reconstruct(model, fixed))], title,
                                   cache.synthetic)
        path = save_figure(fig, run / "figures" / f"recon_epoch{epoch}.png")
        write_bytes(run / "figures" / "reconstructions.png", path.read_bytes())

    torch.manual_seed(cfg.seed)
    model = _build(_model_args(cfg))
    task = AutoencoderTask(cfg.loss, cfg.channels_last)
    t0 = time.perf_counter()
    summary = fit(model, task, train_ds, val_ds, run, cfg, resume=bool(cfg.resume), on_epoch_end=on_epoch_end,
                  metadata={"arch": cfg.arch, "latent_dim": str(cfg.latent_dim)})
    summary["train_seconds"] = time.perf_counter() - t0
    if summary["is_main_process"]:
        _final_evaluation(run, cfg, cache, val_split, summary)
    return run


def _final_evaluation(run: Path, cfg: EmbedTrainConfig, cache: Any, split: str, summary: dict) -> None:
    """metrics.json (best AE vs PCA on the validation images), pca_vs_ae.png and learning_curves.png."""
    from artstyle.figures import save_figure

    model, _ = load_autoencoder(run)
    model.to(_torch_device())
    rows = cache.indices(split)
    ae = reconstruction_metrics(model, cache.images, cfg.loss, rows)
    t0 = time.perf_counter()
    pca = fit_pca(cache, cache.indices("train"), cfg.latent_dim, cfg.pca_samples, cfg.seed)
    base = pca_metrics(pca, cache.images, cfg.loss, rows)
    base.update(components=int(pca.n_components_), fit_images=int(pca.n_samples_),
                explained_variance=float(pca.explained_variance_ratio_.sum()), seconds=time.perf_counter() - t0)
    write_json(run / "metrics.json", {
        "autoencoder": ae, "pca_baseline": base, "latent_dim": cfg.latent_dim, "synthetic": cache.synthetic,
        "split": split, "n_images": int(len(rows)), "loss": cfg.loss, "size": cfg.size, "training": summary,
        "data": {"source": cache.source, "synthetic": cache.synthetic}})
    fixed = np.asarray(cache.images[rows[figure_rows(len(rows))]])
    pca_imgs = to_uint8(pca_reconstruct(pca, fixed)).permute(0, 2, 3, 1).numpy()
    title = (f"{split} images: AE {ae['psnr']:.2f} dB / SSIM {ae['ssim']:.3f}, PCA-{base['components']} "
             f"{base['psnr']:.2f} dB / SSIM {base['ssim']:.3f}")
    save_figure(plot_reconstructions([("original", fixed), (f"AE (d={cfg.latent_dim})", reconstruct(model, fixed)),
                                      (f"PCA ({base['components']})", pca_imgs)], title, cache.synthetic),
                run / "figures" / "pca_vs_ae.png")
    save_figure(plot_learning_curves(read_jsonl(run / "metrics.jsonl"), synthetic=cache.synthetic),
                run / "figures" / "learning_curves.png")


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


# ---------------------------------------------------------------- embeddings export


@dataclass
class Embedder:
    """What an export kind needs: the cache ``size`` to decode at and ``fn``: uint8 ``(B, S, S, 3)`` -> ``(B, D)``."""

    size: int
    fn: Callable[[np.ndarray], np.ndarray]


def _torch_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _run_size(run: Path, size: int | None, trained: int, kind: str) -> int:
    if size is not None and size != trained:
        raise ArtstyleError(f"--size {size} does not match the {trained} px the --run {run} was trained at; "
                            f"drop --size for --kind {kind}")
    return trained


def _needs_run(kind: str, run: Path | None, producer: str) -> Path:
    if run is None:
        raise ArtstyleError(f"--kind {kind} needs --run: the directory of an `artstyle {producer}` run")
    return find_run(run)


def _ae_embedder(run: Path | None, size: int | None) -> Embedder:
    run = _needs_run("ae", run, "embed train")
    model, info = load_autoencoder(run)
    device = _torch_device()
    model.to(device)

    @torch.no_grad()
    def fn(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(images).permute(0, 3, 1, 2).to(device)
        return model.encode(to_float(x)).float().cpu().numpy()

    return Embedder(_run_size(run, size, info["size"], "ae"), fn)


def _classifier_embedder(run: Path | None, size: int | None) -> Embedder:
    from artstyle.classify import load_classifier
    from artstyle.models.classifier import CLASSIFIERS

    run = _needs_run("classifier", run, "classify train")
    arch = read_json(run / "config.json").get("model", {}).get("arch")
    if arch not in CLASSIFIERS:
        raise ArtstyleError(f"--run {run} is not a classifier run (model {arch!r}); for an autoencoder run use "
                            "--kind ae")
    model, info = load_classifier(run)
    device = _torch_device()
    model.to(device)

    @torch.no_grad()
    def fn(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(images).permute(0, 3, 1, 2).to(device)
        return model.forward_features(to_float(x)).float().flatten(1).cpu().numpy()

    return Embedder(_run_size(run, size, info["size"], "classifier"), fn)


def _resize(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 ``(B, S, S, 3)`` -> float ``(B, 3, size, size)`` in [0, 1], antialiased."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def _pixels_embedder(run: Path | None, size: int | None) -> Embedder:
    def fn(images: np.ndarray) -> np.ndarray:  # 16x16x3 = 768-d, channel-major, in [0, 1]
        return _resize(images, 16).flatten(1).numpy()

    return Embedder(size or 64, fn)


def color_histogram(images: np.ndarray, bins: int = 8) -> np.ndarray:
    """Joint RGB histogram with ``bins`` per channel: uint8 ``(B, H, W, 3)`` -> float32 ``(B, bins**3)``, rows sum to 1."""
    q = (images.astype(np.int64) * bins) // 256  # bin per channel
    idx = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    n, b3 = len(images), bins ** 3
    flat = (idx.reshape(n, -1) + np.arange(n)[:, None] * b3).ravel()  # one bincount for the whole batch
    counts = np.bincount(flat, minlength=n * b3).reshape(n, b3)
    return (counts / counts.sum(1, keepdims=True)).astype(np.float32)


def _color_hist_embedder(run: Path | None, size: int | None) -> Embedder:
    return Embedder(size or 64, color_histogram)


EMBEDDERS: dict[str, Callable[[Path | None, int | None], Embedder]] = {
    "ae": _ae_embedder,
    "classifier": _classifier_embedder,
    "pixels": _pixels_embedder,
    "color-hist": _color_hist_embedder,
}
"""Export kind -> factory ``(run, size) -> Embedder``: ``ae`` autoencoder latents (needs an embed run),
``classifier`` penultimate features (needs a classify run), ``pixels`` 16x16x3 raw pixels in [0, 1],
``color-hist`` 8x8x8 joint RGB histogram (normalised)."""


def thumbnails(images: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    """uint8 ``(B, S, S, 3)`` -> uint8 ``(B, size, size, 3)`` thumbnails."""
    return (_resize(images, size) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def export_embeddings(data: str, kind: str, run: Path | None = None, split: str = "all", out: Path | None = None,
                      size: int | None = None, batch_size: int = 256, progress: bool = True) -> Path:
    """Embed every image of ``split`` of ``data`` with ``kind`` and write an embeddings file; return its path.

    Default path: ``RUN/embeddings-<kind>.npz`` with a run, else ``runs/embed/<timestamp>-<kind>/embeddings.npz``.
    Labels, classes (sorted), paths (cache keys) and splits come from the data's cache, so a model trained on
    other data still gets the labels of ``data``. Images stream from the memory-mapped cache in batches.
    """
    from tqdm.auto import tqdm

    from artstyle.data.cache import prepare_cache
    from artstyle.embeddings import save_embeddings

    if kind not in EMBEDDERS:
        raise ArtstyleError(f"--kind {kind!r} is not one of: {', '.join(EMBEDDERS)}")
    if split not in SPLITS:
        raise ArtstyleError(f"--split {split!r} is not one of: {', '.join(SPLITS)}")
    if size is not None and not 8 <= size <= 2048:
        raise ArtstyleError(f"--size {size}: choose a size between 8 and 2048 pixels")
    set_threads(0)
    run = Path(run) if run is not None else None
    embedder = EMBEDDERS[kind](run, size)
    cache = prepare_cache(data, size=embedder.size, progress=progress)
    rows = cache.indices(split)
    if len(rows) == 0:
        raise ArtstyleError(f"--data {data} has no '{split}' images; choose another --split (all, train, val, test)")
    vectors: np.ndarray | None = None
    thumbs = np.zeros((len(rows), THUMB_SIZE, THUMB_SIZE, 3), np.uint8)
    bar = tqdm(total=len(rows), desc=f"embed {kind}", unit="img", disable=None if progress else True)
    for start in range(0, len(rows), batch_size):
        batch = np.ascontiguousarray(cache.images[rows[start:start + batch_size]])  # only this batch in memory
        v = embedder.fn(batch)
        if vectors is None:
            vectors = np.zeros((len(rows), v.shape[1]), np.float32)
        vectors[start:start + len(batch)] = v
        thumbs[start:start + len(batch)] = thumbnails(batch)
        bar.update(len(batch))
    bar.close()
    if out is None:
        out = run / f"embeddings-{kind}.npz" if run is not None else create_run("embed", kind) / "embeddings.npz"
    return save_embeddings(out, vectors, cache.labels[rows], cache.classes, [cache.index[r]["key"] for r in rows],
                           cache.splits[rows], kind=kind, synthetic=cache.synthetic, thumbs=thumbs)


__all__ = ["AutoencoderTask", "EMBEDDERS", "EmbedTrainConfig", "color_histogram", "export_embeddings", "fit_pca",
           "image_scores", "load_autoencoder", "pca_metrics", "plot_learning_curves", "plot_reconstructions", "psnr",
           "reconstruction_loss", "reconstruction_metrics", "ssim", "train_autoencoder"]
