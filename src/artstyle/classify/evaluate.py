"""Evaluate a trained classifier honestly (classes mapped by name, baselines alongside) and predict styles.

Usage::

    dest = evaluate_classifier(run, data="/data/wikiart")        # runs/evaluate/<ts>-<run>/metrics.json
    preds, skipped = predict(run, ["a.jpg"], topk=5)
    probs = predict_arrays(model, images)                       # (N, C) from uint8 (N, H, W, 3)
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artstyle.classify.load import load_classifier
from artstyle.errors import ArtstyleError
from artstyle.inference import CHUNK, chunks, on_device
from artstyle.runs import create_run, write_config, write_json


def map_classes(run_classes: list[str], data_classes: list[str]) -> np.ndarray:
    """Index map ``data class index -> run class index``, by canonical name; unknown names are an error."""
    from artstyle.data.sources import class_name

    lookup = {class_name(c): i for i, c in enumerate(run_classes)}
    unknown = [c for c in data_classes if class_name(c) not in lookup]
    if unknown:
        raise ArtstyleError(f"the data has classes the model was not trained on: {', '.join(unknown)}. "
                            f"Known classes: {', '.join(run_classes)}")
    return np.array([lookup[class_name(c)] for c in data_classes], dtype=np.int64)


@torch.no_grad()
def predict_arrays(model: torch.nn.Module, images: np.ndarray, batch_size: int = 128, *, precision: str | None = None,
                   device: Any = None) -> np.ndarray:
    """Softmax probabilities ``(N, C)`` for uint8 images ``(N, H, W, 3)`` (a memmap is read a batch at a time):
    the network alone on whole images, without crops or a picture model (:func:`crops.predict_crops` has both).

    The model moves to ``device`` (None: the accelerator's) and runs under ``precision`` there (the run's
    ``info["precision"]``; None = auto; always fp32 on the CPU), see :mod:`artstyle.inference`.
    """
    place = on_device(model, precision, device)
    out = []
    with place.autocast():
        for _, batch in chunks(images, None, batch_size):
            out.append(model(place.images(batch)).float().softmax(-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def evaluate_on_cache(model: torch.nn.Module, classes: list[str], cache: Any, split: str,
                      train_counts: np.ndarray, size: int | None = None, grid: int = 1,
                      chunk: int = CHUNK, precision: str | None = None, device: Any = None) -> dict[str, Any]:
    """Metrics of ``model`` (trained on ``classes``) on one split of ``cache``, classes mapped by name.

    Predictions average a ``grid x grid`` grid of ``size`` crops of each cached image (:func:`predict_crops`;
    ``size`` None = the whole cached image). Images stream from the memory map ``chunk`` rows at a time; the
    model runs on ``device`` (None: the accelerator's) under ``precision`` (see :func:`predict_arrays`).
    """
    from artstyle.classify.crops import predict_crops
    from artstyle.metrics import classification_report

    rows = cache.indices(split)
    if len(rows) == 0:
        raise ArtstyleError(f"the data has no '{split}' split to evaluate on")
    mapping = map_classes(classes, cache.classes)
    y = mapping[cache.labels[rows]]
    size = size or cache.size
    place = on_device(model, precision, device)
    from artstyle.classify.picture_stats import picture_statistics

    head = getattr(model, "picture_head", None)
    crops, pictures = [], []
    for _, batch in chunks(cache.images, rows, chunk):  # rows ascend, so each chunk is one sequential memmap read
        crops.append(predict_crops(model, batch, size, grid, device=place.device, precision=precision,
                                   picture=False)[0])
        if head is not None:
            pictures.append(head.log_probs(picture_statistics(batch)))
    crops = np.concatenate(crops)
    if head is None:
        return classification_report(y, crops, classes, np.asarray(train_counts))
    pictures = np.concatenate(pictures)
    report = classification_report(y, head.fuse_log_probs(crops, pictures), classes, np.asarray(train_counts))
    alone = {view: classification_report(y, scores, classes, np.asarray(train_counts))
             for view, scores in (("crops_alone", crops), ("picture_alone", pictures))}
    report["picture_head"] = {"weight": float(head.fusion_weight), **{view: {k: r[k] for k in HEADLINE}
                                                               for view, r in alone.items()}}
    return report


HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1")
"""What metrics.json's ``picture_head`` reports of each view alone (``crops_alone``, ``picture_alone``)."""


def save_confusion(report: dict, classes: list[str], synthetic: bool, path: Path) -> None:
    """``report``'s confusion matrix as a PNG at ``path``."""
    from artstyle.figures import save_figure
    from artstyle.figures.classify import plot_confusion

    save_figure(plot_confusion(np.array(report["confusion_matrix"]), classes, synthetic=synthetic), path)


def final_evaluation(run: Path, cache: Any, summary: dict) -> None:
    """Test-split report of the best checkpoint: metrics.json and figures/confusion.png."""
    model, info = load_classifier(run)
    report = evaluate_on_cache(model, info["classes"], cache, "test", train_counts=cache.counts("train"),
                               size=info["size"], grid=info["tta"], precision=info["precision"])
    report["tta"] = info["tta"]
    report["training"] = summary
    report["data"] = {"source": cache.source, "synthetic": cache.synthetic, "split": "test"}
    write_json(run / "metrics.json", report)
    save_confusion(report, info["classes"], cache.synthetic, run / "figures" / "confusion.png")


def evaluate_command(run: str | Path, data: str, split: str, label_column: str, out: str | Path | None,
                     tta: int = 0) -> str:
    """The ``artstyle classify evaluate`` line for these arguments."""
    words = ["artstyle", "classify", "evaluate", str(run), "--data", data, "--split", split]
    if tta:
        words += ["--tta", str(tta)]
    if label_column != "style":
        words += ["--label-column", label_column]
    if out:
        words += ["--out", str(out)]
    return shlex.join(words)


def run_policy(info: dict[str, Any]) -> str:
    """The resize policy the run was trained with (config.json ``input.resize``; runs before it: center-crop)."""
    return info["config"].get("input", {}).get("resize", "center-crop")


def _check_out(run: Path, out: Path, overwrite: bool) -> None:
    """Refuse an ``--out`` that holds the evaluated run, is a file, or is not empty without ``overwrite``."""
    resolved, source = out.resolve(), run.resolve()
    if resolved == source or resolved in source.parents:
        raise ArtstyleError(f"--out {out} holds the run being evaluated; choose another folder")
    if out.exists() and not out.is_dir():
        raise ArtstyleError(f"--out {out} is a file; choose a folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ArtstyleError(f"--out {out} is not empty; pass --overwrite to replace it or choose another --out")


def evaluate_classifier(run: str | Path, data: str = "builtin", split: str = "test", label_column: str = "style",
                        out: str | Path | None = None, overwrite: bool = False, tta: int = 0) -> Path:
    """Evaluate a trained run on any dataset, mapping classes by name. Returns the evaluation directory.

    ``data`` is decoded at the run's size with the run's resize policy, as in training. An existing, non-empty
    ``out`` is refused unless ``overwrite`` (an earlier run there is then emptied, as ``runs.prepare_run_dir`` does).
    ``tta``: the crop grid to average over (0 = the run's, as in its test report).
    """
    from artstyle.data.cache import prepare_cache
    from artstyle.runs import prepare_run_dir

    model, info = load_classifier(run)
    if out:  # before the data is decoded: a refused --out costs nothing
        _check_out(Path(run), Path(out), overwrite)
    cache = prepare_cache(data, size=info["cache_size"], policy=run_policy(info), label_column=label_column)
    train_counts = np.array(info["config"].get("strategy", {}).get("train_counts") or np.ones(len(info["classes"])))
    grid = tta or info["tta"]
    report = evaluate_on_cache(model, info["classes"], cache, split, train_counts, size=info["size"], grid=grid,
                               precision=info["precision"])
    report["tta"] = grid
    report["data"] = {"source": cache.source, "synthetic": cache.synthetic, "split": split, "run": str(run),
                      "size": cache.size, "resize": cache.meta["policy"]}
    dest = prepare_run_dir(out, overwrite) if out else create_run("evaluate", Path(run).name)
    write_config(dest, "evaluate", evaluate_command(run, data, split, label_column, out, tta),
                 {"run": str(run), "data": data, "split": split, "label_column": label_column,
                  "input": {"size": cache.size, "resize": cache.meta["policy"]}})
    write_json(dest / "metrics.json", report)
    save_confusion(report, info["classes"], cache.synthetic, dest / "figures" / "confusion.png")
    return dest


PREDICT_CHUNK = 256
"""Image files decoded and predicted per group: memory stays flat however many files ``predict`` is given."""


def _decode_files(paths: list[str | Path], size: int, policy: str) -> tuple[list[np.ndarray], list[str], list[dict]]:
    """Decoded uint8 ``(S, S, 3)`` images and their paths, and ``{"path", "reason"}`` for each unreadable file."""
    from artstyle.data.decode import DecodeError, decode_image

    decoded, names, skipped = [], [], []
    for path in paths:
        try:
            decoded.append(decode_image(Path(path).read_bytes(), size, policy))
            names.append(str(path))
        except (OSError, DecodeError) as exc:
            reason = str(exc) if isinstance(exc, DecodeError) else f"cannot read: {exc.strerror or exc}"
            skipped.append({"path": str(path), "reason": reason})
    return decoded, names, skipped


def _top(name: str, p: np.ndarray, crops: np.ndarray, boxes: list[list[int]], classes: list[str], k: int,
         picture: dict) -> dict:
    """One prediction: the ``k`` most likely styles, each crop's box and vote, and the picture model's vote."""
    top = np.argsort(-p)[:k]
    out = {"path": name, "top": [{"style": classes[i], "probability": float(p[i])} for i in top],
           "crops": [{"box": box, "style": classes[int(c.argmax())], "probability": float(c.max())}
                     for box, c in zip(boxes, crops)]}
    return {**out, "picture": picture} if picture else out


def predict(run: str | Path, images: list[str | Path], topk: int = 5, tta: int = 0) -> tuple[list[dict], list[dict]]:
    """Top-k styles per image, from the same crop grid as the test report (``tta`` 0 = the run's grid).

    Returns ``(predictions, skipped)``; each prediction also lists every crop (its box ``[y, x, h, w]`` in the
    decoded image, and the style it voted for). Unreadable files are skipped with a reason. Files are decoded
    and predicted ``PREDICT_CHUNK`` at a time, on the accelerator's device under the run's precision.
    """
    from artstyle.classify.crops import grid_offsets
    from artstyle.classify.picture_stats import predict_and_vote

    model, info = load_classifier(run)
    grid, size, classes, policy = tta or info["tta"], info["size"], info["classes"], run_policy(info)
    offsets = grid_offsets(info["cache_size"], size, grid)
    boxes = [[y, x, size, size] for y in offsets for x in offsets]
    k = min(topk, len(classes))
    preds: list[dict] = []
    skipped: list[dict] = []
    images = list(images)
    for start in range(0, len(images), PREDICT_CHUNK):
        decoded, names, bad = _decode_files(images[start:start + PREDICT_CHUNK], info["cache_size"], policy)
        skipped += bad
        if decoded:
            probs, per_crop, votes = predict_and_vote(model, np.stack(decoded), size, grid, classes,
                                                      precision=info["precision"])
            preds += [_top(name, p, per_crop[j], boxes, classes, k, votes[j])
                      for j, (name, p) in enumerate(zip(names, probs))]
    return preds, skipped


__all__ = ["evaluate_classifier", "evaluate_command", "evaluate_on_cache", "final_evaluation", "map_classes",
           "predict", "predict_arrays", "run_policy", "save_confusion"]
