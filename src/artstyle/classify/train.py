"""Train a style classifier from scratch with an imbalance strategy, then evaluate its best checkpoint.

Usage: ``run = train_classifier(ClassifyConfig(data="builtin", imbalance="crt", epochs=10))``.

A run directory holds config.json, classes.json, metrics.jsonl (per epoch), best/last.safetensors,
metrics.json (test-split evaluation with baselines) and figures/confusion.png; a crt run also holds
stage1_best.safetensors, stage1_summary.json and crt/ (the head re-training, resumable on its own).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from artstyle.classify.config import ClassifyConfig, resolved_tta, train_command
from artstyle.classify.crops import SCALE_JITTER, crop_transform
from artstyle.classify.evaluate import final_evaluation
from artstyle.classify.load import build_from_args
from artstyle.classify.picture_stats import PICTURE_HEAD_FILE, estimate_seconds, fit_for_run
from artstyle.classify.recipe import resolve_recipe
from artstyle.classify.task import ClassificationTask, class_weights, logit_offsets
from artstyle.config import config_dict
from artstyle.dist import is_main_process, main_process_first, shared_run_dir
from artstyle.engine import budget_deadline, fit
from artstyle.errors import ArtstyleError
from artstyle.runs import (create_run, find_run, load_safetensors, prepare_run_dir, read_json, write_bytes, write_config,
                           write_json)


def _model_args(cfg: ClassifyConfig, num_classes: int) -> dict[str, Any]:
    args = {"arch": cfg.model, "num_classes": num_classes, "img_size": cfg.size, "width": cfg.width, "depth": cfg.depth,
            "pool": cfg.pool}
    texture = {"highpass": cfg.highpass, "peaks": cfg.colour_peaks, "global_view": cfg.global_view}
    return {**args, **texture} if cfg.model == "texture" else args


def _write_run_files(run: Path, cfg: ClassifyConfig, cache: Any, strategy: dict[str, Any]) -> None:
    """config.json (what the run is and how to rebuild its model) and classes.json (the label map)."""
    write_config(run, "classify", train_command(cfg),
                 {"config": config_dict(cfg), "model": _model_args(cfg, len(cache.classes)),
                  "input": {"size": cfg.size, "range": [-1, 1], "resize": cache.meta["policy"],
                            "cache_size": cache.size, "tta": resolved_tta(cfg, cache.size)},
                  "data": {"source": cache.source, "synthetic": cache.synthetic, "cache": str(cache.root)},
                  "strategy": strategy})
    write_json(run / "classes.json", {"classes": cache.classes})


def check_options(cfg: ClassifyConfig) -> None:
    """Refuse option combinations that cannot work, naming the options (``cfg``: resolved by the recipe)."""
    if cfg.cache_size and cfg.cache_size < cfg.size:
        where = f"the prepared --cache {cfg.cache} holds {cfg.cache_size} px images" if cfg.cache else \
            f"--cache-size {cfg.cache_size} px"
        raise ArtstyleError(f"{where}, smaller than --size {cfg.size} px; the cache must hold the crop (use a smaller "
                            "--size, or --cache-size 0 for the default)")
    texture_only = [flag for flag, used in (("--no-highpass", not cfg.highpass), ("--colour-peaks", cfg.colour_peaks),
                                            ("--no-global-view", not cfg.global_view)) if used]
    if not cfg.resume and texture_only and cfg.model != "texture":
        flags = " and ".join(texture_only)
        raise ArtstyleError(f"{flags} applies to the texture model only, and this run trains {cfg.model} "
                            f"(--model auto picks resnet for the built-in dataset); drop {flags}, or add --model "
                            "texture")
    if not 0 <= cfg.adv_eps <= 64:
        raise ArtstyleError(f"--adv-eps {cfg.adv_eps}: choose 0 (off) or a perturbation of up to 64 pixel levels "
                            "(e.g. 8)")
    if cfg.mixup < 0:
        raise ArtstyleError(f"--mixup {cfg.mixup}: choose 0 (off) or a Beta parameter above 0 (e.g. 0.2)")
    if cfg.crop_jitter < 1:
        raise ArtstyleError(f"--crop-jitter {cfg.crop_jitter}: choose 1 (plain crops) or more (e.g. 1.25)")
    if cfg.keep == "last" and cfg.imbalance == "crt":
        raise ArtstyleError("--keep last with --imbalance crt: cRT weighs its re-trained head against stage 1's best "
                            "validation score, so stage 1 must keep its best epoch; use --keep best (or auto)")
    crops = (cfg.augment or cfg.imbalance == "crt") and cfg.cache_size > cfg.size  # cRT's head crops regardless
    if cfg.global_view and cfg.model == "texture" and ((crops and cfg.crop_jitter > 1) or cfg.color_jitter):
        raise ArtstyleError("--global-view (the texture model's default) takes plain crops, whose colours are the "
                            "picture's: drop --color-jitter and use --crop-jitter 1, or add --no-global-view")


def train_classifier(cfg: ClassifyConfig) -> Path:
    """Train a classifier, evaluate its best checkpoint on the test split, and return the run directory."""
    from artstyle.data.cache import open_cache
    from artstyle.data.dataset import CachedImages
    from artstyle.data.sampler import ClassBalancedSampler

    started = time.perf_counter()  # --time-budget counts the whole command from here
    cfg = resolve_recipe(cfg) if not cfg.resume else cfg
    check_options(cfg)  # before anything is claimed or decoded
    if cfg.resume:
        run = find_run(cfg.resume)
        # runs from before --crop-jitter took scale-jittered crops (crop_transform's default); runs from before
        # --highpass trained the RGB-only texture network, runs from before --colour-peaks went without it, and runs
        # from before --keep kept the best epoch, runs from before --picture-stats had no picture model
        info = read_json(run / "config.json")
        model = info.get("model", {})
        saved = {"crop_jitter": SCALE_JITTER, "highpass": model.get("highpass", False),
                 "colour_peaks": model.get("peaks", False), "global_view": model.get("global_view", False),
                 "keep": "best", "picture_stats": "off",
                 **info["config"]}
        cfg = ClassifyConfig(**{**saved, "resume": cfg.resume, "progress": cfg.progress})
    with main_process_first():
        cache = open_cache(cfg)
    counts = cache.counts("train")
    if not cfg.resume:
        name = cfg.name or f"{cfg.model}-{cfg.imbalance}"
        run = shared_run_dir(lambda: prepare_run_dir(cfg.out, cfg.overwrite) if cfg.out else create_run("classify", name))
    torch.manual_seed(cfg.seed)
    model = build_from_args(_model_args(cfg, len(cache.classes)))
    weights = class_weights(counts, cfg.weighting, cfg.beta) if cfg.imbalance == "weighted-loss" else None
    offsets = logit_offsets(counts, cfg.tau) if cfg.imbalance == "logit-adjust" else None
    strategy = {"imbalance": cfg.imbalance, "train_counts": counts.tolist(),
                "class_weights": None if weights is None else weights.tolist(),
                "logit_offsets": None if offsets is None else offsets.tolist()}
    if not cfg.resume and is_main_process():
        _write_run_files(run, cfg, cache, strategy)
    views = getattr(model, "global_view", False)  # the network decides what its input carries, as in cRT below
    train_ds = CachedImages(cache, "train", transform=crop_transform(cfg.size, cache.size, cfg.augment, cfg.color_jitter,
                                                                     cfg.crop_jitter, global_view=views))
    val_split = "val" if (cache.splits == "val").any() else "test"
    val_ds = CachedImages(cache, val_split, transform=crop_transform(cfg.size, cache.size, augment=False,
                                                                     global_view=views))
    sampler = ClassBalancedSampler(train_ds.labels, cfg.per_class, cfg.seed) if cfg.imbalance == "resample" else None
    task = ClassificationTask(weights, offsets, cfg.label_smoothing, cfg.channels_last, keep=cfg.keep,
                              adv_eps=cfg.adv_eps, mixup=cfg.mixup)
    t0 = time.perf_counter()
    reserve = _picture_reserve(cfg, cache)
    stage1 = run / "stage1_summary.json"
    stage1_done = bool(cfg.resume) and cfg.imbalance == "crt" and stage1.is_file()  # interrupted during cRT: stage 1 must not run again
    if stage1_done:
        summary = {**read_json(stage1), "is_main_process": is_main_process()}
    else:
        share = _stage1_share(cfg, int(counts.sum()), len(cache.classes)) if cfg.imbalance == "crt" else 1.0
        summary = fit(model, task, train_ds, val_ds, run, cfg, sampler=sampler, resume=bool(cfg.resume),
                      metadata={"arch": cfg.model},
                      deadline=budget_deadline(cfg.time_budget, started, share) - reserve)
    if cfg.imbalance == "crt":
        summary["crt"] = _classifier_retraining(cfg, run, cache, _model_args(cfg, len(cache.classes)),
                                                stage1_summary=None if stage1_done else dict(summary),
                                                deadline=budget_deadline(cfg.time_budget, started) - reserve)
    summary["train_seconds"] = time.perf_counter() - t0
    if reserve:
        summary["picture_reserve_s"] = round(reserve, 1)
    if summary["is_main_process"]:
        (run / PICTURE_HEAD_FILE).unlink(missing_ok=True)  # --overwrite, --resume: never a stale picture model
        if cfg.picture_stats == "on":
            summary["picture_head"] = fit_for_run(run, cache, cfg.seed, cfg.progress)
        final_evaluation(run, cache, summary)
    return run


PICTURE_MAX_SHARE = 0.5
"""With ``--time-budget``, the picture model's fit takes at most this share of the budget from training."""


def _picture_reserve(cfg: ClassifyConfig, cache: Any) -> float:
    """Seconds of ``--time-budget`` kept for the picture model's fit after training (``--picture-stats on``): its
    estimate, capped at ``PICTURE_MAX_SHARE`` of the budget with a warning (the command then runs over the
    budget by the rest)."""
    if cfg.picture_stats != "on" or cfg.time_budget <= 0:
        return 0.0
    estimate = estimate_seconds(cache)
    if estimate > PICTURE_MAX_SHARE * cfg.time_budget:
        import warnings

        warnings.warn(f"--picture-stats: the picture model's fit will take about {estimate:.0f} s, more than half of "
                      f"--time-budget {cfg.time_budget:g}; training keeps half the budget and the command will run "
                      "over it (raise --time-budget, or --picture-stats off)", stacklevel=2)
        return PICTURE_MAX_SHARE * cfg.time_budget
    return estimate


CRT_MIN_SHARE = 0.15
"""With ``--time-budget``, cRT's head re-training gets at least this share of the budget."""


def _stage1_share(cfg: ClassifyConfig, n_train: int, n_classes: int) -> float:
    """The share of ``--time-budget`` stage 1 of crt gets, so the head re-training fits in the rest.

    By the work each does: stage 1 sees ``epochs * n_train`` images forward and backward (about 3 forward passes
    each), cRT ``crt_epochs * per_class * n_classes`` images forward through the frozen features (about 1).
    Capped at ``1 - CRT_MIN_SHARE``: when the budget, not ``--epochs``, ends stage 1 (the usual case with a
    budget), the work estimate gives the head a few seconds, too few to re-train it.
    """
    stage1 = 3.0 * cfg.epochs * n_train
    crt = 1.0 * cfg.crt_epochs * cfg.per_class * n_classes
    return min(stage1 / max(1.0, stage1 + crt), 1.0 - CRT_MIN_SHARE)


def _classifier_retraining(cfg: ClassifyConfig, run: Path, cache: Any, model_args: dict,
                           stage1_summary: dict | None, deadline: float = float("inf")) -> dict:
    """cRT (Kang et al. 2020): freeze the features, re-initialise the head, retrain it class-balanced.

    ``stage1_summary``: given when stage 1 was just trained, so cRT starts over from its best checkpoint
    (the summary is saved last, as the marker that stage 1 is complete); ``None``: an interrupted cRT resumes.
    """
    fresh = stage1_summary is not None
    import shutil

    from artstyle.data.dataset import CachedImages
    from artstyle.data.sampler import ClassBalancedSampler

    crt_dir = run / "crt"
    with main_process_first():
        if is_main_process() and fresh:  # nothing of an earlier cRT (--overwrite) may survive a new stage 1
            shutil.rmtree(crt_dir, ignore_errors=True)
            write_bytes(run / "stage1_best.safetensors", (run / "best.safetensors").read_bytes())  # atomic
            write_json(run / "stage1_summary.json", {k: v for k, v in stage1_summary.items()
                                                     if k != "is_main_process"})
        crt_dir.mkdir(exist_ok=True)
        model = build_from_args(model_args)
        model.load_state_dict(load_safetensors(run / "stage1_best.safetensors"))
    for p in model.parameters():
        p.requires_grad_(False)
    model.head.reset_parameters()
    head = list(model.head.parameters())
    for p in head:
        p.requires_grad_(True)
    # No augmentation (the features are fixed), except native-scale crops when the cache is larger than the input.
    views = getattr(model, "global_view", False)
    train_ds = CachedImages(cache, "train", transform=crop_transform(cfg.size, cache.size, augment=cache.size > cfg.size,
                                                                     jitter=cfg.crop_jitter, global_view=views))
    val_split = "val" if (cache.splits == "val").any() else "test"
    sampler = ClassBalancedSampler(train_ds.labels, cfg.per_class, cfg.seed + 1)
    settings = ClassifyConfig(**{**config_dict(cfg), "epochs": cfg.crt_epochs, "warmup_epochs": 0.0, "patience": 0})
    task = ClassificationTask(None, None, cfg.label_smoothing, cfg.channels_last, frozen_features=True)
    val_ds = CachedImages(cache, val_split, transform=crop_transform(cfg.size, cache.size, augment=False,
                                                                     global_view=views))
    summary = fit(model, task, train_ds, val_ds, crt_dir, settings, sampler=sampler,
                  resume=not fresh and (crt_dir / "last_state.json").exists(), params=head, deadline=deadline)
    stage1_best, crt_best = read_json(run / "stage1_summary.json").get("best"), summary.get("best")
    summary["kept"] = stage1_best is None or (crt_best is not None and crt_best >= stage1_best)
    if not summary["kept"]:  # e.g. the budget left the head a few steps (or --crt-epochs 0): the stage-1 head stays
        got = "no score" if crt_best is None else f"{crt_best:.4f}"
        summary["not_kept_because"] = (f"validation {summary.get('monitor', 'score')} {got} after re-training is "
                                       f"below stage 1's {stage1_best:.4f}")
    if is_main_process():
        best = crt_dir / "best.safetensors" if summary["kept"] else run / "stage1_best.safetensors"
        write_bytes(run / "best.safetensors", best.read_bytes())  # atomic
    return summary


__all__ = ["train_classifier"]
