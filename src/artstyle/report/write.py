"""Build the report from run directories and write ``report.md`` and ``report.html``.

Usage::

    write_report([Path("runs/pipeline/<ts>-demo")])                  # into the pipeline directory
    write_report([stats_run, classify_run, embed_run], out=Path("my-report"))
    doc = build_report(runs)                                          # the Doc only, nothing written
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any, Sequence

from artstyle.errors import ArtstyleError
from artstyle.report.document import Doc
from artstyle.report.find import Found, find_runs
from artstyle.report.sections import SECTION_TITLES, SECTIONS
from artstyle.runs import create_run, read_json, write_config, write_text

_SYNTHETIC_BANNER = ("SYNTHETIC DATA: these results come from artstyle's built-in procedurally painted stand-in for "
                     "WikiArt, not from real paintings. They show that the code works and how the methods compare on "
                     "a controlled problem, not how they do on real art.")


def _synthetic(f: Found) -> bool:
    """True when any run was made from the built-in synthetic data."""
    checks: list[Any] = []
    if f.state:
        checks.append(f.state.get("synthetic"))
    if f.stats:
        checks.append(read_json(f.stats / "stats.json").get("synthetic"))
    for run in (f.classify, f.judge, *f.other_classifiers, f.embed, f.stylize):
        if run is not None:
            checks.append(read_json(run / "config.json").get("data", {}).get("synthetic"))
    if f.cluster:
        checks.append(read_json(f.cluster / "metrics.json").get("synthetic"))
    if f.cluster_compare:
        checks.append(read_json(f.cluster_compare / "comparison.json").get("synthetic"))
    return any(bool(c) for c in checks)


def _preamble(doc: Doc, f: Found, runs: Sequence[str | Path]) -> None:
    """Title, the synthetic-data banner, what the report was written from, and a pipeline's failed stages."""
    synthetic = _synthetic(f)
    doc.h(1, "artstyle report" + (" (SYNTHETIC data)" if synthetic else ""))
    if synthetic:
        doc.banner(_SYNTHETIC_BANNER)
    what = (f"pipeline `{f.pipeline}` (profile {f.state.get('profile')}, data `{f.state.get('data')}`)" if f.pipeline
            else f"{len(runs)} run director{'y' if len(runs) == 1 else 'ies'}")
    doc.p(f"Written {time.strftime('%Y-%m-%d %H:%M')} from the {what}, reading saved results only.")
    if f.state:
        problems = [f"`{k}` {r['status']}" + (f" ({why})" if (why := r.get("error") or r.get("reason")) else "")
                    for k, r in f.state.get("stages", {}).items()
                    if r.get("status") in ("failed", "running") and k != "report"]
        if problems:
            doc.p("**Incomplete pipeline:** " + "; ".join(problems) + ".")


def build_report(runs: Sequence[str | Path]) -> Doc:
    """The report as a :class:`Doc` (nothing written)."""
    f = find_runs(runs)
    doc = Doc()
    _preamble(doc, f, runs)
    for title, section in zip(SECTION_TITLES, SECTIONS):
        n = len(doc.blocks)
        try:
            section(doc, f)
        except (ArtstyleError, KeyError, TypeError, ValueError) as exc:
            # One unreadable run must not cost the whole report: say what is wrong where the section would be.
            del doc.blocks[n + 1:]
            if len(doc.blocks) == n:
                doc.h(2, title)
            doc.p(f"This section could not be written: {type(exc).__name__}: {exc}")
    if f.ignored:
        doc.note("Also given but not shown (one run per section): " + ", ".join(str(p) for p in f.ignored))
    return doc


def write_report(runs: list[Path], out: Path | None = None) -> Path:
    """Write ``report.md`` and a self-contained ``report.html``; return the directory holding them.

    ``out`` defaults to the pipeline directory when one is given, else a new ``runs/report/<timestamp>-report/``
    (which gets a ``config.json`` saying it is a report and how to write it again).
    """
    runs = [Path(r) for r in runs]
    doc = build_report(runs)
    if out is None:
        pipeline = next((r for r in runs if (r / "pipeline.json").is_file()), None)
        if pipeline is None:
            out = create_run("report", "report")
            # Only a directory made here is described: an --out folder or a pipeline keeps its own config.json.
            write_config(out, "report", shlex.join(["artstyle", "report", *map(str, runs)]),
                         {"runs": [str(r) for r in runs]})
        else:
            out = pipeline
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "report.md", doc.markdown(out))
    title = next((b[2] for b in doc.blocks if b[0] == "h" and b[1] == 1), "artstyle report")
    write_text(out / "report.html", doc.html(title))
    return out


__all__ = ["build_report", "write_report"]
