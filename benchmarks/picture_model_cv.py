"""Choices for the picture model (`classify train --picture-stats`), scored on the training folder alone.

Usage::

    python benchmarks/picture_model_cv.py [--data .cache/real_styles_v2] [--folds 5] [--c 0.1,0.3,1,3,10]

Every tile of the real-image benchmark's ``train/`` folder (the cache's train and val splits) gets the picture
model's statistics (`classify/picture_stats.py`: 121 since the nineteenth session, the first 57 before). Then
each candidate model is scored by cross-validation in which a photograph's tiles all fall in the same fold
(`sklearn.model_selection.GroupKFold`; the photograph is read from the tile's name,
``<split>_<number>_<photo>.jpg``, by ``photo_of`` of `benchmarks/errors_by_photo.py`). So a model is always
scored on photographs it has not seen, as on the test folder, which this script never reads. The candidates: the
class-balanced logistic regression that `fit_picture_head` fits, at several ``C`` (it uses 1), scikit-learn's
gradient boosting on the same statistics, and the regression on the first 57 statistics alone (the picture model
before the texture descriptors).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from errors_by_photo import photo_of  # noqa: E402


def grouped_scores(make, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, folds: int, classes: int) -> dict:
    """Out-of-fold balanced accuracy and log-loss of ``make()`` (a scikit-learn classifier) by photograph
    (``groups``), or by tile (``groups`` None: stratified folds that split a photograph's tiles, as artstyle's
    validation split does)."""
    from sklearn.metrics import balanced_accuracy_score, log_loss
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    probs = np.full((len(y), classes), 1e-9)
    splits = (GroupKFold(folds).split(X, y, groups) if groups is not None
              else StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y))
    for train, test in splits:
        model = make().fit(X[train], y[train])
        probs[np.ix_(test, model.classes_)] = np.clip(model.predict_proba(X[test]), 1e-9, 1)
    return {"balanced_accuracy": balanced_accuracy_score(y, probs.argmax(1)),
            "log_loss": log_loss(y, probs / probs.sum(1, keepdims=True), labels=list(range(classes)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=".cache/real_styles_v2", help="the real-image benchmark (real_styles.py)")
    ap.add_argument("--cache-size", type=int, default=256, help="the cache size the texture default uses")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--c", default="0.1,0.3,1,3,10", help="logistic regression C values (fit_picture_head: 1)")
    args = ap.parse_args()

    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from artstyle.classify.picture_stats import BASE_FEATURES, split_statistics
    from artstyle.data.cache import prepare_cache

    warnings.filterwarnings("ignore", category=UserWarning)
    cache = prepare_cache(args.data, size=args.cache_size)
    splits = ("train", "val")  # the train/ folder; the test/ folder is never read
    groups = np.array([photo_of(cache.index[r]["key"]) for split in splits for r in cache.indices(split)])
    t0 = time.perf_counter()
    stats = [split_statistics(cache, split) for split in splits]
    X, y = np.concatenate([x for x, _ in stats]), np.concatenate([labels for _, labels in stats])
    print(f"{len(y)} training tiles from {len(set(groups))} photographs, {X.shape[1]} statistics each "
          f"({time.perf_counter() - t0:.0f} s); {args.folds} folds by photograph\n")
    candidates = {f"logistic regression, C={c}" + (" (fit_picture_head)" if float(c) == 1 else ""):
                  (lambda c=float(c): make_pipeline(StandardScaler(), LogisticRegression(
                      C=c, max_iter=3000, class_weight="balanced")))
                  for c in args.c.split(",")}
    candidates["gradient boosting (HistGradientBoostingClassifier)"] = (
        lambda: HistGradientBoostingClassifier(class_weight="balanced", random_state=0))
    print("| model | statistics | folds by | balanced accuracy | log-loss |\n|---|---:|---|---:|---:|")
    runs = [(name, make, groups, X.shape[1]) for name, make in candidates.items()]
    default = next((name for name in candidates if "fit_picture_head" in name), None)
    if default:  # the same model on the first statistics alone, and scored as a tile-level validation split would
        make = candidates[default]
        runs += [(default, make, groups, BASE_FEATURES), (default, make, None, X.shape[1])]
    for name, make, by, width in runs:
        s = grouped_scores(make, X[:, :width], y, by, args.folds, len(cache.classes))
        where = "photograph" if by is not None else "tile (photographs shared)"
        print(f"| {name} | {width} | {where} | {100 * s['balanced_accuracy']:.1f}% | {s['log_loss']:.3f} |")


if __name__ == "__main__":
    main()
