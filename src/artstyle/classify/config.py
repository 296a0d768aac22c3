"""The ``artstyle classify train`` / ``compare`` settings, importable without torch (the CLI builds ``--help`` from them).

Usage: ``train_classifier(ClassifyConfig(data="builtin", imbalance="crt", epochs=10))``;
``train_command(cfg)`` -> ``"artstyle classify train --data builtin:0.1 --size 64 --epochs 3"``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields, replace
from typing import Any

from artstyle.config import command_line, opt
from artstyle.constants import CLASSIFIER_POOLS, DATA_HELP
from artstyle.settings import TrainSettings

IMBALANCE = ("none", "resample", "weighted-loss", "logit-adjust", "crt")


@dataclass
class ClassifyConfig(TrainSettings):
    data: str = opt("builtin", DATA_HELP)
    label_column: str = opt("style", "Label column for Hugging Face sources (style, genre, artist).")
    size: int = opt(0, "Input size of the network in pixels (0 = 64 px crops for the texture model, 128 px whole "
                    "images otherwise).")
    cache_size: int = opt(0, "Side of the cached images in pixels. Larger than --size keeps native-resolution texture: "
                          "training takes random --size crops of the cached image and prediction averages a --tta "
                          "grid of crops. 0 = 4 x --size (at most 256, at least 2 x --size) for the texture model, "
                          "else --size (whole images downscaled to --size).")
    crop_jitter: float = opt(1.0, "With --cache-size > --size: training crops cover --size x s cached pixels, s "
                             "between 1/J and J (J = this value, at least 1), resized to --size (scale jitter); 1 = "
                             "plain crops at native scale, never resampled, so pixel-level grain and dither survive.")
    tta: int = opt(0, "Prediction (test report, evaluate, predict) averages the class probabilities of a TTA x TTA "
                   "grid of --size crops of each cached image (0 = 5 when --cache-size >= 4 x --size, 3 when it is "
                   "larger, else 1).")
    model: str = opt("auto", "Architecture: auto (texture on image folders and Hugging Face data, resnet on the built-in "
                     "dataset), texture (shallow and fast, multi-scale mean/std pooling, for native-scale crops), "
                     "resnet (compact residual CNN), simple-cnn, or inclass (the course baseline).",
                     choices=("auto", "texture", "resnet", "simple-cnn", "inclass"))
    width: int = opt(32, "Base channel width (resnet, texture, simple-cnn).")
    depth: int = opt(1, "Residual blocks per stage (resnet); conv layers per stage (texture).")
    pool: str = opt("avg", "How resnet pools its last feature map: avg (global average), gem (generalised mean) "
                    "or cov (second-order: channel covariances, a texture statistic).", choices=CLASSIFIER_POOLS)
    highpass: bool = opt(True, "texture model: give the network the high-pass residual of its input (the image minus "
                         "a 3x3 box blur) beside the image; texture lives there, and the network learns much faster "
                         "with it (docs/results.md, section 7). --no-highpass: the image alone.")
    colour_peaks: bool = opt(False, "texture model: also give the head how few colours each crop uses (the share of "
                             "pixels in the fullest bins of its colour histogram, and its entropy), aimed at "
                             "dither, posterize and flat colour. +2.7 points at equal epochs, but no better at "
                             "equal time on 2 CPU cores, so off by default (docs/results.md, section 7).")
    global_view: bool = opt(True, "texture model: give the head the whole picture's palette beside each crop (the "
                            "colour peaks of an evenly strided subsample of the whole cached image, carried as three "
                            "more input channels in training and prediction): a crop of a posterised picture and one "
                            "of flat segments both use few colours, the whole pictures do not (docs/results.md, "
                            "section 7). Needs plain crops (--crop-jitter 1, no --color-jitter). --no-global-view: "
                            "the crops alone.")
    picture_stats: str = opt("auto", "A second view of each whole picture: after training, a class-balanced logistic "
                             "regression on fixed statistics of all its pixels (colours used, Laplacian and gradient "
                             "spread at three scales, diagonal skew, saturation, local binary patterns, the 3 x 3 "
                             "median residual) is fitted on the training split, and "
                             "prediction combines its vote with the crops' (log p = log p_crops + w log p_picture, w "
                             "chosen on the validation split; picture_head.safetensors). It reads what no single crop "
                             "of a flat or out-of-focus picture shows. auto = on for the texture model, off "
                             "otherwise (docs/results.md, section 7).", choices=("auto", "on", "off"))
    keep: str = opt("auto", "Which epoch's weights become best.safetensors, the ones the test report, evaluate, predict "
                    "and later stages use: best (the highest validation balanced accuracy), last (the final epoch: "
                    "where the learning rate has decayed to zero, or where --patience stopped the run), or auto: "
                    "last for the texture model, whose validation score (one centre crop of each held-out image) "
                    "ranks epochs too noisily, best otherwise and with --imbalance crt (docs/results.md, section "
                    "7).", choices=("auto", "best", "last"))
    imbalance: str = opt("auto", "Class-imbalance strategy: auto (resample for the texture model, crt otherwise); none; resample (--per-class images per class per "
                         "epoch); weighted-loss (class weights in the loss); logit-adjust (logits + tau*log prior in "
                         "the training loss); crt (train as none, then retrain the head with class-balanced sampling "
                         "for --crt-epochs). `artstyle classify compare` measures them on your data.",
                         choices=("auto", *IMBALANCE))
    per_class: int = opt(400, "resample/crt: images drawn per class per epoch.")
    weighting: str = opt("effective", "weighted-loss: inverse frequency or effective number (Cui 2019).",
                         choices=("inverse", "effective"))
    beta: float = opt(0.999, "weighted-loss effective number: beta.")
    tau: float = opt(1.0, "logit-adjust: temperature tau.")
    crt_epochs: int = opt(3, "crt: epochs of head re-training.")
    label_smoothing: float = opt(0.1, "Label smoothing of the cross-entropy.")
    adv_eps: float = opt(0.0, "Adversarial training: each training batch is first pushed up to this many 0-255 pixel "
                         "levels towards misclassification (FGSM with a random start, Wong et al. 2020): a robust "
                         "classifier, whose gradients follow features people see, meant as a loss network for "
                         "`stylize train --classifier`. Costs about twice the time per step and clean accuracy; as a "
                         "stylizer's loss network it did not raise the judge's hit rate (docs/results.md, section 5). "
                         "0 = off.")
    mixup: float = opt(0.0, "Mixup (Zhang et al. 2018): train on convex mixes of two images and of their labels, the "
                       "mix drawn from Beta(a, a) with a = this value (e.g. 0.2). 0 = off.")
    augment: bool = opt(True, "Random-resized crop and horizontal flip during training.")
    color_jitter: bool = opt(False, "Colour jitter augmentation. Off by default: colour is a style signal.")
    name: str = opt("", "Run name (default: <model>-<imbalance>).")
    out: str = opt("", "Explicit run directory (default: runs/classify/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to be an existing, non-empty directory.")
    resume: str = opt("", "Continue the run in this directory exactly where its last checkpoint left off.")
    cache: str = opt("", "Use this prepared cache directory instead of preparing --data.")


def resolved_tta(cfg: ClassifyConfig, cache_size: int) -> int:
    """``--tta``, with 0 resolved: a 5 x 5 grid when the cache is at least 4 times the crop, 3 x 3 when it is
    larger, else the single image."""
    if cfg.tta > 0:
        return cfg.tta
    return 1 if cache_size <= cfg.size else (5 if cache_size >= 4 * cfg.size else 3)


def train_command(cfg: ClassifyConfig, command: str = "artstyle classify train",
                  extra: dict[str, Any] | None = None) -> str:
    """The CLI line that reproduces ``cfg`` (``config.command_line``), with ``--data`` and ``--size`` first.

    Why first: they say what was trained on, and the report has always shown the line that way
    (``artstyle classify train --data builtin:0.3 --size 64 --epochs 4 ...``).
    """
    default = {f.name: f.default for f in fields(ClassifyConfig) if f.name in ("data", "size")}
    lead = "".join(f" --{k} {shlex.quote(str(getattr(cfg, k)))}" for k in default if getattr(cfg, k) != default[k])
    return command_line(command + lead, replace(cfg, **default), extra)


__all__ = ["ClassifyConfig", "IMBALANCE", "resolved_tta", "train_command"]
