"""Copy the tables of finished runs into docs/results.md's marked blocks: nothing there is typed by hand.

Usage: ``python scripts/results_doc.py [PIPELINE] [--compare NAME=RUN ...] [--doc docs/results.md]``

- PIPELINE (a finished ``artstyle run`` directory): the autoencoder, clustering and stylization sections of its
  report.md go into the blocks ``results-autoencoder``, ``results-clusters`` and ``results-stylize``.
- ``--compare strategies=RUN``: the comparison.md of a ``classify compare`` run goes into ``results-strategies``.

A block is the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``; each starts with a ``Produced by:``
line naming the run's own command (from its config.json). The prose around the blocks is written by hand.
scripts/results.sh runs this at its end; it reads saved runs only and never retrains.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _report import update_section  # noqa: E402

DOC = ROOT / "docs" / "results.md"
# block name -> the report.md sections it quotes, in order ("## X" quotes only X's text, not its subsections)
BLOCKS = {
    "results-autoencoder": ["## The autoencoder"],
    "results-clusters": ["## Clustering", "### Representations compared"],
    "results-stylize": ["## Stylization"],
}


class ReportError(Exception):
    """The pipeline directory has no report.md, or it lacks a section this script quotes."""


def _is_figure(line: str, previous: str) -> bool:
    """A figure of the report or its caption (paths are relative to the pipeline: they do not belong in docs/)."""
    caption = line.startswith("*") and line.rstrip().endswith("*") and not line.startswith("**")
    return line.startswith(("![", "*[figure:")) or (caption and previous.startswith("!["))


def report_sections(text: str) -> dict[str, str]:
    """``{"## Heading": body}`` for every ## and ### heading of a report, figure placeholders dropped."""
    out: dict[str, list[str]] = {}
    current = None
    in_fence = False
    previous = ""  # the last non-blank line
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and re.match(r"^#{2,3} ", line):
            current = line.strip()
            out[current] = []
        elif current and not _is_figure(line, previous):
            out[current].append(line)
        previous = line if line.strip() else previous
    return {k: re.sub(r"\n{3,}", "\n\n", "\n".join(v)).strip() for k, v in out.items()}


def blocks(pipeline: Path) -> dict[str, str]:
    """The body of every block, quoted from ``pipeline/report.md``."""
    report = pipeline / "report.md"
    if not report.is_file():
        raise ReportError(f"{report} does not exist: run the pipeline to the end first (artstyle run --out {pipeline})")
    found = report_sections(report.read_text())
    command = json.loads((pipeline / "config.json").read_text()).get("command", "artstyle run")
    written = re.search(r"^Written (\d{4}-\d{2}-\d{2})", report.read_text(), flags=re.M)
    date = written.group(1) if written else "an unknown date"
    produced = (f"Produced by: `{command}` (its `report.md`, written {date}), quoted by "
                f"`python scripts/results_doc.py <pipeline>`.")
    out = {}
    for name, headings in BLOCKS.items():
        missing = [h for h in headings if h not in found]
        if missing:
            raise ReportError(f"{report} has no section {missing[0]!r}: was that stage skipped?")
        parts = [found[h] if i == 0 else f"**{h.lstrip('#').strip()}.** {found[h]}" for i, h in enumerate(headings)]
        out[name] = produced + "\n\n" + "\n\n".join(parts)
    return out


def compare_block(run: Path) -> str:
    """The body of a ``classify compare`` run's block: its command and its comparison.md."""
    table = run / "comparison.md"
    if not table.is_file():
        raise ReportError(f"{table} does not exist: give a finished `artstyle classify compare` run")
    command = json.loads((run / "config.json").read_text()).get("command", "artstyle classify compare")
    produced = f"Produced by: `{command}`, quoted by `python scripts/results_doc.py --compare`."
    return f"{produced}\n\n{table.read_text().strip()}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pipeline", type=Path, nargs="?", help="a finished pipeline directory (holds report.md)")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=RUN",
                    help="a finished classify-compare run for the block results-NAME (repeatable)")
    ap.add_argument("--doc", type=Path, default=DOC, help="the doc to update (default docs/results.md)")
    args = ap.parse_args(argv)
    try:
        found = blocks(args.pipeline) if args.pipeline else {}
        for spec in args.compare:
            name, sep, run = spec.partition("=")
            if not (sep and name and run):
                raise ReportError(f"--compare {spec!r}: give NAME=RUN, e.g. strategies=runs/results/strategies")
            found[f"results-{name}"] = compare_block(Path(run))
        for name, body in found.items():
            if f"<!-- {name}:start -->" not in args.doc.read_text():
                raise ReportError(f"{args.doc} has no block <!-- {name}:start -->: add the markers where it belongs")
        for name, body in found.items():
            update_section(name, body, doc=args.doc)
    except ReportError as exc:
        sys.exit(f"error: {exc}")
    print(f"wrote {', '.join(found) or 'nothing'} into {args.doc}")


if __name__ == "__main__":
    main()
