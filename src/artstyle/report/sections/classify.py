"""The report's "The classifier" section: the classify run, the strategy comparison, the judge and others.

Usage: ``section_classifier(doc, found)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artstyle.report.document import Doc
from artstyle.report.find import Found
from artstyle.report.format import pct, training_line
from artstyle.report.sections.strategies import strategies_subsection
from artstyle.runs import read_json
from artstyle.styles import display_name


def results_table(doc: Doc, m: dict[str, Any]) -> None:
    """The model's test-split scores next to the majority-class and chance baselines, from metrics.json."""
    b = m["baselines"]
    top = next((k for k in m if k.startswith("top") and k.endswith("_accuracy")), None)
    rows = [["accuracy", pct(m["accuracy"]), pct(b["majority_accuracy"]), pct(b["chance_accuracy"])],
            ["balanced accuracy", pct(m["balanced_accuracy"]), pct(b["majority_balanced_accuracy"]),
             pct(b["chance_balanced_accuracy"])],
            ["macro-F1", pct(m["macro_f1"]), pct(b["majority_macro_f1"]), "-"]]
    if top:
        rows.append([top.replace("_", " ").replace("top", "top-"), pct(m[top]), "-", "-"])
    doc.table(["metric (test split)", "model", f"majority class ({display_name(b['majority_class'])})", "chance"],
              rows)


def _main_classifier(doc: Doc, run: Path) -> None:
    c = read_json(run / "config.json")
    m = read_json(run / "metrics.json")
    cfg = c.get("config", {})
    model = c.get("model", {})
    doc.p(f"A `{model.get('arch')}` (width {model.get('width')}, depth {model.get('depth')}) trained from scratch "
          f"at {model.get('img_size')} px with the `{cfg.get('imbalance')}` imbalance strategy, evaluated on "
          f"{m['n']:,} test images. {training_line(m.get('training'))}")
    results_table(doc, m)
    picture = m.get("picture_head")
    if picture:
        chosen = (m.get("training") or {}).get("picture_head", {}).get("chosen_on")
        how = "chosen on the validation split" if chosen == "val" else "the default: no validation split to choose on"
        doc.p(f"The model combines the crops' vote with a linear model on statistics of each whole picture "
              f"(`--picture-stats`, weight {picture['weight']:g}, {how}). Alone, the crops "
              f"score {pct(picture['crops_alone']['balanced_accuracy'])} balanced accuracy and the picture statistics "
              f"{pct(picture['picture_alone']['balanced_accuracy'])}.")
    beat = m["balanced_accuracy"] - m["baselines"]["chance_balanced_accuracy"]
    doc.p(f"Balanced accuracy is {abs(100 * beat):.1f} points {'above' if beat >= 0 else 'below'} chance, and "
          f"accuracy is {abs(100 * (m['accuracy'] - m['baselines']['majority_accuracy'])):.1f} points "
          f"{'above' if m['accuracy'] >= m['baselines']['majority_accuracy'] else 'below'} always answering the "
          f"majority class. With imbalanced classes, balanced accuracy and macro-F1 are the numbers to read.")
    doc.fig(run / "figures" / "confusion.png", "Confusion matrix on the test split (rows normalised)")
    doc.h(3, "Head, medium and tail styles")
    doc.p("Styles are split into thirds by their number of training images; the thresholds are in the table.")
    rows = []
    for g in ("head", "medium", "tail"):
        v = m["groups"].get(g, {})
        rows.append([g, v.get("threshold", ""), len(v.get("classes", [])), f"{v.get('n', 0):,}",
                     pct(v.get("accuracy")), pct(v.get("mean_recall"))])
    doc.table(["group", "threshold", "styles", "test images", "accuracy", "mean recall"], rows, right_from=2)
    doc.h(3, "Per style")
    per = m["per_class"]
    rows = [[display_name(k), f"{v['train_count']:,}", f"{v['support']:,}", pct(v["precision"]), pct(v["recall"]),
             pct(v["f1"])] for k, v in sorted(per.items(), key=lambda kv: (-kv[1]["train_count"], kv[0]))]
    doc.table(["style", "train images", "test images", "precision", "recall", "F1"], rows)


def section_classifier(doc: Doc, f: Found) -> None:
    doc.h(2, "The classifier")
    if f.classify is None:
        doc.p("Not run: no `artstyle classify train` run was given (the pipeline's `classify` stage did not complete).")
    else:
        _main_classifier(doc, f.classify)
    if f.strategies is not None:
        strategies_subsection(doc, f.strategies)
    else:
        doc.note("No comparison of imbalance strategies was run.")
    extra = [("The second classifier (the stylizer's judge)", f.judge)] if f.judge else []
    extra += [(f"Another classifier: {p.name}", p) for p in f.other_classifiers]
    for title, run in extra:
        c = read_json(run / "config.json")
        m = read_json(run / "metrics.json")
        model = c.get("model", {})
        doc.h(3, title)
        doc.p(f"A `{model.get('arch')}` (width {model.get('width')}, seed {c.get('config', {}).get('seed')}) trained "
              f"independently of the first, so a stylizer that fools its loss classifier does not fool it for free. "
              f"{training_line(m.get('training'))}")
        results_table(doc, m)
