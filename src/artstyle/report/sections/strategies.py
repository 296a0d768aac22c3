"""The report's "Imbalance strategies compared" subsection, from a ``classify compare`` run's comparison.json.

Usage: ``strategies_subsection(doc, run)`` (part of the classifier section).
"""

from __future__ import annotations

from pathlib import Path

from artstyle.report.document import Doc
from artstyle.report.format import pct, secs
from artstyle.runs import read_json


def strategies_subsection(doc: Doc, run: Path) -> None:
    cmp = read_json(run / "comparison.json")
    summary, rows = cmp.get("summary", []), cmp.get("rows", [])
    doc.h(3, "Imbalance strategies compared")
    seeds = max((e.get("seeds", 1) for e in summary), default=1)
    doc.p(f"Each strategy trained with the same settings and budget; mean ± standard deviation over {seeds} "
          f"seed(s), on the test split." + (" With one seed there are no error bars: differences of a few points "
                                           "may be noise." if seeds == 1 else ""))
    table = []
    for e in summary:
        def ms(k: str) -> str:
            return f"{pct(e[k])} ± {100 * e.get(k + '_std', 0):.1f}" if seeds > 1 else pct(e[k])

        table.append([e["model"], e["strategy"], ms("accuracy"), ms("balanced_accuracy"), ms("macro_f1"),
                      ms("tail_recall"), secs(e.get("train_seconds"))])
    doc.table(["model", "strategy", "accuracy", "balanced accuracy", "macro-F1", "tail recall", "train time"], table,
              right_from=2)
    if summary:
        best = max(summary, key=lambda e: e["balanced_accuracy"])
        worst = min(summary, key=lambda e: e["balanced_accuracy"])
        ref = rows[0] if rows else {}
        gap = best["balanced_accuracy"] - worst["balanced_accuracy"]

        one_model = len({x["model"] for x in summary}) == 1

        def name(e: dict) -> str:
            return f"`{e['strategy']}`" if one_model else f"`{e['model']}` / `{e['strategy']}`"

        lead = (f"Every strategy reaches the same balanced accuracy ({pct(best['balanced_accuracy'])})" if gap < 5e-4
                else f"Best balanced accuracy: {name(best)} ({pct(best['balanced_accuracy'])}), {100 * gap:.1f} points "
                     f"above the weakest ({name(worst)})")
        doc.p(f"{lead}; the majority-class baseline scores accuracy {pct(ref.get('majority_accuracy'))} and balanced "
              f"accuracy {pct(ref.get('chance_balanced_accuracy'))}.")
    doc.fig(run / "figures" / "comparison.png", "Imbalance strategies: accuracy, balanced accuracy and macro-F1")
