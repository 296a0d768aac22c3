"""The report's "The dataset" section, from a ``data stats`` run's ``stats.json`` and figures.

Usage: ``section_dataset(doc, found)``.
"""

from __future__ import annotations

from artstyle.report.document import Doc
from artstyle.report.find import Found
from artstyle.report.format import pct
from artstyle.runs import read_json
from artstyle.styles import display_name


def section_dataset(doc: Doc, f: Found) -> None:
    doc.h(2, "The dataset")
    if f.stats is None:
        doc.p("Not run: no `artstyle data stats` run was given (the pipeline's `stats` stage did not complete).")
        return
    st = read_json(f.stats / "stats.json")
    kind = ("**SYNTHETIC**: artstyle's built-in procedurally painted stand-in for WikiArt (27 procedural painters "
            "with the course copy's class proportions), not real paintings" if st["synthetic"] else "real images")
    doc.p(f"Source: `{st['source']}`, {kind}. Images were decoded once and resized to {st['size']} px.")
    totals = ", ".join(f"{k} {v:,}" for k, v in st["totals"].items())
    doc.p(f"{st['cached']:,} images ({totals}) of {len(st['classes'])} styles; {st['found']:,} files found, "
          f"{st['skipped']:,} skipped. The largest training style ({display_name(st['majority_class'] or '-')}) has "
          f"{st['imbalance_ratio']:.0f} times as many images as the smallest."
          + (f" Styles without training images: {', '.join(map(display_name, st['classes_without_train_images']))}."
             if st.get("classes_without_train_images") else ""))
    splits = list(st["counts"])
    train = st["counts"].get("train", {})
    total_train = max(1, sum(train.values()))
    rows = []
    for c in sorted(st["classes"], key=lambda c: (-train.get(c, 0), c)):
        rows.append([display_name(c), *[f"{st['counts'][s].get(c, 0):,}" for s in splits],
                     pct(train.get(c, 0) / total_train)])
    rows.append(["**total**", *[f"**{st['totals'][s]:,}**" for s in splits], "100.0%"])
    doc.h(3, "Class distribution")
    doc.table(["style", *splits, "share of train"], rows)
    doc.fig(f.stats / "figures" / "class_counts.png", "Images per style (log scale)")
    doc.fig(f.stats / "figures" / "samples.png", "Random training images, one row per style")
