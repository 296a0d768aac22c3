"""Measure a stylizer with an independent judge: does the style input matter, and what survives of the input?

Usage::

    evaluation = evaluate_stylizer("runs/stylize/<run>", judge="runs/classify/<other run>", pairs=500)
    evaluation["methods"]["stylizer"]["hit_rate"]      # the judge's target-style hit rate

The evaluation needs a *second*, independently trained classifier, the judge: a model that fools the
classifier it was trained against has not necessarily changed the style. It reports, on seeded mismatched
(test image, target style) pairs: the judge's target hit rate, SSIM and PSNR to the input, and the cosine
distance of the judge's features to the input's, for the model and three baselines (identity, a 50/50
blend with the target style's mean training image, and the reconstruction with the true style). It writes
``metrics.json["evaluation"]``, ``evaluation.md`` and ``figures/evaluation_grid.png`` into the stylize run, and
keeps every judge's verdict in ``metrics.json["judges"]``: evaluating again with a second judge of another recipe
adds a row instead of erasing the first one's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from artstyle.classify import map_classes
from artstyle.data.cache import prepare_cache, run_cache
from artstyle.data.sources import class_name
from artstyle.errors import ArtstyleError
from artstyle.figures import save_png
from artstyle.figures.grids import captioned_grid
from artstyle.inference import read_rows
from artstyle.metrics import PSNR_CAP, psnr_uint8, ssim_uint8
from artstyle.runs import read_json, write_json, write_text
from artstyle.styles import display_name
from artstyle.stylize.ensemble import loss_classifier_runs
from artstyle.stylize.judging import classifier_outputs, judge_label, judge_outputs, judge_probs, load_judge
from artstyle.stylize.load import load_stylizer, stylize_arrays
from artstyle.stylize.views import whole_image_size
from artstyle.tables import markdown_table

METHODS = ("stylizer", "identity", "blend", "reconstruction")
METHOD_LABELS = {"stylizer": "stylizer (target style)", "identity": "identity (output = input)",
                 "blend": "50/50 blend with the target style's mean image",
                 "reconstruction": "reconstruction with the true style"}


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


def judge_indices(judge_info: dict[str, Any], names: Sequence[str]) -> np.ndarray:
    """The judge's class index of each style name ``(P,)``, matched by name; -1 where the judge lacks it."""
    lookup = {class_name(c): i for i, c in enumerate(judge_info["classes"])}
    return np.array([lookup.get(class_name(n), -1) for n in names], dtype=np.int64)


def evaluate_pairs(model: torch.nn.Module, info: dict[str, Any], judge: torch.nn.Module, judge_info: dict[str, Any],
                   images: np.ndarray, true: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Score the stylizer and the baselines on given pairs (matched or not).

    ``images``: uint8 ``(P, S, S, 3)`` at the stylizer's size; ``true``/``targets``: ``(P,)`` stylizer style
    indices; every target must be a class the judge knows. Returns ``{"methods": {method: {metric: value}},
    "outputs": {method: uint8 (P, S, S, 3)}, "judge_predictions": {method: (P,) judge class}}``.
    """
    jt = judge_indices(judge_info, [info["classes"][t] for t in targets])
    if (jt < 0).any():
        raise ArtstyleError("evaluation targets include styles the judge was not trained on")
    precision, judge_precision = info.get("precision"), judge_info.get("precision")
    outputs = {"stylizer": stylize_arrays(model, images, targets, precision=precision), "identity": images,
               "reconstruction": stylize_arrays(model, images, true, precision=precision)}
    if info.get("mean_images") is not None:
        outputs["blend"] = np.clip(np.round(0.5 * images.astype(np.float32) + 0.5 * info["mean_images"][targets]),
                                   0, 255).astype(np.uint8)
    _, ref_feats = classifier_outputs(judge, images, whole_image_size(judge_info), precision=judge_precision)
    methods, preds = {}, {}
    for name in METHODS:
        if name not in outputs:
            continue
        out = outputs[name]
        probs, logits, feats = judge_outputs(judge, judge_info, out)  # the verdict is in its --judge-view
        pred = probs.argmax(1)
        hit = pred == jt
        methods[name] = {"n": int(len(out)), "hit_rate": float(hit.mean()),
                         "hit_rate_se": float(np.sqrt(hit.mean() * (1 - hit.mean()) / max(1, len(out)))),
                         "hit_rate_network": float((logits.argmax(1) == jt).mean()),  # the whole-picture network's
                         "ssim": float(ssim_uint8(images, out).mean()),
                         "psnr": float(psnr_uint8(images, out).mean()),
                         "judge_feature_distance": float(cosine_distance(ref_feats, feats).mean())}
        preds[name] = pred
    return {"methods": methods, "outputs": outputs, "judge_predictions": preds}


def mismatched_pairs(info: dict[str, Any], judge_info: dict[str, Any], cache: Any, pairs: int, seed: int,
                     judge: str | Path = "") -> tuple[np.ndarray, np.ndarray, list[int], tuple[np.ndarray, np.ndarray]]:
    """The evaluation's test rows, their true stylizer styles, the allowed targets (styles the stylizer trained on
    and the judge knows) and the seeded mismatched pairs ``(image_index, target)`` (:func:`sample_pairs`)."""
    rows = cache.indices("test")
    if len(rows) == 0:
        raise ArtstyleError(f"--data {cache.source} has no test split to evaluate on")
    classes = info["classes"]
    true = map_classes(classes, cache.classes)[cache.labels[rows]]
    judged = {class_name(c) for c in judge_info["classes"]}
    allowed = [t for t in range(len(classes)) if info["train_counts"][t] > 0 and class_name(classes[t]) in judged]
    if len(allowed) < 2:
        raise ArtstyleError(f"--judge {judge} knows fewer than 2 of the stylizer's styles; train the judge on the "
                            "same styles")
    return rows, true, allowed, sample_pairs(true, allowed, pairs, seed)


def evaluation_cache(info: dict[str, Any], data: str | None) -> Any:
    """The cache whose test split is evaluated: ``data`` prepared at the run's size, else the run's own data."""
    if data:
        return prepare_cache(data, size=info["size"], policy=info["policy"],
                             label_column=info["config"]["config"].get("label_column", "style"))
    return run_cache(info["config"]["data"], info["size"], info["policy"])


def _judge_accuracy(judge: torch.nn.Module, judge_info: dict[str, Any], classes: list[str], images: np.ndarray,
                    true: np.ndarray) -> float:
    """How well the judge recognises the true styles ``true (N,)`` of ``images`` (those styles it knows)."""
    j_true = judge_indices(judge_info, [classes[t] for t in true])
    known = j_true >= 0
    pred = judge_probs(judge, judge_info, images).argmax(1)
    return float((pred == j_true)[known].mean()) if known.any() else float("nan")


def _per_target_hit_rate(judge_info: dict[str, Any], classes: list[str], targets: np.ndarray,
                         predictions: np.ndarray) -> dict[str, dict[str, Any]]:
    """The stylizer's judge hit rate per target style: ``{style: {"n", "hit_rate"}}``."""
    hit = predictions == judge_indices(judge_info, [classes[t] for t in targets])
    return {classes[t]: {"n": int((targets == t).sum()), "hit_rate": float(hit[targets == t].mean())}
            for t in np.unique(targets)}


def evaluate_stylizer(run: str | Path, judge: str | Path, data: str | None = None, pairs: int = 500, seed: int = 0,
                      cache: Any = None, judge_view: str = "recipe") -> dict[str, Any]:
    """Evaluate a stylize run with an independent judge on seeded mismatched test pairs; write the report.

    Writes ``metrics.json["evaluation"]``, ``evaluation.md`` and ``figures/evaluation_grid.png`` into the run,
    adds the verdict to ``metrics.json["judges"]`` (:func:`record_judge`) and returns the evaluation dict.
    ``data`` defaults to the run's training data (its test split). ``judge_view``: how the judge reads a picture
    (:mod:`artstyle.stylize.judging`; every method also records the whole-picture network's hit rate,
    ``hit_rate_network``, what evaluations before the view existed reported).
    """
    model, info = load_stylizer(run)
    run = info["run"]
    judge_model, judge_info = load_judge(judge, judge_view)
    loss_clf = info["config"].get("classifier", {}).get("run", "")
    if loss_clf and any(Path(judge).resolve() == Path(name).resolve() for name in loss_classifier_runs(loss_clf)):
        raise ArtstyleError(f"--judge {judge} is a classifier the stylizer was trained against ({loss_clf}); pass "
                            "an independently trained classify run")
    if cache is None:
        cache = evaluation_cache(info, data)
    classes = info["classes"]
    rows, true, allowed, (img_idx, targets) = mismatched_pairs(info, judge_info, cache, pairs, seed, judge)
    result = evaluate_pairs(model, info, judge_model, judge_info, read_rows(cache.images, rows[img_idx]), true[img_idx],
                            targets)
    uniq = np.unique(img_idx)  # reference: the judge's accuracy on the inputs' true styles
    judge_acc = _judge_accuracy(judge_model, judge_info, classes, read_rows(cache.images, rows[uniq]), true[uniq])
    synthetic = bool(cache.synthetic or info["synthetic"])
    evaluation = {"judge": str(judge), "judge_view": judge_view, "judge_reads": judge_label(judge_info),
                  "data": {"source": cache.source, "synthetic": synthetic, "split": "test"},
                  "pairs": int(len(targets)), "seed": seed, "test_images": int(len(uniq)),
                  "targets": [classes[t] for t in allowed], "judge_accuracy_on_inputs": judge_acc,
                  "chance_hit_rate": 1.0 / len(judge_info["classes"]), "psnr_cap_db": PSNR_CAP,
                  "methods": result["methods"],
                  "per_target_hit_rate": _per_target_hit_rate(judge_info, classes, targets,
                                                              result["judge_predictions"]["stylizer"])}
    evaluation["table_markdown"] = evaluation_markdown(evaluation)
    metrics_path = run / "metrics.json"
    metrics = read_json(metrics_path) if metrics_path.is_file() else {"training": None}
    metrics["judges"] = record_judge(metrics, evaluation)  # before the new evaluation replaces the old
    metrics["evaluation"] = evaluation
    write_json(metrics_path, metrics)
    write_text(run / "evaluation.md", evaluation["table_markdown"] + judges_markdown(metrics["judges"]))
    grid, _ = evaluation_grid(model, info, cache, rows, true, synthetic)
    save_png(grid, run / "figures" / "evaluation_grid.png")
    return evaluation


def evaluation_markdown(ev: dict[str, Any]) -> str:
    """The evaluation table as markdown (hit rate ± binomial standard error, in %)."""
    header = ["method", "judge hit rate on target style", "SSIM to input", "PSNR to input (dB)",
              "judge-feature cosine distance"]
    rows = [[METHOD_LABELS[name], f"{100 * m['hit_rate']:.1f} ± {100 * m['hit_rate_se']:.1f}%", f"{m['ssim']:.3f}",
             f"{m['psnr']:.2f}", f"{m['judge_feature_distance']:.3f}"]
            for name, m in ((name, ev["methods"].get(name)) for name in METHODS) if m is not None]
    note = (f"\n{ev['pairs']} mismatched (test image, target style) pairs from {ev['test_images']} test images, "
            f"seed {ev['seed']}, {len(ev['targets'])} target styles; judge {ev['judge']}, reading "
            f"{ev.get('judge_reads', 'the network on the whole picture')} (accuracy on the inputs' "
            f"true styles {100 * ev['judge_accuracy_on_inputs']:.1f}%, chance hit rate "
            f"{100 * ev['chance_hit_rate']:.1f}%). PSNR is capped at {ev['psnr_cap_db']:g} dB per pair."
            + (" Data: SYNTHETIC built-in dataset." if ev["data"]["synthetic"] else ""))
    return markdown_table(header, rows) + note + "\n"


def judge_record(ev: dict[str, Any]) -> dict[str, Any]:
    """One evaluation's verdict in brief: what ``metrics.json["judges"]`` keeps of every judge that scored a run."""
    st, ident = ev["methods"]["stylizer"], ev["methods"].get("identity", {})
    return {"judge": ev["judge"], "judge_view": ev.get("judge_view", "network"),
            "judge_reads": ev.get("judge_reads", "network on the whole picture"),
            "data": ev.get("data", {}).get("source"), "pairs": ev["pairs"], "seed": ev["seed"],
            "judge_accuracy_on_inputs": ev["judge_accuracy_on_inputs"], "hit_rate": st["hit_rate"],
            "hit_rate_se": st["hit_rate_se"], "identity_hit_rate": ident.get("hit_rate"), "ssim": st["ssim"]}


def _same_test(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (Path(a["judge"]).resolve() == Path(b["judge"]).resolve()
            and all(a[key] == b[key] for key in ("judge_view", "data", "pairs", "seed")))


def record_judge(metrics: dict[str, Any], ev: dict[str, Any]) -> list[dict[str, Any]]:
    """``metrics["judges"]`` with ``ev``'s verdict added: a later evaluation by the same judge, view, data, pairs
    and seed replaces the earlier one; any other judge's verdict stays. A run evaluated before the list existed
    starts it with the evaluation it holds."""
    earlier = metrics.get("judges")
    if earlier is None:
        earlier = [judge_record(metrics["evaluation"])] if metrics.get("evaluation") else []
    new = judge_record(ev)
    return [r for r in earlier if not _same_test(r, new)] + [new]


def judges_markdown(records: Sequence[dict[str, Any]]) -> str:
    """Every judge's verdict on the run, one row each; empty below two judges."""
    if len(records) < 2:
        return ""
    header = ["judge", "reads", "data, pairs, seed", "judge accuracy on the inputs", "stylizer hit rate",
              "identity hit rate", "stylizer SSIM"]
    rows = [[r["judge"], r["judge_reads"], f"{r['data']}, {r['pairs']}, {r['seed']}",
             f"{100 * r['judge_accuracy_on_inputs']:.1f}%",
             f"{100 * r['hit_rate']:.1f} ± {100 * r['hit_rate_se']:.1f}%",
             "-" if r["identity_hit_rate"] is None else f"{100 * r['identity_hit_rate']:.1f}%", f"{r['ssim']:.3f}"]
            for r in records]
    return ("\nEvery judge that has evaluated this run (`artstyle stylize evaluate RUN --judge OTHER` adds one; the "
            "table above is the last). A stylizer that one judge credits and another, built differently, does not "
            "has learnt to fool the first rather than to paint the style.\n\n"
            + markdown_table(header, rows, right_from=3))


def evaluation_grid(model: torch.nn.Module, info: dict[str, Any], cache: Any, rows: np.ndarray, true: np.ndarray,
                    synthetic: bool, n_rows: int = 6) -> tuple[np.ndarray, dict[str, Any]]:
    """Up to ``n_rows`` test images of different styles, each re-rendered in every training style."""
    styles = [t for t in range(len(info["classes"])) if info["train_counts"][t] > 0]
    present = sorted(set(true.tolist()))
    spread = np.linspace(0, len(present) - 1, min(n_rows, len(present))).round().astype(int)
    chosen_styles = [present[i] for i in spread]
    picks = [int(np.flatnonzero(true == s)[0]) for s in dict.fromkeys(chosen_styles)]
    x = read_rows(cache.images, rows[picks])
    k = len(styles)
    outs = stylize_arrays(model, np.repeat(x, k, axis=0), np.tile(np.asarray(styles), len(x)),
                          precision=info.get("precision"))
    outs = outs.reshape(len(x), k, *x.shape[1:])
    cells = np.concatenate([x[:, None], outs], axis=1)
    headers = ["Original"] + [display_name(info["classes"][t]) for t in styles]
    return captioned_grid(cells, headers=headers, synthetic=synthetic,
                          row_labels=[display_name(info["classes"][true[p]]) for p in picks])


__all__ = ["METHODS", "METHOD_LABELS", "evaluate_stylizer", "evaluate_pairs", "evaluation_markdown",
           "evaluation_grid", "evaluation_cache", "classifier_outputs", "cosine_distance", "judge_indices",
           "judge_record", "judges_markdown", "mismatched_pairs", "record_judge", "sample_pairs"]
