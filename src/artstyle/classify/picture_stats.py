"""A second view of the whole picture: fixed statistics of every pixel, and a linear model on them.

Usage::

    stats = picture_statistics(images)                         # uint8 (N, S, S, 3) -> float32 (N, PICTURE_FEATURES)
    head = fit_picture_head(train_stats, train_labels, num_classes)   # a PictureHead (scikit-learn LogisticRegression)
    weight, scores = choose_weight(crop_probs, head.log_probs(val_stats), val_labels)
    head.fusion_weight.fill_(weight)                           # a buffer (the linear layer: head.linear)
    probs = head.fuse(crop_probs, stats)                       # the probabilities prediction reports

The texture network reads 64 px crops and averages their votes. On a nearly flat or out-of-focus picture most crops
show little, and the last errors of the real-image benchmark sit there (docs/results.md, section 7, tenth and
thirteenth sessions). Statistics of the whole cached picture see every pixel at once: how many colours it uses
(posterised and dithered pictures use few), how its Laplacian and gradient magnitudes are spread at three scales
(grain, sharpened detail, smoothed areas) and how skewed its diagonal differences are (an emboss lights one side).
Since the nineteenth session also two classic texture descriptors: rotation-invariant uniform local binary patterns
at three radii (Ojala, Pietikainen and Maenpaa 2002; scikit-image's ``local_binary_pattern(..., "uniform")``) and
how far pixels stray from their 3 x 3 median (impulse grain, dither and dots), at two scales. A class-balanced
logistic regression on them, fitted on the training split after the network (scikit-learn, seconds), votes beside
the crops: ``log p = log p_crops + w * log p_picture``, ``w`` chosen on the validation split.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from artstyle.classify.texture_stats import TEXTURE_FEATURES, nearest_ranks, texture_statistics
from artstyle.errors import ArtstyleError

COLOUR_BITS = (6, 5, 4)
"""Joint RGB histograms at 64, 32 and 16 levels per channel: for each, the log of the colours used, the share of
the 8 and of the 32 fullest bins, and the entropy."""
SCALES = 3
"""Luminance at full size, then 2 x 2 averaged twice."""
LAPLACE_Q, GRADIENT_Q, COLOUR_Q = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99), (0.1, 0.5, 0.9), (0.1, 0.5, 0.9)
BASE_FEATURES = 4 * len(COLOUR_BITS) + SCALES * (len(LAPLACE_Q) + len(GRADIENT_Q) + 4) + 2 * len(COLOUR_Q)
"""The width of the first statistics (57): colour counts, edges, saturation and value. Picture models saved before
the texture descriptors were added read these alone (:meth:`PictureHead.log_probs` keeps the first columns)."""
PICTURE_FEATURES = BASE_FEATURES + TEXTURE_FEATURES
"""The width of :func:`picture_statistics` (121)."""
WEIGHTS = (0.0, 0.125, 0.25, 0.5, 1.0, 2.0)
"""The fusion weights :func:`choose_weight` tries; ties go to the smaller."""
DEFAULT_WEIGHT = 0.25
"""The fusion weight without a validation split to choose it on."""
PICTURE_HEAD_FILE = "picture_head.safetensors"
"""The run's picture model: standardisation, linear layer and fusion weight (metadata: how the weight was chosen)."""


def _quantiles(x: torch.Tensor, qs: Sequence[float]) -> torch.Tensor:
    """Row quantiles of ``(N, M)`` by one sort (nearest rank): ``(N, len(qs))``."""
    return x.sort(1).values[:, nearest_ranks(x.shape[1], qs)]


def _colour_counts(q8: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` int32 in 0..255 -> ``(N, 4 * len(COLOUR_BITS))``."""
    out = []
    n = q8.shape[0]
    for b in COLOUR_BITS:
        q = q8 >> (8 - b)
        idx = (q[:, 0] << 2 * b | q[:, 1] << b | q[:, 2]).flatten(1)
        mass = torch.zeros(n, 1 << 3 * b).scatter_add_(1, idx.long(), torch.ones(idx.shape)) / idx.shape[1]
        top = mass.topk(32, 1).values.cumsum(1)
        entropy = -torch.special.xlogy(mass, mass).sum(1, keepdim=True)
        out += [(mass > 0).sum(1, keepdim=True).float().log(), top[:, 7:8], top[:, 31:32], entropy]
    return torch.cat(out, 1)


def _moments(d: torch.Tensor) -> torch.Tensor:
    """Skewness and kurtosis of each row of ``(N, M)``: ``(N, 2)``."""
    z = (d - d.mean(1, keepdim=True)) / (d.std(1, keepdim=True) + 1e-3)
    return torch.stack([(z ** 3).mean(1), (z ** 4).mean(1)], 1)


def _edge_statistics(y: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` luminance -> ``(N, SCALES * 13)``: Laplacian and gradient quantiles (log1p), diagonal moments.

    Quantiles read every other pixel of each row and column (a quarter of them) at full size: the same spread,
    four times cheaper to sort."""
    out = []
    for s in range(SCALES):
        if s:
            y = nn.functional.avg_pool2d(y[:, None], 2)[:, 0]
        p = nn.functional.pad(y[:, None], (1, 1, 1, 1), mode="reflect")[:, 0]
        mid = p[:, 1:-1, 1:-1]
        lap = p[:, :-2, 1:-1] + p[:, 2:, 1:-1] + p[:, 1:-1, :-2] + p[:, 1:-1, 2:] - 4 * mid
        rows = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]  # Sobel: smooth across, difference along
        cols = p[:, :, :-2] + 2 * p[:, :, 1:-1] + p[:, :, 2:]
        gradient = torch.hypot(rows[:, :, 2:] - rows[:, :, :-2], cols[:, 2:] - cols[:, :-2])
        step = 2 if s == 0 else 1
        out.append(_quantiles(lap.abs()[:, ::step, ::step].flatten(1), LAPLACE_Q).log1p())
        out.append(_quantiles(gradient[:, ::step, ::step].flatten(1), GRADIENT_Q).log1p())
        out.append(_moments((y[:, 1:, 1:] - y[:, :-1, :-1]).flatten(1)))
        out.append(_moments((y[:, 1:, :-1] - y[:, :-1, 1:]).flatten(1)))
    return torch.cat(out, 1)


@torch.no_grad()
def picture_statistics(images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """uint8 ``(N, H, W, 3)`` pictures (a memory map is read a batch at a time) -> float32 ``(N, PICTURE_FEATURES)``.

    Fixed, no learning: colour counts (:data:`COLOUR_BITS`), Laplacian and Sobel-gradient quantiles of the
    luminance and the skewness and kurtosis of its two diagonal differences at :data:`SCALES` scales, and the
    quantiles of saturation and value (HSV): the first :data:`BASE_FEATURES`. Then the texture descriptors
    (:func:`artstyle.classify.texture_stats.texture_statistics`).
    """
    out = []
    for i in range(0, len(images), batch_size):
        q8 = torch.from_numpy(np.array(images[i:i + batch_size], np.uint8)).permute(0, 3, 1, 2).int()  # a copy
        x = q8.float()
        y = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
        hi, lo = x[..., ::2, ::2].amax(1).flatten(1), x[..., ::2, ::2].amin(1).flatten(1)  # a quarter, as above
        saturation = torch.where(hi > 0, 255 * (hi - lo) / hi.clamp_min(1), torch.zeros(()))
        out.append(torch.cat([_colour_counts(q8), _edge_statistics(y), _quantiles(saturation, COLOUR_Q),
                              _quantiles(hi, COLOUR_Q), texture_statistics(q8)], 1))
    return torch.cat(out).numpy() if out else np.zeros((0, PICTURE_FEATURES), np.float32)


class PictureHead(nn.Module):
    """Standardised :func:`picture_statistics` -> class logits (``linear``), and ``fusion_weight``, the weight of its
    log-probabilities beside the crops' (a buffer). Its state lives in the run's ``picture_head.safetensors``."""

    def __init__(self, num_classes: int, features: int = PICTURE_FEATURES) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))
        self.register_buffer("fusion_weight", torch.tensor(DEFAULT_WEIGHT))
        self.linear = nn.Linear(features, num_classes)

    def log_probs(self, stats: np.ndarray) -> np.ndarray:
        """``(N, F)`` statistics -> ``(N, C)`` log-probabilities of the picture model alone. A model fitted on
        fewer statistics (one saved before the texture descriptors, :data:`BASE_FEATURES`) reads the first ones."""
        x = torch.as_tensor(np.asarray(stats), dtype=torch.float32, device=self.mean.device)[:, :self.mean.numel()]
        with torch.no_grad():
            return torch.log_softmax(self.linear((x - self.mean) / self.scale).float(), 1).cpu().numpy()

    def fuse(self, crop_probs: np.ndarray, stats: np.ndarray) -> np.ndarray:
        """The crops' averaged probabilities ``(N, C)`` combined with the picture model's: :func:`fuse`."""
        return self.fuse_log_probs(crop_probs, self.log_probs(stats))

    def fuse_log_probs(self, crop_probs: np.ndarray, picture_log_probs: np.ndarray) -> np.ndarray:
        """:meth:`fuse` from the picture model's log-probabilities (:meth:`log_probs`)."""
        return fuse(crop_probs, picture_log_probs, float(self.fusion_weight))


def fuse(crop_probs: np.ndarray, picture_log_probs: np.ndarray, weight: float) -> np.ndarray:
    """``softmax(log p_crops + weight * log p_picture)``; ``weight`` 0 gives ``crop_probs`` back."""
    if weight == 0:
        return crop_probs
    z = np.log(np.clip(crop_probs, 1e-8, None)) + weight * picture_log_probs
    z = np.exp(z - z.max(1, keepdims=True))
    return (z / z.sum(1, keepdims=True)).astype(crop_probs.dtype)


def fit_picture_head(stats: np.ndarray, labels: np.ndarray, num_classes: int, seed: int = 0) -> PictureHead:
    """A class-balanced multinomial logistic regression (scikit-learn) on standardised ``stats``, as a
    :class:`PictureHead`. Classes absent from ``labels`` get a bias that rules them out."""
    from sklearn.linear_model import LogisticRegression

    stats = np.asarray(stats, np.float64)
    mean, scale = stats.mean(0), stats.std(0)
    scale[scale < 1e-6] = 1.0
    present = np.unique(labels)
    lr = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced", random_state=seed)
    lr.fit((stats - mean) / scale, labels)
    head = PictureHead(num_classes, stats.shape[1])
    coef, bias = np.zeros((num_classes, stats.shape[1])), np.full(num_classes, -30.0)
    if len(present) == 2:  # scikit-learn's binary case: one row for the second class
        coef[present[1]], bias[present[1]], bias[present[0]] = lr.coef_[0], lr.intercept_[0], 0.0
    else:
        coef[lr.classes_], bias[lr.classes_] = lr.coef_, lr.intercept_
    with torch.no_grad():
        head.mean.copy_(torch.from_numpy(mean))
        head.scale.copy_(torch.from_numpy(scale))
        head.linear.weight.copy_(torch.from_numpy(coef))
        head.linear.bias.copy_(torch.from_numpy(bias))
    return head


def choose_weight(crop_probs: np.ndarray, picture_log_probs: np.ndarray, labels: np.ndarray,
                  weights: Sequence[float] = WEIGHTS) -> tuple[float, dict[str, float]]:
    """The fusion weight with the best balanced accuracy on held-out pictures (ties: the smaller), and every score."""
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():  # a validation split may lack a class that some picture is called
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        scores = {str(w): float(balanced_accuracy_score(labels, fuse(crop_probs, picture_log_probs, w).argmax(1)))
                  for w in weights}
    best = max(weights, key=lambda w: (scores[str(w)], -w))
    return float(best), scores


def split_statistics(cache: Any, split: str, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`picture_statistics` of one split of a prepared cache (read a chunk at a time) and its labels."""
    from tqdm.auto import tqdm

    from artstyle.inference import chunks

    rows = cache.indices(split)
    bar = tqdm(total=len(rows), desc=f"picture statistics ({split})", unit="img", disable=not progress, leave=False)
    stats = []
    for where, batch in chunks(cache.images, rows):
        stats.append(picture_statistics(batch))
        bar.update(where.stop - where.start)
    bar.close()
    return (np.concatenate(stats) if stats else np.zeros((0, PICTURE_FEATURES), np.float32)), cache.labels[rows]


def estimate_seconds(cache: Any, splits: Sequence[str] = ("train", "val")) -> float:
    """About how long :func:`fit_for_run` takes on ``cache``: :func:`picture_statistics` of 32 training images,
    timed after a warm-up call, scaled to the splits' size, plus a quarter for the validation prediction and the
    fit and 5 s."""
    rows = cache.indices("train")[:34]
    if len(rows) < 3:
        return 5.0
    picture_statistics(np.asarray(cache.images[rows[:2]]))  # the first call pays for torch's warm-up
    t0 = time.perf_counter()
    picture_statistics(np.asarray(cache.images[rows[2:]]))
    per_image = (time.perf_counter() - t0) / (len(rows) - 2)
    return 1.25 * per_image * sum(len(cache.indices(s)) for s in splits) + 5.0


def fit_for_run(run: Path, cache: Any, seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Fit the run's picture model on the training split of ``cache``, choose its fusion weight on the validation
    split (:data:`DEFAULT_WEIGHT` without one) against the run's own crops, and save :data:`PICTURE_HEAD_FILE`
    (atomic). Returns what the run's metrics.json records under ``training.picture_head``.

    The model is not refitted on train and validation once the weight is chosen: that was measured and did not
    pay (docs/results.md, section 7, eighteenth session)."""
    from artstyle.classify.crops import predict_crops
    from artstyle.classify.evaluate import map_classes
    from artstyle.classify.load import load_classifier
    from artstyle.inference import chunks
    from artstyle.runs import save_safetensors

    t0 = time.perf_counter()
    model, info = load_classifier(run, picture=False)
    mapping = map_classes(info["classes"], cache.classes)  # cache label -> run label, by name
    if len(np.unique(cache.labels[cache.indices("train")])) < 2:
        return {"skipped": "the training split holds one class: nothing for a picture model to tell apart"}
    stats, labels = split_statistics(cache, "train", progress)
    head = fit_picture_head(stats, mapping[labels], len(info["classes"]), seed)
    val_rows = cache.indices("val")
    chosen_on, scores, weight = "default", {}, DEFAULT_WEIGHT
    if len(val_rows):
        val_stats, val_labels = split_statistics(cache, "val", progress)
        crops = np.concatenate([predict_crops(model, batch, info["size"], info["tta"], precision=info["precision"],
                                              picture=False)[0] for _, batch in chunks(cache.images, val_rows)])
        weight, scores = choose_weight(crops, head.log_probs(val_stats), mapping[val_labels])
        chosen_on = "val"
    head.fusion_weight.fill_(weight)
    meta = {"weight": weight, "chosen_on": chosen_on, "val_balanced_accuracy": scores,
            "train_images": int(len(labels)), "features": PICTURE_FEATURES}
    save_safetensors(Path(run) / PICTURE_HEAD_FILE, dict(head.state_dict()),
                     metadata={k: str(v) for k, v in meta.items()})
    return {**meta, "seconds": round(time.perf_counter() - t0, 1)}


def load_picture_head(run: Path, num_classes: int) -> PictureHead | None:
    """The run's picture model (:data:`PICTURE_HEAD_FILE`), or None for a run without one. Files written before
    the fusion weight's buffer was renamed (``weight``, 2026-12-02) or before the texture descriptors (57
    statistics, :data:`BASE_FEATURES`) load too."""
    from artstyle.runs import load_safetensors, load_weights

    path = Path(run) / PICTURE_HEAD_FILE
    if not path.is_file():
        return None
    tensors = load_safetensors(path)
    width = tensors["mean"].numel() if "mean" in tensors else None
    if width not in (BASE_FEATURES, PICTURE_FEATURES):
        raise ArtstyleError(f"{path} holds no picture model of {BASE_FEATURES} or {PICTURE_FEATURES} statistics "
                            f"(its 'mean': {width}); delete it to use the crops alone, or retrain the run")
    if "weight" in tensors and "fusion_weight" not in tensors:
        tensors["fusion_weight"] = tensors.pop("weight")
    return load_weights(PictureHead(num_classes, width), path, tensors)


def predict_and_vote(model: Any, images: np.ndarray, size: int, grid: int, classes: Sequence[str], **kwargs: Any
                     ) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """:func:`artstyle.classify.crops.predict_crops` (``kwargs``: its device and precision), and what the picture
    model alone says of each uint8 ``(N, S, S, 3)`` image, for ``predict --json``: ``{"style", "probability",
    "weight"}`` each (an empty dict each for a model without one), from one computation of the statistics."""
    from artstyle.classify.crops import predict_crops

    probs, per_crop = predict_crops(model, images, size, grid, picture=False, **kwargs)
    head = getattr(model, "picture_head", None)
    if head is None:
        return probs, per_crop, [{} for _ in range(len(images))]
    log_probs = head.log_probs(picture_statistics(images))
    weight = float(head.fusion_weight)
    votes = [{"style": classes[int(p.argmax())], "probability": float(np.exp(p.max())), "weight": weight}
             for p in log_probs]
    return head.fuse_log_probs(probs, log_probs), per_crop, votes


def attach(model: Any, head: PictureHead | None) -> Any:
    """``model`` with ``head`` as its ``picture_head`` (prediction then fuses both views); None leaves it as is."""
    if head is not None:
        model.picture_head = head.eval()
    return model


__all__ = ["BASE_FEATURES", "DEFAULT_WEIGHT", "PICTURE_FEATURES", "PICTURE_HEAD_FILE", "PictureHead", "WEIGHTS",
           "attach", "choose_weight", "estimate_seconds", "fit_for_run", "fit_picture_head", "fuse",
           "load_picture_head", "picture_statistics", "predict_and_vote", "split_statistics"]
