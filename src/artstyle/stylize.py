"""Re-render any image in any training style with a style-conditioned encoder-decoder, and measure it.

Usage::

    run = train_stylizer(StylizeConfig(data="builtin:0.1", size=64, classifier="runs/classify/<run>",
                                       judge="runs/classify/<other run>"))
    model, info = load_stylizer(run)
    render(run, ["photo.jpg"], styles=["Ukiyo-e", "Pointillism"])       # grid PNG + one PNG per style
    evaluate_stylizer(run, judge="runs/classify/<other run>", pairs=500)

The model (:mod:`artstyle.models.stylizer`) is trained with the shared engine on three terms, per batch
and per image with a target style drawn at random among the *other* training styles:

- reconstruction: L1 between the image and its re-rendering in its own style (``--w-rec``);
- style: cross-entropy of a FROZEN from-scratch classifier (``--classifier``) on the re-rendering in the
  target style (``--w-style``), and a Gram-matrix loss of that classifier's ``feature_maps`` against each
  style's mean Gram matrices, precomputed from the training images (``--w-gram``, resnet classifiers);
- content: relative squared distance of a mid-level classifier feature map of the re-rendering to that of
  the input (``--w-content``), so the layout survives the style change.

Without ``--classifier`` a small resnet classifier is trained first, inside the run
(``<run>/classifier/``), and recorded in config.json. The evaluation needs a *second*, independently
trained classifier, the judge (``--judge RUN``, or ``--judge auto`` to train a simple-cnn with another seed
into ``<run>/judge/``): a model that fools the classifier it was trained against has not necessarily
changed the style. It reports, on seeded mismatched (test image, target style) pairs: the judge's target
hit rate, SSIM and PSNR to the input, and the cosine distance of the judge's features to the input's,
for the model and three baselines (identity, a 50/50 blend with the target style's mean training image,
and the reconstruction with the true style).

A run directory holds config.json, classes.json, metrics.jsonl, best/last.safetensors,
style_stats.safetensors (per-style mean training images), metrics.json ({"training", "evaluation"}),
evaluation.md and figures/evaluation_grid.png.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.config import config_dict, opt
from artstyle.dist import is_main_process, main_process_first, shared_run_dir
from artstyle.engine import TrainSettings, fit, to_float, to_uint8
from artstyle.errors import ArtstyleError
from artstyle.runs import (create_run, find_run, load_safetensors, load_weights, prepare_run_dir, read_json,
                           save_safetensors, write_json)

PSNR_CAP = 100.0
"""PSNR is capped at this many dB per pair: an exact copy has infinite PSNR, and means must stay finite."""
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
METHODS = ("stylizer", "identity", "blend", "reconstruction")
METHOD_LABELS = {"stylizer": "stylizer (target style)", "identity": "identity (output = input)",
                 "blend": "50/50 blend with the target style's mean image",
                 "reconstruction": "reconstruction with the true style"}


@dataclass
class StylizeConfig(TrainSettings):
    data: str = opt("builtin", "Dataset: 'builtin' (synthetic), 'builtin:<scale>', an image-folder root, hf:<hub id>, "
                    "a save_to_disk directory or parquet files.")
    label_column: str = opt("style", "Label column for Hugging Face sources.")
    size: int = opt(128, "Image size in pixels (a multiple of 4).")
    style_source: str = opt("learned", "Style vectors: learned (an embedding per style, trained end to end) or "
                            "mean-latent (the mean pooled encoder output of each style's training images).",
                            choices=("learned", "mean-latent"))
    width: int = opt(32, "Base channel width of the encoder-decoder (the bottleneck has 4x this).")
    blocks: int = opt(2, "AdaIN residual blocks at the bottleneck.")
    classifier: str = opt("", "A classify run (from scratch) whose frozen predictions and features give the style "
                          "loss. Empty: train a small resnet first, into <run>/classifier/.")
    judge: str = opt("", "An INDEPENDENT classify run for the final evaluation; 'auto' trains a simple-cnn with "
                     "another seed into <run>/judge/; empty: no evaluation (run `artstyle stylize evaluate` later).")
    classifier_epochs: int = opt(8, "Epochs for a classifier or judge trained here (--classifier empty, --judge auto).")
    classifier_width: int = opt(16, "Width of a classifier or judge trained here.")
    w_rec: float = opt(1.0, "Weight of the L1 reconstruction with the image's own style.")
    w_style: float = opt(0.5, "Weight of the classifier cross-entropy towards the target style.")
    w_gram: float = opt(1.0, "Weight of the Gram-matrix loss against the target style's mean Gram matrices "
                        "(needs a resnet classifier; 0 = off).")
    w_content: float = opt(0.5, "Weight of the classifier-feature content loss on re-renderings (0 = off).")
    ema: float = opt(0.9, "mean-latent: momentum of the per-batch moving average of each style's mean code "
                     "(recomputed exactly over the training set after every epoch).")
    augment: bool = opt(True, "Random horizontal flips during training.")
    eval_pairs: int = opt(500, "Mismatched (test image, target style) pairs for the final evaluation.")
    lr: float = opt(1e-3, "Peak AdamW learning rate (after warmup, then cosine decay).")
    weight_decay: float = opt(0.0, "AdamW weight decay (not applied to biases and norms).")
    name: str = opt("", "Run name (default: the style source).")
    out: str = opt("", "Explicit run directory (default: runs/stylize/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to be an existing, non-empty directory.")
    resume: str = opt("", "Continue the run in this directory exactly where its last checkpoint left off.")
    cache: str = opt("", "Use this prepared cache directory instead of preparing --data.")


# ---------------------------------------------------------------- style statistics


def style_mean_images(cache: Any, split: str = "train", chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Mean image per class ``(K, S, S, 3)`` float32 (zeros where a class has no image) and counts ``(K,)``."""
    rows = cache.indices(split)
    K, S = len(cache.classes), cache.size
    sums = np.zeros((K, S, S, 3), np.float64)
    counts = np.bincount(cache.labels[rows], minlength=K)
    for i in range(0, len(rows), chunk):  # chunked: the whole split may not fit in memory
        r = rows[i:i + chunk]
        imgs, labels = cache.images[r], cache.labels[r]
        for k in np.unique(labels):
            sums[k] += imgs[labels == k].sum(0, dtype=np.float64)
    means = sums / np.maximum(counts, 1)[:, None, None, None]
    return means.astype(np.float32), counts


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices ``(N, C, C)`` of feature maps ``(N, C, H, W)``, normalised by ``H * W``."""
    f = features.float().flatten(2)
    return f @ f.transpose(1, 2) / f.shape[-1]


def _classifier_input(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``x: (N, 3, H, W)`` in [-1, 1] to the classifier's training size (bilinear, antialiased)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


@torch.no_grad()
def style_grams(classifier: torch.nn.Module, clf_size: int, images: np.ndarray, labels: np.ndarray, num_styles: int,
                batch_size: int = 64) -> list[torch.Tensor]:
    """Mean Gram matrix per style and ``feature_maps`` layer: a list of ``(K, C_l, C_l)`` tensors.

    ``images``: uint8 ``(N, H, W, 3)`` (a memmap is fine); ``labels``: ``(N,)`` style indices.
    """
    sums: list[torch.Tensor] = []
    counts = torch.zeros(num_styles)
    for i in range(0, len(images), batch_size):
        x = to_float(torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size])).permute(0, 3, 1, 2))
        y = torch.as_tensor(labels[i:i + batch_size], dtype=torch.long)
        maps = classifier.feature_maps(_classifier_input(x, clf_size))
        if not sums:
            sums = [torch.zeros(num_styles, m.shape[1], m.shape[1]) for m in maps]
        for s, m in zip(sums, maps):
            s.index_add_(0, y, gram(m))
        counts.index_add_(0, y, torch.ones(len(y)))
    return [s / counts.clamp(min=1)[:, None, None] for s in sums]


# ---------------------------------------------------------------- the task


class StylizeTask:
    """Reconstruction + style + content objective; monitors the same objective on the validation split.

    ``allowed``: style indices that have training images; targets are drawn among them. ``clf_map`` maps
    stylizer style indices to the classifier's class indices. ``grams``: per-layer ``(K, C, C)`` targets.
    """

    monitor = "loss"
    mode = "min"

    def __init__(self, cfg: StylizeConfig, classifier: torch.nn.Module, clf_size: int, clf_map: np.ndarray,
                 allowed: np.ndarray, grams: list[torch.Tensor] | None, train_eval: Any = None) -> None:
        self.cfg = cfg
        self.classifier = classifier.eval()
        for p in self.classifier.parameters():
            p.requires_grad_(False)
        self.clf_size = clf_size
        self.clf_map = torch.as_tensor(clf_map, dtype=torch.long)
        self.allowed = torch.as_tensor(np.asarray(allowed), dtype=torch.long)
        self.grams = grams
        self.train_eval = train_eval  # un-augmented training images: exact mean codes after each epoch
        self.has_maps = hasattr(classifier, "feature_maps")
        self._device: torch.device | None = None

    def _to(self, device: torch.device) -> None:
        if self._device != device:  # moved lazily: the engine decides the device
            self.classifier.to(device)
            self.clf_map, self.allowed = self.clf_map.to(device), self.allowed.to(device)
            if self.grams is not None:
                self.grams = [g.to(device) for g in self.grams]
            self._device = device

    def draw_targets(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A uniformly random target among ``allowed`` minus the own style, per image ``(N,)``.

        Uses torch's global RNG (saved in the engine's training state, so a resumed run draws the same).
        """
        n_allowed = len(self.allowed)
        pos = torch.searchsorted(self.allowed, labels)  # every training label is in ``allowed``
        r = torch.randint(0, n_allowed - 1, labels.shape, generator=generator).to(labels.device)
        return self.allowed[r + (r >= pos).long()]

    def losses(self, model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
               generator: torch.Generator | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Per-image loss terms ``{name: (N,)}`` and the model outputs."""
        self._to(images.device)
        cfg = self.cfg
        x = to_float(images)
        target = self.draw_targets(labels, generator)
        res = model(x, target, own=labels)
        out = res["out"].float()
        terms: dict[str, torch.Tensor] = {"rec": (res["recon"].float() - x).abs().mean((1, 2, 3))}
        need_maps = self.has_maps and (cfg.w_gram > 0 or cfg.w_content > 0)
        out_c = _classifier_input(out, self.clf_size)
        if need_maps:
            maps = self.classifier.feature_maps(out_c)
            feats = self.classifier.pool(maps[-1]).flatten(1)
            logits = self.classifier.head(feats).float()  # head(dropout(pool(...))): dropout is off in eval
        else:
            logits = self.classifier(out_c).float()
        clf_target = self.clf_map[target]
        terms["ce"] = F.cross_entropy(logits, clf_target, reduction="none")
        terms["hit"] = (logits.argmax(1) == clf_target).float()
        if cfg.w_gram > 0 and self.has_maps:
            per_layer = []
            for m, g in zip(maps, self.grams):
                ref = g[target]
                per_layer.append((gram(m) - ref).pow(2).sum((1, 2)) / ref.pow(2).sum((1, 2)).clamp(min=1e-8))
            terms["gram"] = torch.stack(per_layer).mean(0)
        if cfg.w_content > 0:
            x_c = _classifier_input(x, self.clf_size)
            with torch.no_grad():
                ref = self.classifier.feature_maps(x_c)[len(maps) // 2] if need_maps else \
                    self.classifier.forward_features(x_c)
            got = maps[len(maps) // 2] if need_maps else self.classifier.forward_features(out_c)
            dims = tuple(range(1, ref.ndim))
            ref, got = ref.float(), got.float()
            terms["content"] = (got - ref).pow(2).sum(dims) / ref.pow(2).sum(dims).clamp(min=1e-8)
        total = cfg.w_rec * terms["rec"] + cfg.w_style * terms["ce"]
        if "gram" in terms:
            total = total + cfg.w_gram * terms["gram"]
        if "content" in terms:
            total = total + cfg.w_content * terms["content"]
        terms["loss"] = total
        return terms, res

    def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        images, labels = batch
        terms, res = self.losses(model, images, labels)
        inner = getattr(model, "module", model)  # DDP wraps the model
        if inner.style_source == "mean-latent":
            inner.update_style_means(res["code"], labels, self.cfg.ema)
        logs = {k: float(v.detach().mean()) for k, v in terms.items() if k != "loss"}
        return terms["loss"].mean(), logs

    @torch.no_grad()
    def recompute_style_means(self, model: torch.nn.Module, device: torch.device) -> None:
        """Exact mean code per style over the un-augmented training images (mean-latent mode)."""
        inner = getattr(model, "module", model)
        if inner.style_source != "mean-latent" or self.train_eval is None:
            return
        inner.set_style_means(*mean_codes(inner, self.train_eval, device))

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, loader: Any, accelerator: Any) -> dict[str, float]:
        model.eval()
        self.recompute_style_means(model, accelerator.device)
        # A fixed generator: every epoch is scored on the same (image, target) pairs.
        gen = torch.Generator().manual_seed(self.cfg.seed + 12345)
        sums: dict[str, list[torch.Tensor]] = {}
        for images, labels in loader:
            with accelerator.autocast():
                terms, _ = self.losses(model, images, labels, generator=gen)
            terms = accelerator.gather_for_metrics({k: v.float() for k, v in terms.items()})
            for k, v in terms.items():
                sums.setdefault(k, []).append(v.cpu())
        return {k: float(torch.cat(v).mean()) for k, v in sums.items()}


@torch.no_grad()
def mean_codes(model: torch.nn.Module, dataset: Any, device: torch.device | str = "cpu",
               batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean pooled encoder code per style ``(K, D)`` over ``dataset`` and a ``(K,)`` bool mask of styles seen."""
    from torch.utils.data import DataLoader

    was_training = model.training
    model.eval()
    K, D = model.num_styles, model.code_dim
    sums, counts = torch.zeros(K, D, dtype=torch.float64), torch.zeros(K, dtype=torch.float64)
    for images, labels in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0):
        _, code = model.encode(to_float(images).to(device))
        sums.index_add_(0, labels, code.double().cpu())
        counts.index_add_(0, labels, torch.ones(len(labels), dtype=torch.float64))
    model.train(was_training)
    return (sums / counts.clamp(min=1)[:, None]).float(), counts > 0


# ---------------------------------------------------------------- train


def _open_data(cfg: Any) -> Any:
    from artstyle.data.cache import open_cache

    if cfg.size % 4:
        raise ArtstyleError(f"--size {cfg.size}: the stylizer needs a multiple of 4 (e.g. 64 or 128)")
    return open_cache(cfg)


def _classifier_config(cfg: StylizeConfig, out: Path, model: str, seed: int) -> Any:
    from artstyle.classify import ClassifyConfig

    return ClassifyConfig(data=cfg.data, cache=cfg.cache, label_column=cfg.label_column, size=cfg.size, model=model,
                          epochs=cfg.classifier_epochs, width=cfg.classifier_width, seed=seed, out=str(out),
                          overwrite=True, workers=cfg.workers, threads=cfg.threads, precision=cfg.precision,
                          progress=cfg.progress, max_steps_per_epoch=cfg.max_steps_per_epoch,
                          batch_size=cfg.batch_size)


def _ensure_classifier(cfg: StylizeConfig, run: Path, which: str) -> tuple[str, bool]:
    """The classify run for ``which`` ('classifier' or 'judge'): given, reused from the run, or trained here."""
    from artstyle.classify import train_classifier

    given = cfg.classifier if which == "classifier" else cfg.judge
    if given and given != "auto":
        find_run(given)
        return given, False
    if which == "judge" and not given:
        return "", False
    dest = run / which
    if (dest / "metrics.json").is_file():  # trained by an earlier attempt of this run (resume)
        return str(dest), True
    # The judge differs from the loss classifier in architecture and seed, so that fooling one does not
    # automatically fool the other.
    model, seed = ("resnet", cfg.seed) if which == "classifier" else ("simple-cnn", cfg.seed + 1000)
    from artstyle.dist import is_distributed

    if is_distributed():
        raise ArtstyleError(f"under accelerate launch / torchrun, train the {which} first (`artstyle classify train`) "
                            f"and pass --{which} RUN")
    if cfg.progress:
        print(f"training the {which} ({model}) into {dest}", flush=True)
    return str(train_classifier(_classifier_config(cfg, dest, model, seed))), True


def _model_args(cfg: StylizeConfig, num_styles: int) -> dict[str, Any]:
    return {"num_styles": num_styles, "style_source": cfg.style_source, "width": cfg.width, "blocks": cfg.blocks,
            "hidden": 128, "img_size": cfg.size}


def train_stylizer(cfg: StylizeConfig) -> Path:
    """Train a stylizer, evaluate it with the judge when one is given, and return the run directory."""
    from artstyle.classify import load_classifier, map_classes
    from artstyle.data.cache import CachedImages
    from artstyle.models.stylizer import build_stylizer

    if cfg.resume:
        run = find_run(cfg.resume)
        saved = read_json(run / "config.json")
        cfg = StylizeConfig(**{**saved["config"], "resume": cfg.resume, "progress": cfg.progress,
                               "classifier": saved["classifier"]["run"],
                               "judge": saved.get("judge", {}).get("run", "")})
    if cfg.w_rec < 0 or cfg.w_style < 0 or cfg.w_gram < 0 or cfg.w_content < 0:
        raise ArtstyleError("--w-rec, --w-style, --w-gram and --w-content must be >= 0")
    if not 0 <= cfg.ema < 1:
        raise ArtstyleError(f"--ema {cfg.ema}: choose a momentum in [0, 1)")
    with main_process_first():
        cache = _open_data(cfg)
    classes = cache.classes
    counts = cache.counts("train")
    allowed = np.flatnonzero(counts > 0)
    if len(allowed) < 2:
        raise ArtstyleError(f"--data {cfg.data}: the stylizer needs training images of at least 2 styles, found "
                            f"{len(allowed)}")
    if not cfg.resume:
        run = shared_run_dir(lambda: prepare_run_dir(cfg.out, cfg.overwrite) if cfg.out
                             else create_run("stylize", cfg.name or cfg.style_source))
    with main_process_first():
        clf_run, clf_auto = _ensure_classifier(cfg, run, "classifier")
        judge_run, judge_auto = _ensure_classifier(cfg, run, "judge")
    classifier, clf_info = load_classifier(clf_run)
    clf_map = map_classes(clf_info["classes"], classes)  # error when the classifier lacks a style
    if cfg.w_gram > 0 and not hasattr(classifier, "feature_maps"):
        raise ArtstyleError(f"--w-gram needs a resnet classifier (feature_maps); {clf_run} is a "
                            f"{clf_info['config']['model']['arch']}. Pass --w-gram 0 or another --classifier")
    mean_images, _ = style_mean_images(cache, "train")
    if not cfg.resume and is_main_process():
        write_json(run / "config.json", {
            "config": config_dict(cfg), "model": _model_args(cfg, len(classes)),
            "input": {"size": cfg.size, "range": [-1, 1], "resize": cache.meta["policy"]},
            "data": {"source": cache.source, "synthetic": cache.synthetic, "cache": str(cache.root)},
            "train_counts": counts.tolist(),
            "classifier": {"run": clf_run, "trained_here": clf_auto, "classes": clf_info["classes"]},
            "judge": {"run": judge_run, "trained_here": judge_auto}})
        write_json(run / "classes.json", {"classes": classes})
        save_safetensors(run / "style_stats.safetensors", {"mean_images": torch.from_numpy(mean_images),
                                                          "train_counts": torch.from_numpy(counts)})
    train_rows = cache.indices("train")
    grams = None
    if cfg.w_gram > 0:
        grams = style_grams(classifier, clf_info["size"], cache.images[train_rows], cache.labels[train_rows],
                            len(classes))
    transform = None
    if cfg.augment:
        from torchvision.transforms import v2

        transform = v2.RandomHorizontalFlip()
    train_ds = CachedImages(cache, "train", transform=transform)
    train_eval = CachedImages(cache, "train")
    val_split = "val" if (cache.splits == "val").any() else "test"
    val_ds = CachedImages(cache, val_split)
    torch.manual_seed(cfg.seed)
    model = build_stylizer(_model_args(cfg, len(classes)))
    if cfg.style_source == "mean-latent" and not cfg.resume:
        model.set_style_means(*mean_codes(model, train_eval))  # start from the exact means of the initial encoder
    task = StylizeTask(cfg, classifier, clf_info["size"], clf_map, allowed, grams, train_eval)
    t0 = time.perf_counter()
    summary = fit(model, task, train_ds, val_ds, run, cfg, resume=bool(cfg.resume),
                  metadata={"arch": "stylizer", "style_source": cfg.style_source})
    summary["train_seconds"] = time.perf_counter() - t0
    if summary["is_main_process"]:
        write_json(run / "metrics.json", {"training": summary, "evaluation": None})
        if judge_run:
            evaluate_stylizer(run, judge_run, cache=cache, pairs=cfg.eval_pairs, seed=cfg.seed)
    return run


def load_stylizer(run: str | Path, weights: str = "best") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a trained stylizer from its run directory alone. Returns ``(model in eval mode, info)``.

    ``info``: ``classes``, ``size``, ``style_source``, ``policy`` (resize), ``synthetic``, ``train_counts``,
    ``mean_images`` (``(K, S, S, 3)`` float32 or None) and the saved ``config``.
    """
    from artstyle.models.stylizer import build_stylizer

    run = find_run(run)
    cfg = read_json(run / "config.json")
    if cfg.get("model", {}).get("style_source") is None:
        raise ArtstyleError(f"{run} is not a stylize run (config.json has no stylizer model section)")
    classes = read_json(run / "classes.json")["classes"]
    model = load_weights(build_stylizer(cfg["model"]), run / f"{weights}.safetensors")
    stats = run / "style_stats.safetensors"
    mean_images = load_safetensors(stats)["mean_images"].numpy() if stats.is_file() else None
    counts = cfg.get("train_counts") or [1] * len(classes)
    return model, {"classes": classes, "size": cfg["model"]["img_size"], "style_source": cfg["model"]["style_source"],
                   "policy": cfg.get("input", {}).get("resize", "center-crop"),
                   "synthetic": bool(cfg.get("data", {}).get("synthetic")), "train_counts": np.asarray(counts),
                   "mean_images": mean_images, "config": cfg, "run": run}


@torch.no_grad()
def stylize_arrays(model: torch.nn.Module, images: np.ndarray, targets: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Re-render uint8 ``images (N, S, S, 3)`` in style indices ``targets (N,)`` -> uint8 ``(N, S, S, 3)``."""
    out = []
    for i in range(0, len(images), batch_size):
        x = to_float(torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size])).permute(0, 3, 1, 2))
        t = torch.as_tensor(np.asarray(targets[i:i + batch_size]), dtype=torch.long)
        out.append(to_uint8(model(x, t)).permute(0, 2, 3, 1).numpy())
    return np.concatenate(out) if out else np.zeros((0, *images.shape[1:]), np.uint8)


# ---------------------------------------------------------------- render


def resolve_styles(names: Sequence[str] | str | None, classes: list[str]) -> list[int]:
    """Style indices for user-given names (``None``/``"all"``: every class). Aliases via canonical_style.

    Unknown names raise an :class:`ArtstyleError` listing the known styles.
    """
    from artstyle.data.sources import class_name

    if names is None or names == "all" or (not isinstance(names, str) and list(names) in ([], ["all"])):
        return list(range(len(classes)))
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]

    def key(n: str) -> str:  # case, spaces, hyphens and underscores do not matter
        return re.sub(r"[\s_-]+", "_", class_name(n.strip()).lower())

    lookup = {key(c): i for i, c in enumerate(classes)}
    out, unknown = [], []
    for n in names:
        i = lookup.get(key(n))
        if i is None:
            unknown.append(n)
        elif i not in out:
            out.append(i)
    if unknown:
        raise ArtstyleError(f"--styles: unknown style(s) {', '.join(repr(u) for u in unknown)}. Known styles: "
                            f"{', '.join(classes)} (or 'all')")
    return out


def expand_images(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given; a directory contributes its image files (sorted, not recursive)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()))
        else:
            out.append(p)
    return out


def _font(size: int = 10) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the bitmap default font
        return ImageFont.load_default()


def _wrap(text: str, font: Any, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; a word longer than a line is split between characters."""
    def fits(s: str) -> bool:
        return font.getbbox(s)[2] <= width

    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if fits(candidate):
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:
            if fits(line + ch) or not line:
                line += ch
            else:
                lines.append(line)
                line = ch
    if line:
        lines.append(line)
    return lines or [""]


def labelled_grid(cells: np.ndarray, headers: Sequence[str], row_labels: Sequence[str] | None = None,
                  synthetic: bool = False, pad: int = 2) -> tuple[np.ndarray, dict[str, int]]:
    """Tile ``cells (R, C, S, S, 3)`` uint8 under one header per column; optionally stamp synthetic data.

    Returns the uint8 image ``(header + R * (S + pad) + pad + footer, C * (S + pad) + pad, 3)`` and its
    layout ``{"header", "footer", "cell", "pad", "rows", "cols"}``: cell ``(r, c)`` starts at
    ``y = header + pad + r * (S + pad)``, ``x = pad + c * (S + pad)``.
    ``row_labels`` (optional) are written small at the top left of each row's first cell.
    """
    from PIL import Image, ImageDraw

    from artstyle.figures import SYNTHETIC_NOTE, image_grid

    R, C, S = cells.shape[0], cells.shape[1], cells.shape[2]
    if len(headers) != C:
        raise ValueError(f"{len(headers)} headers for {C} columns")
    font = _font(10)
    line_h = font.getbbox("Ag")[3] + 2
    wrapped = [_wrap(h, font, S) for h in headers]
    header = max(len(w) for w in wrapped) * line_h + 4
    width = C * (S + pad) + pad
    note = _wrap(SYNTHETIC_NOTE, font, width - 4) if synthetic else []
    footer = len(note) * line_h + (4 if note else 0)
    body = image_grid(cells.reshape(R * C, *cells.shape[2:]), nrow=C, pad=pad)
    canvas = Image.new("RGB", (width, header + body.shape[0] + footer), (255, 255, 255))
    canvas.paste(Image.fromarray(body), (0, header))
    draw = ImageDraw.Draw(canvas)
    for c, lines in enumerate(wrapped):
        for j, line in enumerate(lines):
            draw.text((pad + c * (S + pad), 2 + j * line_h), line, fill=(0, 0, 0), font=font)
    for j, line in enumerate(note):
        draw.text((2, header + body.shape[0] + 2 + j * line_h), line, fill=(176, 0, 32), font=font)
    if row_labels:
        for r, label in enumerate(row_labels):
            y = header + pad + r * (S + pad)
            draw.text((pad + 1, y + 1), label[: max(1, S // 6)], fill=(255, 255, 255), font=font,
                      stroke_width=1, stroke_fill=(0, 0, 0))
    layout = {"header": header, "footer": footer, "cell": S, "pad": pad, "rows": R, "cols": C}
    return np.asarray(canvas), layout


def _safe_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "image"


def _fresh_dir(parent: Path) -> Path:
    """A new ``parent/<yyyymmdd-hhmmss>[-n]/`` (two renders in one second do not share a folder)."""
    parent.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1, 10_000):
        path = parent / (stem if i == 1 else f"{stem}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ArtstyleError(f"could not create an output folder under {parent}; pass --out")


def render(run: str | Path, images: Sequence[str | Path], styles: Sequence[str] | str | None = "all",
           out: str | Path | None = None) -> dict[str, Any]:
    """Re-render each image in each style. Writes ``grid.png`` and ``<stem>__<Style>.png`` into ``out``.

    The grid has one row per readable input: the input (decoded and resized as in training) first, then one
    column per style. Returns ``{"out", "grid", "files", "skipped", "styles", "layout"}``; unreadable
    inputs are skipped and listed in ``skipped`` with the reason.
    """
    from artstyle.data.decode import DecodeError, decode_image
    from artstyle.figures import save_png
    from artstyle.styles import display_name

    model, info = load_stylizer(run)
    idx = resolve_styles(styles, info["classes"])
    decoded, stems, skipped = [], [], []
    for path in expand_images(images):
        try:
            decoded.append(decode_image(Path(path).read_bytes(), info["size"], info["policy"]))
            stems.append(Path(path).stem)
        except (OSError, DecodeError) as exc:
            reason = str(exc) if isinstance(exc, DecodeError) else f"cannot read: {exc.strerror or exc}"
            skipped.append({"path": str(path), "reason": reason})
    if not decoded:
        raise ArtstyleError("--images: no readable image among the inputs ("
                            + "; ".join(f"{s['path']}: {s['reason']}" for s in skipped) + ")" if skipped
                            else "--images: no input images given")
    dest = Path(out) if out else _fresh_dir(info["run"] / "renders")
    dest.mkdir(parents=True, exist_ok=True)
    x = np.stack(decoded)
    n, k = len(x), len(idx)
    outputs = stylize_arrays(model, np.repeat(x, k, axis=0), np.tile(np.asarray(idx), n)).reshape(n, k, *x.shape[1:])
    files, used = [], set()
    for i, stem in enumerate(stems):
        stem = _safe_stem(stem)
        unique, j = stem, 2
        while unique in used:  # two inputs with one name (from different folders) keep both results
            unique, j = f"{stem}-{j}", j + 1
        used.add(unique)
        for j, t in enumerate(idx):
            files.append(save_png(outputs[i, j], dest / f"{unique}__{_safe_stem(info['classes'][t])}.png"))
    cells = np.concatenate([x[:, None], outputs], axis=1)
    grid, layout = labelled_grid(cells, ["Original"] + [display_name(info["classes"][t]) for t in idx],
                                 synthetic=info["synthetic"])
    grid_path = save_png(grid, dest / "grid.png")
    return {"out": dest, "grid": grid_path, "files": files, "skipped": skipped,
            "styles": [info["classes"][t] for t in idx], "layout": layout}


# ---------------------------------------------------------------- evaluate


def _gaussian_window(size: int, sigma: float = 1.5) -> torch.Tensor:
    g = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-g ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM (Wang et al. 2004) per image pair: uint8 ``(N, H, W, 3)`` twice -> ``(N,)`` float64.

    Gaussian window 11 (sigma 1.5; smaller for images under 11 px), valid region only, K1 = 0.01,
    K2 = 0.03, data range 255, computed per colour channel and averaged. Identical images give exactly 1:
    the numerator and denominator are then computed by the same float operations.
    """
    x = torch.from_numpy(np.asarray(a)).permute(0, 3, 1, 2).double()
    y = torch.from_numpy(np.asarray(b)).permute(0, 3, 1, 2).double()
    size = min(11, x.shape[-1], x.shape[-2])
    size -= (size + 1) % 2  # odd
    g = _gaussian_window(size)
    c = x.shape[1]
    kx, ky = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, kx, groups=c), ky, groups=c)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return (num / den).mean((1, 2, 3)).numpy()


def psnr(a: np.ndarray, b: np.ndarray, cap: float = PSNR_CAP) -> np.ndarray:
    """PSNR in dB per pair of uint8 ``(N, H, W, 3)`` images, capped at ``cap`` (identical images: ``cap``)."""
    mse = ((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).reshape(len(a), -1).mean(1)
    with np.errstate(divide="ignore"):
        value = 10 * np.log10(255.0 ** 2 / mse)
    return np.minimum(value, cap)


@torch.no_grad()
def classifier_outputs(model: torch.nn.Module, images: np.ndarray, size: int,
                       batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Class scores ``(N, C)`` and ``forward_features`` ``(N, D)`` for uint8 ``images (N, S, S, 3)``,
    resized to the classifier's ``size`` when needed."""
    logits, feats = [], []
    for i in range(0, len(images), batch_size):
        x = to_float(torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size])).permute(0, 3, 1, 2))
        f = model.forward_features(_classifier_input(x, size))
        feats.append(f.double().numpy())
        logits.append(model.head(f).float().numpy())  # the head: logits = head(features) (dropout off in eval)
    if not logits:
        return np.zeros((0, 0)), np.zeros((0, 0))
    return np.concatenate(logits), np.concatenate(feats)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 - cos`` per row of float ``(N, D)`` arrays; exactly 0 for identical rows (float64, clipped at 0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    dot, na, nb = (a * b).sum(1), (a * a).sum(1), (b * b).sum(1)
    return np.maximum(0.0, 1.0 - dot / np.sqrt(np.maximum(na * nb, 1e-300)))


def sample_pairs(labels: np.ndarray, allowed: Sequence[int], n_pairs: int,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, uniform, without replacement among all mismatched (image, target) pairs.

    ``labels (N,)``: true style per image; targets come from ``allowed`` minus the own style. Returns
    ``(image_index (P,), target (P,))`` sorted by image (sequential reads from a memmap).
    """
    allowed = np.asarray(sorted(set(int(a) for a in allowed)), dtype=np.int64)
    img = np.repeat(np.arange(len(labels)), len(allowed))
    tgt = np.tile(allowed, len(labels))
    keep = tgt != np.asarray(labels)[img]
    img, tgt = img[keep], tgt[keep]
    if len(img) > n_pairs:
        pick = np.sort(np.random.default_rng(seed).choice(len(img), n_pairs, replace=False))
        img, tgt = img[pick], tgt[pick]
    return img, tgt


def evaluate_pairs(model: torch.nn.Module, info: dict[str, Any], judge: torch.nn.Module, judge_info: dict[str, Any],
                   images: np.ndarray, true: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Score the stylizer and the baselines on given pairs (matched or not).

    ``images``: uint8 ``(P, S, S, 3)`` at the stylizer's size; ``true``/``targets``: ``(P,)`` stylizer style
    indices; every target must be a class the judge knows. Returns ``{"methods": {method: {metric: value}},
    "outputs": {method: uint8 (P, S, S, 3)}, "judge_predictions": {method: (P,) judge class}}``.
    """
    from artstyle.data.sources import class_name

    jlookup = {class_name(c): i for i, c in enumerate(judge_info["classes"])}
    jt = np.array([jlookup.get(class_name(info["classes"][t]), -1) for t in targets], dtype=np.int64)
    if (jt < 0).any():
        raise ArtstyleError("evaluation targets include styles the judge was not trained on")
    outputs = {"stylizer": stylize_arrays(model, images, targets), "identity": images,
               "reconstruction": stylize_arrays(model, images, true)}
    if info.get("mean_images") is not None:
        outputs["blend"] = np.clip(np.round(0.5 * images.astype(np.float32) + 0.5 * info["mean_images"][targets]),
                                   0, 255).astype(np.uint8)
    _, ref_feats = classifier_outputs(judge, images, judge_info["size"])
    methods, preds = {}, {}
    for name in METHODS:
        if name not in outputs:
            continue
        out = outputs[name]
        logits, feats = classifier_outputs(judge, out, judge_info["size"])
        pred = logits.argmax(1)
        hit = pred == jt
        methods[name] = {"n": int(len(out)), "hit_rate": float(hit.mean()),
                         "hit_rate_se": float(np.sqrt(hit.mean() * (1 - hit.mean()) / max(1, len(out)))),
                         "ssim": float(ssim(images, out).mean()), "psnr": float(psnr(images, out).mean()),
                         "judge_feature_distance": float(cosine_distance(ref_feats, feats).mean())}
        preds[name] = pred
    return {"methods": methods, "outputs": outputs, "judge_predictions": preds}


def evaluate_stylizer(run: str | Path, judge: str | Path, data: str | None = None, pairs: int = 500, seed: int = 0,
                      cache: Any = None) -> dict[str, Any]:
    """Evaluate a stylize run with an independent judge on seeded mismatched test pairs; write the report.

    Writes ``metrics.json["evaluation"]``, ``evaluation.md`` and ``figures/evaluation_grid.png`` into the run
    and returns the evaluation dict. ``data`` defaults to the run's training data (its test split).
    """
    from artstyle.classify import load_classifier, map_classes
    from artstyle.data.cache import prepare_cache
    from artstyle.data.sources import class_name
    from artstyle.figures import save_png
    from artstyle.runs import write_text

    model, info = load_stylizer(run)
    run = info["run"]
    judge_model, judge_info = load_classifier(judge)
    loss_clf = info["config"].get("classifier", {}).get("run", "")
    if loss_clf and Path(judge).resolve() == Path(loss_clf).resolve():
        raise ArtstyleError(f"--judge {judge} is the classifier the stylizer was trained against; pass an "
                            "independently trained classify run")
    if cache is None:
        if data:
            cache = prepare_cache(data, size=info["size"], policy=info["policy"],
                                  label_column=info["config"]["config"].get("label_column", "style"))
        else:
            from artstyle.data.cache import load_cache

            saved = info["config"]["data"]
            try:
                cache = load_cache(saved["cache"], expect_size=info["size"])
            except ArtstyleError:  # the cache was removed: prepare the source again
                cache = prepare_cache(saved["source"], size=info["size"], policy=info["policy"])
    rows = cache.indices("test")
    if len(rows) == 0:
        raise ArtstyleError(f"--data {cache.source} has no test split to evaluate on")
    to_model = map_classes(info["classes"], cache.classes)
    true = to_model[cache.labels[rows]]
    judged = {class_name(c) for c in judge_info["classes"]}
    allowed = [t for t in range(len(info["classes"]))
               if info["train_counts"][t] > 0 and class_name(info["classes"][t]) in judged]
    if len(allowed) < 2:
        raise ArtstyleError(f"--judge {judge} knows fewer than 2 of the stylizer's styles; train the judge on the "
                            "same styles")
    img_idx, targets = sample_pairs(true, allowed, pairs, seed)
    images = cache.images[rows[img_idx]]
    result = evaluate_pairs(model, info, judge_model, judge_info, images, true[img_idx], targets)
    # Reference: how well the judge recognises the test inputs' true styles (those it knows).
    uniq = np.unique(img_idx)
    known = np.array([class_name(info["classes"][t]) in judged for t in true[uniq]])
    jl = {class_name(c): i for i, c in enumerate(judge_info["classes"])}
    j_true = np.array([jl.get(class_name(info["classes"][t]), -1) for t in true[uniq]])
    logits, _ = classifier_outputs(judge_model, cache.images[rows[uniq]], judge_info["size"])
    judge_acc = float((logits.argmax(1) == j_true)[known].mean()) if known.any() else float("nan")
    per_target = {}
    judge_targets = np.array([jl[class_name(info["classes"][t])] for t in targets])
    stylized_hit = result["judge_predictions"]["stylizer"] == judge_targets
    for t in np.unique(targets):
        m = targets == t
        per_target[info["classes"][t]] = {"n": int(m.sum()), "hit_rate": float(stylized_hit[m].mean())}
    synthetic = bool(cache.synthetic or info["synthetic"])
    evaluation = {"judge": str(judge), "data": {"source": cache.source, "synthetic": synthetic, "split": "test"},
                  "pairs": int(len(targets)), "seed": seed, "test_images": int(len(uniq)),
                  "targets": [info["classes"][t] for t in allowed], "judge_accuracy_on_inputs": judge_acc,
                  "chance_hit_rate": 1.0 / len(judge_info["classes"]), "psnr_cap_db": PSNR_CAP,
                  "methods": result["methods"], "per_target_hit_rate": per_target}
    evaluation["table_markdown"] = evaluation_markdown(evaluation)
    metrics_path = run / "metrics.json"
    metrics = read_json(metrics_path) if metrics_path.is_file() else {"training": None}
    metrics["evaluation"] = evaluation
    write_json(metrics_path, metrics)
    write_text(run / "evaluation.md", evaluation["table_markdown"])
    grid, _ = evaluation_grid(model, info, cache, rows, true, synthetic)
    save_png(grid, run / "figures" / "evaluation_grid.png")
    return evaluation


def evaluation_markdown(ev: dict[str, Any]) -> str:
    """The evaluation table as markdown (hit rate ± binomial standard error, in %)."""
    lines = ["| method | judge hit rate on target style | SSIM to input | PSNR to input (dB) "
             "| judge-feature cosine distance |",
             "|---|---|---|---|---|"]
    for name in METHODS:
        m = ev["methods"].get(name)
        if m is None:
            continue
        lines.append(f"| {METHOD_LABELS[name]} | {100 * m['hit_rate']:.1f} ± {100 * m['hit_rate_se']:.1f}% | "
                     f"{m['ssim']:.3f} | {m['psnr']:.2f} | {m['judge_feature_distance']:.3f} |")
    lines.append(f"\n{ev['pairs']} mismatched (test image, target style) pairs from {ev['test_images']} test images, "
                 f"seed {ev['seed']}, {len(ev['targets'])} target styles; judge {ev['judge']} (accuracy on the inputs' "
                 f"true styles {100 * ev['judge_accuracy_on_inputs']:.1f}%, chance hit rate "
                 f"{100 * ev['chance_hit_rate']:.1f}%). PSNR is capped at {ev['psnr_cap_db']:g} dB per pair."
                 + (" Data: SYNTHETIC built-in dataset." if ev["data"]["synthetic"] else ""))
    return "\n".join(lines) + "\n"


def evaluation_grid(model: torch.nn.Module, info: dict[str, Any], cache: Any, rows: np.ndarray, true: np.ndarray,
                    synthetic: bool, n_rows: int = 6) -> tuple[np.ndarray, dict[str, int]]:
    """Up to ``n_rows`` test images of different styles, each re-rendered in every training style."""
    from artstyle.styles import display_name

    styles = [t for t in range(len(info["classes"])) if info["train_counts"][t] > 0]
    present = sorted(set(true.tolist()))
    spread = np.linspace(0, len(present) - 1, min(n_rows, len(present))).round().astype(int)
    chosen_styles = [present[i] for i in spread]
    picks = [int(np.flatnonzero(true == s)[0]) for s in dict.fromkeys(chosen_styles)]
    x = cache.images[rows[picks]]
    k = len(styles)
    outs = stylize_arrays(model, np.repeat(x, k, axis=0), np.tile(np.asarray(styles), len(x)))
    outs = outs.reshape(len(x), k, *x.shape[1:])
    cells = np.concatenate([x[:, None], outs], axis=1)
    headers = ["Original"] + [display_name(info["classes"][t]) for t in styles]
    return labelled_grid(cells, headers, synthetic=synthetic,
                         row_labels=[display_name(info["classes"][true[p]]) for p in picks])
