"""Train a stylizer into a run directory: the loss classifier (and judge) first if needed, then the engine.

Usage::

    run = train_stylizer(StylizeConfig(data="builtin:0.1", size=64, classifier="runs/classify/<run>",
                                       judge="runs/classify/<other run>"))

Without ``--classifier`` a small resnet classifier is trained first, inside the run (``<run>/classifier/``),
and recorded in config.json; ``--judge auto`` trains the judge, a simple-cnn with another seed, into
``<run>/judge/``. ``--init-from EMBED_RUN`` starts every stylizer tensor whose name and shape an ``artstyle embed
train`` autoencoder shares from it (:func:`init_from_autoencoder`; config.json's ``init_from`` lists what loaded and
what did not). A run directory holds config.json, classes.json, metrics.jsonl, best/last.safetensors,
style_stats.safetensors (per-style mean training images) and metrics.json ({"training", "evaluation"}), plus
what :func:`artstyle.stylize.evaluate.evaluate_stylizer` writes when a judge is given. With ``--w-adv`` it also
holds discriminator.safetensors (its weights) and discriminator_state.safetensors (the weights and Adam state after
the last finished epoch, in one file; ``--resume`` reloads it and continues exactly). ``--crop-size`` trains on random
native-resolution crops of the cached images (torchvision's ``RandomCrop``); validation and rendering use whole images.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle.classify import ClassifyConfig, map_classes, train_classifier
from artstyle.config import command_line, config_dict
from artstyle.data.cache import open_cache
from artstyle.data.dataset import CachedImages
from artstyle.dist import is_distributed, is_main_process, main_process_first, shared_run_dir
from artstyle.engine import budget_deadline, fit
from artstyle.errors import ArtstyleError
from artstyle.models.stylizer import build_stylizer, size_multiple
from artstyle.runs import (create_run, find_run, load_safetensors, load_weights, prepare_run_dir, read_json,
                           save_safetensors, write_config, write_json)
from artstyle.stylize.config import StylizeConfig
from artstyle.stylize.ensemble import load_loss_classifier, loss_classifier_runs
from artstyle.stylize.evaluate import evaluate_stylizer
from artstyle.stylize.task import StylizeTask, mean_codes, style_grams
from artstyle.stylize.views import whole_image_size


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


def _size_multiple(cfg: StylizeConfig) -> int:
    """What image sides must be a multiple of for the network this run trains (resumed: its saved version)."""
    version = read_json(find_run(cfg.resume) / "config.json")["model"].get("version", 1) if cfg.resume \
        else STYLIZER_VERSION
    return size_multiple(version)


def _open_data(cfg: Any) -> Any:
    multiple = _size_multiple(cfg)
    if cfg.size % multiple:
        raise ArtstyleError(f"--size {cfg.size}: the stylizer needs a multiple of {multiple} (e.g. 64 or 128)")
    return open_cache(cfg)


def _classifier_config(cfg: StylizeConfig, out: Path, model: str, seed: int) -> Any:
    return ClassifyConfig(data=cfg.data, cache=cfg.cache, label_column=cfg.label_column, size=cfg.size, model=model,
                          epochs=cfg.classifier_epochs, width=cfg.classifier_width, seed=seed, out=str(out),
                          overwrite=True, workers=cfg.workers, threads=cfg.threads, precision=cfg.precision,
                          progress=cfg.progress, max_steps_per_epoch=cfg.max_steps_per_epoch,
                          batch_size=cfg.batch_size)


def _ensure_classifier(cfg: StylizeConfig, run: Path, which: str) -> tuple[str, bool]:
    """The classify run for ``which`` ('classifier' or 'judge'): given, reused from the run, or trained here."""
    given = cfg.classifier if which == "classifier" else cfg.judge
    if given and given != "auto":
        for name in loss_classifier_runs(given) if which == "classifier" else [given]:  # the loss may be an ensemble
            find_run(name)
        return given, False
    if which == "judge" and not given:
        return "", False
    dest = run / which
    if (dest / "metrics.json").is_file():  # trained by an earlier attempt of this run (resume)
        return str(dest), True
    # The judge differs from the loss classifier in architecture and seed, so that fooling one does not
    # automatically fool the other.
    model, seed = ("resnet", cfg.seed) if which == "classifier" else ("simple-cnn", cfg.seed + 1000)
    if is_distributed():
        raise ArtstyleError(f"under accelerate launch / torchrun, train the {which} first (`artstyle classify train`) "
                            f"and pass --{which} RUN")
    if cfg.progress:
        print(f"training the {which} ({model}) into {dest}", flush=True)
    return str(train_classifier(_classifier_config(cfg, dest, model, seed))), True


STYLIZER_VERSION = 3  # models.stylizer: 3 = the 1/8-grid network; 2 and 1 = older runs' full-resolution ones


def _model_args(cfg: StylizeConfig, num_styles: int) -> dict[str, Any]:
    return {"num_styles": num_styles, "style_source": cfg.style_source, "width": cfg.width, "blocks": cfg.blocks,
            "hidden": 128, "img_size": cfg.size, "version": STYLIZER_VERSION, "detail_gain": bool(cfg.detail_gain),
            "detail_reach": cfg.detail_reach, "pixel_head": bool(cfg.pixel_head)}


def init_from_autoencoder(model: torch.nn.Module, run: str | Path, progress: bool = True) -> dict[str, Any]:
    """Copy every tensor of an ``artstyle embed train`` run whose name AND shape the stylizer shares.

    Returns ``{"run", "loaded", "skipped", "not_loaded"}``: the names copied, the autoencoder's tensors left
    out (with why) and the stylizer's tensors that keep their fresh initialisation. Loads nothing else.
    """
    from artstyle.embed import load_autoencoder

    ae, info = load_autoencoder(run)
    own = model.state_dict()
    loaded, skipped = [], []
    for name, tensor in ae.state_dict().items():
        if name in own and own[name].shape == tensor.shape:
            own[name] = tensor.to(own[name].dtype)
            loaded.append(name)
        else:
            why = "no such tensor" if name not in own else f"shape {tuple(own[name].shape)} here"
            skipped.append(f"{name} {tuple(tensor.shape)}: {why}")
    if not any(own[k].ndim > 1 for k in loaded):  # a lone bias of 3 numbers is no initialisation
        raise ArtstyleError(f"--init-from {run}: no weight of that autoencoder matches the stylizer by name and shape "
                            f"(its arch is {info['config']['model']['arch']!r}, width "
                            f"{info['config']['model'].get('width')}; the stylizer's --width is "
                            f"{model.code_dim // 4}); use a grid or grid-fine autoencoder of the same --width "
                            "(embed train --width N)")
    model.load_state_dict(own)
    result = {"run": str(find_run(run)), "loaded": loaded, "skipped": skipped,
              "not_loaded": [k for k in own if k not in set(loaded)]}
    if progress:
        print(f"--init-from {result['run']}: loaded {len(loaded)} tensors ({', '.join(loaded)}); skipped "
              f"{len(skipped)}: {'; '.join(skipped) or 'none'}", flush=True)
    return result


DISC_FILE = "discriminator.safetensors"  # the weights alone, for users
DISC_STATE_FILE = "discriminator_state.safetensors"  # weights and Adam state in one file, tagged with the epoch


def _steps_done(run: Path, cfg: StylizeConfig, n_train: int) -> int:
    """Optimiser steps of the finished epochs in ``run``'s metrics.jsonl (the engine drops the last short batch)."""
    from artstyle.runs import read_jsonl

    per_epoch = n_train // cfg.batch_size if n_train > cfg.batch_size else 1
    if cfg.max_steps_per_epoch > 0:
        per_epoch = min(per_epoch, cfg.max_steps_per_epoch)
    path = run / "metrics.jsonl"
    records = read_jsonl(path) if path.is_file() else []
    return per_epoch * sum(1 for r in records if "epoch" in r and "event" not in r)


def _discriminator(cfg: StylizeConfig, run: Path, num_styles: int, classifier: torch.nn.Module | None = None,
                   clf_run: str = "", clf_size: int = 0
                   ) -> tuple[torch.nn.Module | None, dict[int, dict[str, torch.Tensor]] | None]:
    """The ``--w-adv`` discriminator (None at 0): fresh, or, resuming, the one saved after the last finished
    epoch, with its Adam state (``{param index: {name: tensor}}``; None when fresh or saved without one).
    ``--adv-input classifier``: heads sized to the frozen loss ``classifier``'s feature maps at ``clf_size`` px."""
    if cfg.w_adv <= 0:
        return None, None
    from artstyle.models.discriminator import build_discriminator

    if cfg.adv_input == "classifier" and not hasattr(classifier, "feature_maps"):
        raise ArtstyleError(f"--adv-input classifier needs a resnet or texture loss classifier (feature_maps); "
                            f"{clf_run} has none. Pass --adv-input pixels or another --classifier")
    disc = build_discriminator(cfg.adv_input, num_styles, cfg.width, classifier, clf_size)
    if cfg.resume and (run / DISC_STATE_FILE).is_file():
        return disc, _resume_discriminator(disc, run)
    if cfg.resume and (run / DISC_FILE).is_file():  # saved by an artstyle that kept no Adam state: it restarts
        load_weights(disc, run / DISC_FILE)
    return disc, None


def _resume_discriminator(disc: torch.nn.Module, run: Path) -> dict[int, dict[str, torch.Tensor]]:
    """Load DISC_STATE_FILE into ``disc``; return its Adam state. Says so when it is not from the epoch that the
    stylizer's checkpoint is (a kill between the two writes): the run then resumes, but not bit-exactly."""
    from artstyle.runs import safetensors_metadata

    path = run / DISC_STATE_FILE
    tensors = load_safetensors(path)
    load_weights(disc, path, {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("adam."):
            pid, name = key.removeprefix("adam.").split(".", 1)
            state.setdefault(int(pid), {})[name] = value
    epoch = int(safetensors_metadata(path).get("epoch", -1))
    stylizer_epoch = read_json(run / "last_state.json")["info"]["epoch"]
    if epoch != stylizer_epoch:
        print(f"warning: {path} holds the discriminator after epoch {epoch}, the stylizer's checkpoint is from epoch "
              f"{stylizer_epoch} (the run was stopped between the two writes): it resumes with that discriminator, "
              "so the run will not match an uninterrupted one exactly", flush=True)
    return state


def _save_discriminator(run: Path, task: StylizeTask, epoch: int) -> None:
    """After each epoch (rank 0; every process holds the same one): the weights and the Adam state in one atomic
    write, tagged with the epoch, then the weights alone. A kill between the engine's checkpoint and these writes
    leaves them one epoch behind it; ``--resume`` says so (:func:`_resume_discriminator`)."""
    weights = task.disc.state_dict()
    tensors = {f"model.{k}": v for k, v in weights.items()}
    if task.disc_opt is not None:
        for pid, st in task.disc_opt.state_dict()["state"].items():
            tensors.update({f"adam.{pid}.{name}": value for name, value in st.items()})
    save_safetensors(run / DISC_STATE_FILE, tensors, {"epoch": str(epoch)})
    save_safetensors(run / DISC_FILE, weights)


def _checked_config(cfg: StylizeConfig) -> StylizeConfig:
    """``cfg``, or with ``--resume`` the saved config of that run; invalid weights are an error."""
    if cfg.resume:
        saved = read_json(find_run(cfg.resume) / "config.json")
        # runs from before --style-ramp trained with the style terms at full weight from the first step, runs from
        # before --loss-jitter on the exact pixels, runs from before --w-adv without a discriminator, runs from
        # before --detail-gain without gains (their network is rebuilt from "model" anyway), runs from before
        # --judge-view judged by the network alone, runs from before --pixel-head without it
        cfg = StylizeConfig(**{"style_ramp": 0, "loss_jitter": 0.0, "w_adv": 0.0, "detail_gain": False,
                               "detail_reach": 8, "pixel_head": False, "judge_view": "network", **saved["config"],
                               "resume": cfg.resume, "progress": cfg.progress, "classifier": saved["classifier"]["run"],
                               "judge": saved.get("judge", {}).get("run", "")})
    if min(cfg.w_rec, cfg.w_style, cfg.w_gram, cfg.w_content, cfg.w_cycle, cfg.w_adv) < 0:
        raise ArtstyleError("--w-rec, --w-style, --w-gram, --w-content, --w-cycle and --w-adv must be >= 0")
    m = _size_multiple(cfg)
    if cfg.crop_size and (cfg.crop_size % m or not m <= cfg.crop_size <= cfg.size):
        raise ArtstyleError(f"--crop-size {cfg.crop_size}: choose a multiple of {m} between {m} and --size {cfg.size} "
                            "(0 = off)")
    if cfg.w_adv > 0 and (cfg.crop_size or cfg.size) < 16:  # its three stride-2 convolutions and 3x3 scorer
        raise ArtstyleError(f"--w-adv {cfg.w_adv}: the discriminator needs training images of at least 16 px; raise "
                            f"--crop-size {cfg.crop_size} / --size {cfg.size} or pass --w-adv 0")
    if cfg.style_ramp < 0:
        raise ArtstyleError(f"--style-ramp {cfg.style_ramp}: choose a number of steps >= 0 (0 = no ramp)")
    if not 0 <= cfg.loss_jitter < 1:
        raise ArtstyleError(f"--loss-jitter {cfg.loss_jitter}: choose a zoom share in [0, 1) (0 = the exact pixels)")
    if not 0 <= cfg.ema < 1:
        raise ArtstyleError(f"--ema {cfg.ema}: choose a momentum in [0, 1)")
    if cfg.detail_reach not in (8, 32):
        raise ArtstyleError(f"--detail-reach {cfg.detail_reach}: choose 8 (bands of 1-2 and 2-8 px) or 32 "
                            "(and 8-32 px)")
    if cfg.detail_reach != 8 and not cfg.detail_gain:
        raise ArtstyleError(f"--detail-reach {cfg.detail_reach} scales the detail gains, which --no-detail-gain turns "
                            "off; drop one of the two")
    return cfg


def _write_run_files(run: Path, cfg: StylizeConfig, cache: Any, counts: np.ndarray, mean_images: np.ndarray,
                     classifier: dict[str, Any], judge: dict[str, Any], init: dict[str, Any] | None) -> None:
    """config.json (what the run is and how to rebuild it), classes.json and style_stats.safetensors."""
    classes = cache.classes
    write_config(run, "stylize", command_line("artstyle stylize train", cfg), {
        "config": config_dict(cfg), "model": _model_args(cfg, len(classes)),
        "input": {"size": cfg.size, "range": [-1, 1], "resize": cache.meta["policy"]},
        "data": {"source": cache.source, "synthetic": cache.synthetic, "cache": str(cache.root)},
        "train_counts": counts.tolist(), "classifier": classifier, "judge": judge, "init_from": init})
    write_json(run / "classes.json", {"classes": classes})
    save_safetensors(run / "style_stats.safetensors", {"mean_images": torch.from_numpy(mean_images),
                                                      "train_counts": torch.from_numpy(counts)})


def _datasets(cfg: StylizeConfig, cache: Any) -> tuple[Any, Any, Any]:
    """``(train, train without augmentation, validation)``; validation is the test split when there is no val."""
    from torchvision.transforms import v2

    ops = [v2.RandomCrop(cfg.crop_size)] if cfg.crop_size else []
    ops += [v2.RandomHorizontalFlip()] if cfg.augment else []
    transform = v2.Compose(ops) if ops else None
    val_split = "val" if (cache.splits == "val").any() else "test"
    return (CachedImages(cache, "train", transform=transform), CachedImages(cache, "train"),
            CachedImages(cache, val_split))


def train_stylizer(cfg: StylizeConfig) -> Path:
    """Train a stylizer, evaluate it with the judge when one is given, and return the run directory."""
    started = time.perf_counter()  # --time-budget counts the whole command from here
    cfg = _checked_config(cfg)
    with main_process_first():
        cache = _open_data(cfg)
    classes = cache.classes
    counts = cache.counts("train")
    allowed = np.flatnonzero(counts > 0)
    if len(allowed) < 2:
        raise ArtstyleError(f"--data {cfg.data}: the stylizer needs training images of at least 2 styles, found "
                            f"{len(allowed)}")
    if cfg.resume:
        run = find_run(cfg.resume)
    else:
        run = shared_run_dir(lambda: prepare_run_dir(cfg.out, cfg.overwrite) if cfg.out
                             else create_run("stylize", cfg.name or cfg.style_source))
    with main_process_first():
        clf_run, clf_auto = _ensure_classifier(cfg, run, "classifier")
        judge_run, judge_auto = _ensure_classifier(cfg, run, "judge")
    classifier, clf_info = load_loss_classifier(clf_run, whole_image_size)
    clf_map = map_classes(clf_info["classes"], classes)  # error when the classifier lacks a style
    if cfg.w_gram > 0 and not hasattr(classifier, "feature_maps"):
        raise ArtstyleError(f"--w-gram needs a resnet or texture classifier (feature_maps); {clf_run} is a "
                            f"{clf_info['config']['model']['arch']}. Pass --w-gram 0 or another --classifier")
    if cfg.crop_size and clf_info["config"]["model"]["arch"] == "inclass":  # its dense layer takes one size only
        raise ArtstyleError(f"--crop-size {cfg.crop_size}: {clf_run} is an inclass classifier, which takes whole "
                            f"{clf_info['size']} px images only. Pass --crop-size 0 or another --classifier")
    mean_images, _ = style_mean_images(cache, "train")
    torch.manual_seed(cfg.seed)
    # A resumed run rebuilds the network its config.json describes (older runs: version 1).
    args = read_json(run / "config.json")["model"] if cfg.resume else _model_args(cfg, len(classes))
    model = build_stylizer(args)
    init = None
    if cfg.init_from and not cfg.resume:  # a resumed run takes every weight from its checkpoint
        init = init_from_autoencoder(model, cfg.init_from, progress=cfg.progress and is_main_process())
    if not cfg.resume and is_main_process():
        _write_run_files(run, cfg, cache, counts, mean_images,
                         classifier={"run": clf_run, "trained_here": clf_auto, "classes": clf_info["classes"]},
                         judge={"run": judge_run, "trained_here": judge_auto}, init=init)
    grams = None
    if cfg.w_gram > 0:  # streamed from the cache in chunks, never the whole split in memory
        grams = style_grams(classifier, whole_image_size(clf_info), cache.images, cache.labels, len(classes),
                            rows=cache.indices("train"), precision=cfg.precision, jitter=cfg.loss_jitter)
    train_ds, train_eval, val_ds = _datasets(cfg, cache)
    if cfg.style_source == "mean-latent" and not cfg.resume:
        # start from the exact means of the initial encoder
        model.set_style_means(*mean_codes(model, train_eval, precision=cfg.precision))
    disc, disc_state = _discriminator(cfg, run, len(classes), classifier, clf_run, whole_image_size(clf_info))
    task = StylizeTask(cfg, classifier, whole_image_size(clf_info), clf_map, allowed, grams, train_eval,
                       discriminator=disc, discriminator_state=disc_state)
    if cfg.resume:  # the --style-ramp continues where the last finished epoch left it
        task.step = _steps_done(run, cfg, len(train_ds))
    t0 = time.perf_counter()
    summary = fit(model, task, train_ds, val_ds, run, cfg, resume=bool(cfg.resume),
                  metadata={"arch": "stylizer", "style_source": cfg.style_source},
                  deadline=budget_deadline(cfg.time_budget, started),
                  on_epoch_end=None if disc is None else lambda _, epoch, __: _save_discriminator(run, task, epoch))
    summary["train_seconds"] = time.perf_counter() - t0
    if summary["is_main_process"]:
        write_json(run / "metrics.json", {"training": summary, "evaluation": None})
        if judge_run:
            evaluate_stylizer(run, judge_run, cache=cache, pairs=cfg.eval_pairs, seed=cfg.seed,
                              judge_view=cfg.judge_view)
    return run


__all__ = ["init_from_autoencoder", "train_stylizer", "style_mean_images", "STYLIZER_VERSION"]
