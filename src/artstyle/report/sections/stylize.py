"""The report's "Stylization" section, from a ``stylize train`` run: the judge's verdict against baselines.

Usage: ``section_stylization(doc, found)``.
"""

from __future__ import annotations

from typing import Any

from artstyle.report.document import Doc
from artstyle.report.find import Found
from artstyle.report.format import f3, num, pct, training_line
from artstyle.runs import read_json

_METHOD_LABELS = {"stylizer": "stylizer (target style)", "identity": "identity (output = input)",
                  "blend": "50/50 blend with the target style's mean image",
                  "reconstruction": "reconstruction with the true style"}


def section_stylization(doc: Doc, f: Found) -> None:
    doc.h(2, "Stylization")
    if f.stylize is None:
        doc.p("Not run: no `artstyle stylize train` run was given (the pipeline's `stylize` stage did not complete).")
        return
    c = read_json(f.stylize / "config.json")
    m = read_json(f.stylize / "metrics.json")
    cfg = c.get("config", {})
    doc.p(f"A style-conditioned encoder-decoder (`{cfg.get('style_source')}` style vectors, width {cfg.get('width')}, "
          f"{cfg.get('size')} px) re-renders an image in a target style. It was trained against the classifier "
          f"`{c.get('classifier', {}).get('run')}` and is judged by an independently trained one, "
          f"`{c.get('judge', {}).get('run') or 'none'}`. {training_line(m.get('training'))}")
    model, init = c.get("model", {}), c.get("init_from")
    note = (" (version 1: instance-normalised content and AdaIN at every decoder stage, which draws streaks and "
            "gives every output its style's average palette)" if model.get("version", 1) == 1 else "")
    doc.p(f"Network version {model.get('version', 1)}{note}."
          + (f" Started from the autoencoder `{init['run']}`: {len(init['loaded'])} tensors loaded, "
             f"{len(init['skipped'])} of its tensors skipped (no same name and shape)." if init else ""))
    ev = m.get("evaluation")
    if not ev:
        doc.p("Not evaluated: the run had no judge (`artstyle stylize evaluate RUN --judge OTHER_RUN` adds it).")
    else:
        _evaluation(doc, ev)
        _other_judges(doc, m.get("judges") or [])
    doc.fig(f.stylize / "figures" / "evaluation_grid.png",
            "Test images (left) re-rendered in every training style")


def _evaluation(doc: Doc, ev: dict[str, Any]) -> None:
    """The judge's hit rates, SSIM and PSNR per method, and one sentence on how the stylizer compares."""
    rows = []
    for name, v in ev["methods"].items():
        rows.append([_METHOD_LABELS.get(name, name), f"{pct(v['hit_rate'])} ± {100 * v.get('hit_rate_se', 0):.1f}",
                     f3(v.get("ssim")), f"{v['psnr']:.2f}" if num(v.get("psnr")) else "-",
                     f3(v.get("judge_feature_distance"))])
    doc.table(["method", "judge hit rate on the target style", "SSIM to input", "PSNR to input (dB)",
               "judge-feature cosine distance"], rows)
    doc.p(f"{ev['pairs']:,} mismatched (test image, target style) pairs from {ev['test_images']:,} test images, "
          f"{len(ev.get('targets', []))} target styles. The judge recognises the inputs' true styles "
          f"{pct(ev.get('judge_accuracy_on_inputs'))} of the time; a random guess hits the target "
          f"{pct(ev.get('chance_hit_rate'))} of the time.")
    st = ev["methods"].get("stylizer", {})
    others = {k: v for k, v in ev["methods"].items() if k != "stylizer"}
    if st and others:
        best_base = max(others, key=lambda k: others[k]["hit_rate"])
        ahead = st["hit_rate"] - others[best_base]["hit_rate"]
        doc.p(f"The judge takes the stylizer's re-renderings for the target style {pct(st['hit_rate'])} of the time, "
              f"{abs(100 * ahead):.1f} points {'above' if ahead >= 0 else 'below'} the best baseline "
              f"({_METHOD_LABELS.get(best_base, best_base)}, {pct(others[best_base]['hit_rate'])}) and "
              f"{abs(100 * (st['hit_rate'] - ev['chance_hit_rate'])):.1f} points "
              f"{'above' if st['hit_rate'] >= ev['chance_hit_rate'] else 'below'} chance, while keeping SSIM "
              f"{f3(st.get('ssim'))} to the input.")


def _other_judges(doc: Doc, judges: list[dict[str, Any]]) -> None:
    """Every judge's verdict, when more than one has scored the run (``artstyle stylize evaluate --judge``)."""
    if len(judges) < 2:
        return
    doc.p("Every judge (or way of reading) that scored this run, the table above being the last: a stylizer that "
          "one judge credits and another, built differently, does not has learnt to fool the first rather than to "
          "paint the style.")
    doc.table(["judge", "reads", "pairs", "judge accuracy on the inputs", "stylizer hit rate", "identity hit rate",
               "stylizer SSIM"],
              [[f"`{r['judge']}`", r["judge_reads"], f"{r['pairs']:,}", pct(r["judge_accuracy_on_inputs"]),
                f"{pct(r['hit_rate'])} ± {100 * r['hit_rate_se']:.1f}", pct(r["identity_hit_rate"]), f3(r["ssim"])]
               for r in judges], right_from=2)
