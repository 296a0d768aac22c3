"""The stylizer's objective: reconstruction + style + content, computed against a frozen classifier.

Usage::

    grams = style_grams(classifier, clf_size, images, labels, num_styles)
    task = StylizeTask(cfg, classifier, clf_size, clf_map, allowed, grams, train_eval)
    fit(model, task, train_ds, val_ds, run, cfg)                 # artstyle.engine drives it

Per batch and per image, a target style is drawn at random among the *other* training styles:

- reconstruction: L1 between the image and its re-rendering in its own style (``--w-rec``);
- style: cross-entropy of a FROZEN from-scratch classifier (``--classifier``) on the re-rendering in the
  target style (``--w-style``), and a Gram-matrix loss of that classifier's ``feature_maps`` against each
  style's mean Gram matrices, precomputed from the training images (``--w-gram``, resnet classifiers). The
  Gram matrices are CENTRED (each image's feature covariance, :func:`gram`), and each layer's squared error is
  divided by one constant per layer (the mean squared norm of the styles' targets, :func:`gram_scales`);
- content: relative squared distance of a mid-level classifier feature map of the re-rendering to that of
  the input (``--w-content``), so the layout survives the style change;
- cycle (``--w-cycle`` > 0 only): L1 between the input and its re-rendering rendered back in its own style
  (StarGAN's cycle reconstruction), a content term that does not ask the re-rendering to keep the source
  style's features, as the content term does;
- adversarial (``--w-adv`` > 0 only): a style-conditional PatchGAN (``models.discriminator``) trained from scratch
  here, with its own Adam, one hinge step per batch on real images (own style) against the re-renderings (target
  style); the stylizer then gets ``w_adv * hinge_g_loss``. With ``--adv-input classifier`` it scores the frozen loss
  classifier's feature maps of the same views instead (``FeatureDiscriminator``). It enters the training loss, not
  the monitored validation ``loss``. Under ``accelerate launch`` its processes start from rank 0's weights and
  average their gradients (``artstyle.dist``), so they stay one discriminator.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from artstyle.dist import average_gradients, broadcast_module
from artstyle.engine import to_float
from artstyle.inference import chunks, on_device
from artstyle.models.discriminator import hinge_d_loss, hinge_g_loss
from artstyle.stylize.config import StylizeConfig
from artstyle.stylize.ensemble import content_network, logits_and_maps
from artstyle.stylize.views import apply_view, classifier_input, random_views


def gram(features: torch.Tensor, centred: bool = True) -> torch.Tensor:
    """Gram matrices ``(N, C, C)`` of feature maps ``(N, C, H, W)``, normalised by ``H * W``.

    ``centred`` (the default, used by the loss) removes each image's mean feature first: the matrix is the
    image's feature covariance, its texture. Why (issue 12's streaks): the loss target is the MEAN Gram over a
    style's images; uncentred, it contains ``E[mu mu^T]``, i.e. the spread of the images' mean colours
    (palettes) between images. No single image has that; a decoder can only match it by painting fine stripes
    of every palette of the style into each output: the streaks and the colour cast. Centred, the target is
    the mean within-image covariance, which one image of the style does have, and the content keeps its colour.
    """
    f = features.float().flatten(2)
    if centred:
        f = f - f.mean(2, keepdim=True)
    return f @ f.transpose(1, 2) / f.shape[-1]


def gram_scales(grams: list[torch.Tensor], allowed: torch.Tensor | np.ndarray) -> list[torch.Tensor]:
    """One normaliser per layer: the mean squared Frobenius norm of the ``allowed`` styles' targets (``(K, C, C)``).

    The loss used to divide by each TARGET's own norm, which is near zero for a style of flat images (and then
    spiked to ~1e9, one style's term outweighing every other). One constant per layer keeps every style's
    term on the same scale; it is floored so that an all-zero layer cannot divide by zero.
    """
    idx = torch.as_tensor(np.asarray(allowed), dtype=torch.long)
    return [g[idx].float().pow(2).sum((1, 2)).mean().clamp(min=1e-6) for g in grams]


@torch.no_grad()
def style_grams(classifier: torch.nn.Module, clf_size: int, images: np.ndarray, labels: np.ndarray, num_styles: int,
                batch_size: int = 64, *, rows: np.ndarray | None = None, precision: str | None = None,
                device: Any = None, jitter: float = 0.0) -> list[torch.Tensor]:
    """Mean Gram matrix per style and ``feature_maps`` layer: a list of ``(K, C_l, C_l)`` CPU tensors.

    ``images``: uint8 ``(N, H, W, 3)``, best the cache's memmap with ``rows`` (e.g. the training split): it is
    read ``batch_size`` rows at a time and never held whole. ``labels``: ``(N,)`` style indices (of ``rows``
    too). The classifier runs on ``device`` (None: the accelerator's) under ``precision``; the Gram matrices
    are formed (outside autocast) and summed in fp32 where the feature maps are. ``jitter`` (``--loss-jitter``):
    the images pass through the same kind of random views as the re-renderings in the loss (seeded: the same
    targets every time), so that both sides of the Gram term are equally resampled.
    """
    place = on_device(classifier, precision, device)
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    labels = np.asarray(labels)[rows]
    sums: list[torch.Tensor] = []
    counts = torch.zeros(0)
    views = torch.Generator().manual_seed(0)
    for where, batch in chunks(images, rows, batch_size):
        x = place.images(batch)
        if jitter > 0:
            x = apply_view(x, random_views(len(x), jitter, x.shape[-1], views, x.device))
        with place.autocast():
            maps = classifier.feature_maps(classifier_input(x, clf_size))
        at = maps[0].device
        y = torch.as_tensor(labels[where], dtype=torch.long).to(at)
        if not sums:
            sums = [torch.zeros(num_styles, m.shape[1], m.shape[1], device=at) for m in maps]
            counts = torch.zeros(num_styles, device=at)
        for s, m in zip(sums, maps):
            s.index_add_(0, y, gram(m))
        counts.index_add_(0, y, torch.ones(len(y), device=at))
    return [(s / counts.clamp(min=1)[:, None, None]).cpu() for s in sums]


class StylizeTask:
    """Reconstruction + style + content objective; logs the same objective on the validation split.

    ``best.safetensors`` is the latest epoch's weights (``keep = "last"``), not the lowest validation loss (which
    still drives ``--patience``): that loss depends on the style ramp and the random targets, and for the
    learned-vector run of the real-image ground-truth benchmark it was lowest at epoch 1, while the stylizer still
    returned its input nearly unchanged; that checkpoint was worse on the overall means there (docs/results.md,
    section 5).

    ``allowed``: style indices that have training images; targets are drawn among them. ``clf_map`` maps
    stylizer style indices to the classifier's class indices. ``grams``: per-layer ``(K, C, C)`` targets.
    """

    monitor = "loss"
    mode = "min"
    keep = "last"

    def __init__(self, cfg: StylizeConfig, classifier: torch.nn.Module, clf_size: int, clf_map: np.ndarray,
                 allowed: np.ndarray, grams: list[torch.Tensor] | None, train_eval: Any = None,
                 discriminator: torch.nn.Module | None = None,
                 discriminator_state: dict[int, dict[str, torch.Tensor]] | None = None) -> None:
        self.cfg = cfg
        self.classifier = classifier.eval()
        for p in self.classifier.parameters():
            p.requires_grad_(False)
        self.clf_size = clf_size
        self.clf_map = torch.as_tensor(clf_map, dtype=torch.long)
        self.allowed = torch.as_tensor(np.asarray(allowed), dtype=torch.long)
        self.grams = grams
        self.gram_scales = gram_scales(grams, self.allowed) if grams is not None else None
        self.train_eval = train_eval  # un-augmented training images: exact mean codes after each epoch
        self.has_maps = hasattr(classifier, "feature_maps")
        # --w-adv: a discriminator trained here, alongside the stylizer, by its own optimiser (the engine steps
        # only the stylizer's); it is stepped inside training_loss, once per batch, before the generator's term.
        self.disc = discriminator if cfg.w_adv > 0 else None
        self.disc_opt: torch.optim.Optimizer | None = None
        self.disc_state = discriminator_state  # --resume: the Adam state saved with the discriminator
        self._device: torch.device | None = None
        self.step = 0  # optimiser steps taken (train_stylizer sets it on --resume): drives --style-ramp

    def style_factor(self) -> float:
        """The share of ``--w-style`` and ``--w-gram`` applied at this training step: rises linearly from 0 to 1
        over the first ``--style-ramp`` steps (1 when the ramp is 0).

        Why (issue 12): while the style vectors do not yet steer the decoder, the cross-entropy averaged over
        RANDOM targets is lowest for an output the frozen classifier finds equally likely to be any style, and
        the shared weights learn exactly that: one flat colour for every image. Reconstruction first, style later
        lets the conditioning learn to steer before the style terms weigh in full.
        """
        ramp = self.cfg.style_ramp
        return 1.0 if ramp <= 0 else min(1.0, self.step / ramp)

    def _to(self, device: torch.device) -> None:
        if self._device != device:  # moved lazily: the engine decides the device
            self.classifier.to(device)
            self.clf_map, self.allowed = self.clf_map.to(device), self.allowed.to(device)
            if self.grams is not None:
                self.grams = [g.to(device) for g in self.grams]
                self.gram_scales = [s.to(device) for s in self.gram_scales]
            if self.disc is not None:
                self.disc.to(device)
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
               generator: torch.Generator | None = None,
               disc_step: bool = False, ramp: float = 1.0) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Per-image loss terms ``{name: (N,)}`` and the model outputs. ``disc_step``: train the discriminator on
        this batch first (``--w-adv``; training only). ``ramp`` scales the style terms (:meth:`style_factor`)."""
        self._to(images.device)
        cfg = self.cfg
        x = to_float(images)
        target = self.draw_targets(labels, generator)
        res = model(x, target, own=labels, cycle=cfg.w_cycle > 0)
        out = res["out"].float()
        terms: dict[str, torch.Tensor] = {"rec": (res["recon"].float() - x).abs().mean((1, 2, 3))}
        if "cycle" in res:
            terms["cycle"] = (res["cycle"].float() - x).abs().mean((1, 2, 3))
        on_features = self.disc is not None and cfg.adv_input == "classifier"
        need_maps = self.has_maps and (cfg.w_gram > 0 or cfg.w_content > 0 or on_features)
        scale = self.clf_size / cfg.size if cfg.crop_size else None  # crops: the classifier's pixel scale, any size
        theta = random_views(len(x), cfg.loss_jitter, x.shape[-1], generator, x.device) if cfg.loss_jitter > 0 else None
        view = (lambda t: apply_view(t, theta)) if theta is not None else (lambda t: t)  # one view per image, both sides
        out_c = classifier_input(view(out), self.clf_size, scale)
        logits, maps = logits_and_maps(self.classifier, out_c, need_maps)
        clf_target = self.clf_map[target]
        terms["ce"] = F.cross_entropy(logits, clf_target, reduction="none")
        terms["hit"] = (logits.argmax(1) == clf_target).float()
        if cfg.w_gram > 0 and self.has_maps:
            per_layer = []
            for m, g, norm in zip(maps, self.grams, self.gram_scales):
                per_layer.append((gram(m) - g[target]).pow(2).sum((1, 2)) / norm)
            terms["gram"] = torch.stack(per_layer).mean(0)
        x_c = classifier_input(view(x), self.clf_size, scale) if cfg.w_content > 0 or on_features else None
        refs = None
        if cfg.w_content > 0:
            if need_maps:  # the middle map; of an ensemble, its first member's (whose maps come first in maps)
                with torch.no_grad():
                    refs = content_network(self.classifier).feature_maps(x_c)
                ref, got = refs[len(refs) // 2], maps[len(refs) // 2]
            else:
                with torch.no_grad():
                    ref = self.classifier.forward_features(x_c)
                got = self.classifier.forward_features(out_c)
            dims = tuple(range(1, ref.ndim))
            ref, got = ref.float(), got.float()
            terms["content"] = (got - ref).pow(2).sum(dims) / ref.pow(2).sum(dims).clamp(min=1e-8)
        total = cfg.w_rec * terms["rec"] + ramp * cfg.w_style * terms["ce"]
        if "gram" in terms:
            total = total + ramp * cfg.w_gram * terms["gram"]
        if "content" in terms:
            total = total + cfg.w_content * terms["content"]
        if "cycle" in terms:
            total = total + cfg.w_cycle * terms["cycle"]
        if self.disc is not None:  # --adv-input: the pictures, or the loss classifier's maps of the same views
            real, fake = (self.real_maps(x_c, refs), maps) if on_features else (x, out)
            if disc_step:
                terms["d_loss"] = self.discriminator_step(real, labels, _detached(fake), target)
            terms["adv"] = self.generator_term(fake, target)
        terms["loss"] = total  # without the adversarial term: the monitored validation loss stays comparable
        return terms, res

    @torch.no_grad()
    def real_maps(self, x_c: torch.Tensor, refs: list[torch.Tensor] | None) -> list[torch.Tensor]:
        """The loss classifier's feature maps of the inputs' views (``--adv-input classifier``): the content term's
        ``refs`` when they are the whole classifier's (not an ensemble's first member's)."""
        if refs is not None and content_network(self.classifier) is self.classifier:
            return refs
        return self.classifier.feature_maps(x_c)

    def discriminator_step(self, real: Any, labels: torch.Tensor, fake: Any, target: torch.Tensor) -> torch.Tensor:
        """One hinge-loss step of the discriminator: real images in their own style, re-renderings in their target
        style. Returns the loss ``(N,)`` (the scalar, repeated) for the logs."""
        if self.disc_opt is None:  # created here: after _to() put the discriminator on the engine's device
            self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=self.cfg.lr, betas=(0.5, 0.999))
            if self.disc_state is not None:
                self.disc_opt.load_state_dict({"state": self.disc_state,
                                               "param_groups": self.disc_opt.state_dict()["param_groups"]})
            broadcast_module(self.disc)  # under accelerate launch: every process starts from rank 0's weights
        self.disc.train()
        with torch.enable_grad():
            loss = hinge_d_loss(self.disc(real, labels), self.disc(fake, target))
            self.disc_opt.zero_grad(set_to_none=True)
            loss.backward()
        average_gradients(self.disc)  # ... and takes the same step (a no-op in one process)
        self.disc_opt.step()
        self.disc.zero_grad(set_to_none=True)
        return loss.detach().expand(len(labels))

    def generator_term(self, out: Any, target: torch.Tensor) -> torch.Tensor:
        """``hinge_g_loss`` of the re-renderings ``(N,)``; its gradient reaches the stylizer only (the
        discriminator's weights are held fixed while its graph is built, and its spectral norms are not updated)."""
        self.disc.eval()
        for p in self.disc.parameters():
            p.requires_grad_(False)
        try:
            return hinge_g_loss(self.disc(out, target))
        finally:
            for p in self.disc.parameters():
                p.requires_grad_(True)

    def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        images, labels = batch
        ramp = self.style_factor()
        terms, res = self.losses(model, images, labels, disc_step=True, ramp=ramp)
        self.step += 1
        inner = getattr(model, "module", model)  # DDP wraps the model
        if inner.style_source == "mean-latent":
            inner.update_style_means(res["code"], labels, self.cfg.ema)
        logs = {k: float(v.detach().mean()) for k, v in terms.items() if k != "loss"}
        logs["style_ramp"] = ramp
        loss = terms["loss"].mean()
        if "adv" in terms:  # enters only with --w-adv > 0 (no discriminator otherwise)
            loss = loss + self.cfg.w_adv * terms["adv"].mean()
        return loss, logs

    @torch.no_grad()
    def recompute_style_means(self, model: torch.nn.Module, device: torch.device) -> None:
        """Exact mean code per style over the un-augmented training images (mean-latent mode)."""
        inner = getattr(model, "module", model)
        if inner.style_source != "mean-latent" or self.train_eval is None:
            return
        inner.set_style_means(*mean_codes(inner, self.train_eval, device, precision=self.cfg.precision))

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


def _detached(x: torch.Tensor | list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
    return [t.detach() for t in x] if isinstance(x, list) else x.detach()


def _labelled_batches(dataset: Any, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """uint8 ``(B, H, W, 3)`` images and ``(B,)`` labels of ``dataset``, one batch in memory at a time.

    A plain ``CachedImages`` (no transform) is read straight from its cache in chunks; any other dataset of
    ``(uint8 (3, H, W), label)`` items through a DataLoader.
    """
    if getattr(dataset, "transform", True) is None and hasattr(dataset, "cache") and hasattr(dataset, "rows"):
        labels = np.asarray(dataset.labels)
        for where, batch in chunks(dataset.cache.images, dataset.rows, batch_size):
            yield batch, labels[where]
        return
    from torch.utils.data import DataLoader

    for images, labels in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0):
        yield images.permute(0, 2, 3, 1).numpy(), labels.numpy()


@torch.no_grad()
def mean_codes(model: torch.nn.Module, dataset: Any, device: torch.device | str | None = None,
               batch_size: int = 64, precision: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean pooled encoder code per style ``(K, D)`` over ``dataset`` and a ``(K,)`` bool mask of styles seen.

    The model moves to ``device`` (None: the accelerator's) and encodes under ``precision`` there; images
    stream a batch at a time and the sums accumulate in float64.
    """
    was_training = model.training
    model.eval()
    place = on_device(model, precision, device)
    K, D = model.num_styles, model.code_dim
    sums, counts = torch.zeros(K, D, dtype=torch.float64), torch.zeros(K, dtype=torch.float64)
    for images, labels in _labelled_batches(dataset, batch_size):
        with place.autocast():  # contiguous NCHW, as a DataLoader batch: the same sums as before to the last bit
            _, code = model.encode(place.images(images).contiguous())
        y = torch.as_tensor(labels, dtype=torch.long)
        sums.index_add_(0, y, code.double().cpu())
        counts.index_add_(0, y, torch.ones(len(y), dtype=torch.float64))
    model.train(was_training)
    return (sums / counts.clamp(min=1)[:, None]).float(), counts > 0


__all__ = ["StylizeTask", "apply_view", "classifier_input", "gram", "gram_scales", "mean_codes", "random_views",
           "style_grams"]
