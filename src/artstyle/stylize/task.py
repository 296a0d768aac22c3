"""The stylizer's objective: reconstruction + style + content, computed against a frozen classifier.

Usage::

    grams = style_grams(classifier, clf_size, images, labels, num_styles)
    task = StylizeTask(cfg, classifier, clf_size, clf_map, allowed, grams, train_eval)
    fit(model, task, train_ds, val_ds, run, cfg)                 # artstyle.engine drives it

Per batch and per image, a target style is drawn at random among the *other* training styles:

- reconstruction: L1 between the image and its re-rendering in its own style (``--w-rec``);
- style: cross-entropy of a FROZEN from-scratch classifier (``--classifier``) on the re-rendering in the
  target style (``--w-style``), and a Gram-matrix loss of that classifier's ``feature_maps`` against each
  style's mean Gram matrices, precomputed from the training images (``--w-gram``, resnet classifiers);
- content: relative squared distance of a mid-level classifier feature map of the re-rendering to that of
  the input (``--w-content``), so the layout survives the style change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.engine import to_float
from artstyle.stylize.config import StylizeConfig


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices ``(N, C, C)`` of feature maps ``(N, C, H, W)``, normalised by ``H * W``."""
    f = features.float().flatten(2)
    return f @ f.transpose(1, 2) / f.shape[-1]


def classifier_input(x: torch.Tensor, size: int) -> torch.Tensor:
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
        maps = classifier.feature_maps(classifier_input(x, clf_size))
        if not sums:
            sums = [torch.zeros(num_styles, m.shape[1], m.shape[1]) for m in maps]
        for s, m in zip(sums, maps):
            s.index_add_(0, y, gram(m))
        counts.index_add_(0, y, torch.ones(len(y)))
    return [s / counts.clamp(min=1)[:, None, None] for s in sums]


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
        out_c = classifier_input(out, self.clf_size)
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
            x_c = classifier_input(x, self.clf_size)
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


__all__ = ["StylizeTask", "classifier_input", "gram", "mean_codes", "style_grams"]
