"""Every doc section that holds measured numbers names the command that produced them (issue 16).

How a section is found and judged (kept deliberately simple):

- Files: README.md and docs/*.md. A section starts at a ``#``, ``##`` or ``###`` heading outside fenced code
  and runs to the next one; deeper headings belong to their parent.
- It *holds measured numbers* if, outside fenced code and inline code, either
  - a Markdown table body cell is just a number (optionally ``±``, a unit and a ``(met)``/``(missed)`` verdict),
    e.g. ``| 63.8 ± 5.3 |``, ``| **2.09 GB** (met) |``, ``| 1.48x |``; or
  - the prose has a number followed by a unit of measurement: % dB GB MB MiB GiB KiB s ms min img/s
    images/s GFLOP GFLOP/s x points (``27 styles`` or ``64 px`` are not measurements).
- It *names its command* if it has a line starting ``Produced by:`` or a fenced code block.

Sections whose numbers are settings or quoted from elsewhere are listed in ALLOWED, each with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

ALLOWED = {
    ("docs/lora.md", "Recommended settings for SD 1.5-class models"):
        "the table holds recommended option values, not measurements; the cost figure is quoted from the "
        "diffusers docs, with its link, and says it was not measured here",
    ("docs/lora.md", "What it does"):
        "12.5% is the margin `--crop random` resizes by (a setting), not a measurement",
    ("docs/report-example.md", "*"):
        "a copy of the report.md that `artstyle run --profile demo` wrote (its header says so; its own last "
        "section lists the command of every stage); an example of the output's form, not a results page",
}

UNIT = r"(?:%|dB|GB|MB|MiB|GiB|KiB|ms|s|min|img/s|images/s|GFLOP/s|GFLOP|x|points)"
PROSE_NUMBER = re.compile(r"(?<![\w.\-])\d[\d,]*(?:\.\d+)?\s?" + UNIT + r"(?![\w/])")
CELL_NUMBER = re.compile(r"^[<>~]?\s*-?\d[\d,]*(?:\.\d+)?\s*(?:± ?\d+(?:\.\d+)?)?\s*" + UNIT
                         + r"?\s*(?:\((?:met|missed)\))?$")
HEADING = re.compile(r"^(#{1,3}) (.+)$")


def sections(text: str) -> list[tuple[str, list[str], bool]]:
    """(heading, lines outside fences, has a fenced block) per section; the text before the first heading is ''."""
    out: list[tuple[str, list[str], bool]] = [("", [], False)]
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if not in_fence:
                title, lines, _ = out[-1]
                out[-1] = (title, lines, True)
            in_fence = not in_fence
            continue
        m = None if in_fence else HEADING.match(line)
        if m:
            out.append((m.group(2).strip(), [], False))
        elif not in_fence:
            out[-1][1].append(line)
    return out


def measured(lines: list[str]) -> list[str]:
    """The measured numbers found in a section's lines (empty if none)."""
    found = []
    for line in lines:
        plain = re.sub(r"`[^`]*`", "", line)
        if plain.lstrip().startswith("|"):
            cells = [c.strip().strip("*").strip() for c in plain.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                continue
            found += [c for c in cells if CELL_NUMBER.match(c.replace("**", ""))]
        else:
            found += PROSE_NUMBER.findall(plain)
    return found


def names_command(lines: list[str], fenced: bool) -> bool:
    return fenced or any(line.lstrip("> ").startswith("Produced by:") for line in lines)


def unsourced(path: Path) -> list[str]:
    rel = path.relative_to(ROOT).as_posix()
    bad = []
    for title, lines, fenced in sections(path.read_text()):
        if (rel, title) in ALLOWED or (rel, "*") in ALLOWED:
            continue
        numbers = measured(lines)
        if numbers and not names_command(lines, fenced):
            bad.append(f"{rel} § {title or '(top)'}: {', '.join(numbers[:4])}")
    return bad


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_number_bearing_section_names_its_command(path):
    bad = unsourced(path)
    assert not bad, "sections with measured numbers but no `Produced by:` line or fenced command:\n" + "\n".join(bad)


def test_detector_sees_numbers_and_commands():
    """The rules above, on small examples, so a change that blinds the detector fails here."""
    doc = ("# T\n\n## Timed\n\nIt took 2 min 43 s and 2.1 GB.\n\n"
           "## Table\n\n| a | b |\n|---|---|\n| x | 63.8 ± 5.3 |\n"
           "\n## Prose\n\n27 styles at 64 px, 3 seeds, `--time-budget 150`.\n\n## Sourced\n\nProduced by: `make`\n\n"
           "| a |\n|---|\n| **2.09 GB** (met) |\n\n## Fenced\n\n```sh\nartstyle run\n```\n\n48x fewer.\n")
    found = {title: (bool(measured(lines)), names_command(lines, fenced)) for title, lines, fenced in sections(doc)}
    assert found == {"": (False, False), "T": (False, False), "Timed": (True, False), "Table": (True, False),
                     "Prose": (False, False), "Sourced": (True, True), "Fenced": (True, True)}


def test_allow_list_entries_exist():
    """An allow-list entry for a section that no longer exists would hide nothing and rot: keep it exact."""
    for (rel, title), reason in ALLOWED.items():
        assert reason and (ROOT / rel).is_file(), rel
        if title != "*":
            assert title in [t for t, _, _ in sections((ROOT / rel).read_text())], (rel, title)


def test_markers_pair_and_name_existing_scripts():
    """Every generated block closes, and every script a `Produced by:` line names exists (catches renames)."""
    for path in DOCS:
        text = path.read_text()
        starts = re.findall(r"<!-- ([\w-]+):start -->", text)
        assert starts == re.findall(r"<!-- ([\w-]+):end -->", text), path
        assert len(starts) == len(set(starts)), f"{path}: a block name is used twice"
        for line in re.findall(r"^Produced by:.*$", text, flags=re.M):
            for script in re.findall(r"\b((?:benchmarks|scripts)/[\w./-]+\.(?:py|sh))\b", line):
                assert (ROOT / script).is_file(), f"{path}: {script} does not exist"


def _load(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REPORT = """# artstyle report

Written 2026-11-29 10:00 from the pipeline.

## The autoencoder

It compresses to 256 numbers.

| metric | autoencoder | PCA |
|---|---:|---:|
| PSNR | 18.29 | 22.83 |

*[figure: Learning curves; embedded in report.html]*

![Validation images](stages/embed/figures/pca_vs_ae.png)
*Validation images*

## Clustering

**Do styles cluster? Weakly: ARI 0.179.**

### Representations compared

| representation | method | ARI |
|---|---|---:|
| ae | kmeans | 0.142 |

### The ae embeddings: scores and maps

| method | ARI |
|---|---:|
| kmeans | 0.999 |

## Stylization

| method | judge hit rate |
|---|---:|
| stylizer | 26.0% ± 3.1 |

## LoRA
"""


def test_results_doc_rewrites_only_its_blocks(tmp_path):
    """scripts/results_doc.py puts the report's tables, with the run's command, between the markers, and no more."""
    pipeline = tmp_path / "pipe"
    pipeline.mkdir()
    (pipeline / "report.md").write_text(REPORT)
    (pipeline / "config.json").write_text('{"stage": "pipeline", "command": "artstyle run --profile demo"}')
    doc = tmp_path / "results.md"
    blocks = "".join(f"## {n}\n\nprose 1.5 s\n\n<!-- results-{n}:start -->\nold 1 s\n<!-- results-{n}:end -->\n\n"
                     for n in ("autoencoder", "clusters", "stylize"))
    doc.write_text("# R\n\n" + blocks)
    _load("results_doc").main([str(pipeline), "--doc", str(doc)])
    text = doc.read_text()
    assert "old 1 s" not in text and text.count("prose 1.5 s") == 3
    assert text.count("Produced by: `artstyle run --profile demo` (its `report.md`, written 2026-11-29)") == 3
    assert "| PSNR | 18.29 | 22.83 |" in text and "26.0% ± 3.1" in text and "Weakly: ARI 0.179" in text
    assert "0.142" in text and "0.999" not in text and "[figure:" not in text  # only the sections quoted
    assert "pca_vs_ae.png" not in text and "*Validation images*" not in text  # figures stay in the report
    assert not unsourced_text(text)


def test_results_doc_refuses_a_missing_report_or_block(tmp_path):
    doc = tmp_path / "results.md"
    doc.write_text("# R\n")
    with pytest.raises(SystemExit, match="report.md does not exist"):
        _load("results_doc").main([str(tmp_path), "--doc", str(doc)])
    (tmp_path / "report.md").write_text(REPORT)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit, match="has no block <!-- results-autoencoder:start -->"):
        _load("results_doc").main([str(tmp_path), "--doc", str(doc)])
    assert doc.read_text() == "# R\n"


def unsourced_text(text: str) -> list[str]:
    return [t for t, lines, fenced in sections(text) if measured(lines) and not names_command(lines, fenced)]


def test_gallery_copies_strategies_and_records_sources(tmp_path):
    """strategies.png comes from a compare run by the script (it was copied by hand), and sources.md says from where."""
    from PIL import Image

    gallery = _load("gallery")
    pipeline, compare, out = tmp_path / "pipe", tmp_path / "cmp", tmp_path / "gallery"
    for run, pattern in [(pipeline, gallery.PICKS["confusion.png"]), (compare, gallery.STRATEGIES["strategies.png"])]:
        (run / pattern).parent.mkdir(parents=True)
        Image.new("RGB", (2000, 100), "red").save(run / pattern)
    gallery.main([str(pipeline), "--strategies", str(compare), "--out", str(out)])
    assert Image.open(out / "strategies.png").width == 1400 and (out / "confusion.png").is_file()
    assert not (out / "samples.png").exists()  # missing in the run: skipped, not invented
    sources = (out / "sources.md").read_text()
    assert f"| `strategies.png` | `{compare / 'figures/comparison.png'}` |" in sources
    assert f"--strategies {compare}" in sources


def test_gallery_only_replaces_the_named_picture_and_keeps_the_other_sources(tmp_path):
    from PIL import Image

    gallery = _load("gallery")
    old, new, out = tmp_path / "old", tmp_path / "new", tmp_path / "gallery"
    for run in (old, new):
        for name in ("confusion.png", "stylize.png"):
            (run / gallery.PICKS[name]).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (20, 10), "red" if run == old else "blue").save(run / gallery.PICKS[name])
    gallery.main([str(old), "--out", str(out)])
    gallery.main([str(new), "--only", "stylize.png", "--out", str(out)])
    assert Image.open(out / "stylize.png").convert("RGB").getpixel((0, 0))[2] > 200  # the new run's
    assert Image.open(out / "confusion.png").convert("RGB").getpixel((0, 0))[0] > 200  # still the old run's
    sources = (out / "sources.md").read_text()
    assert f"| `confusion.png` | `{old / gallery.PICKS['confusion.png']}` |" in sources
    assert f"| `stylize.png` | `{new / gallery.PICKS['stylize.png']}` |" in sources
    assert "--only stylize.png" in sources
    with pytest.raises(SystemExit):
        gallery.main([str(new), "--only", "nothing.png", "--out", str(out)])


def test_update_section_rewrites_in_place_and_needs_a_command(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _report import update_section

    doc = tmp_path / "b.md"
    doc.write_text("# B\n\n<!-- a:start -->\nold\n<!-- a:end -->\n\ntail\n")
    update_section("a", "## A\n\nProduced by: `x`\n\n| t |\n|---|\n| 3 s |", doc=doc)
    update_section("b", "## B2\n\nProduced by: `y`", doc=doc)
    assert doc.read_text() == ("# B\n\n<!-- a:start -->\n## A\n\nProduced by: `x`\n\n| t |\n|---|\n| 3 s |\n"
                               "<!-- a:end -->\n\ntail\n\n"
                               "<!-- b:start -->\n## B2\n\nProduced by: `y`\n<!-- b:end -->\n")
    with pytest.raises(ValueError, match="names no command"):
        update_section("a", "## A\n\n| 4 s |", doc=doc)
