"""Write one generated section into its marked block of a doc (docs/benchmarks.md unless told otherwise).

Usage: ``update_section("demo", body)`` replaces everything between ``<!-- demo:start -->`` and
``<!-- demo:end -->`` in docs/benchmarks.md (or appends the block). Every body starts with its heading and holds
a ``Produced by: `<command>` `` line: tests/test_docs.py checks that every number-bearing section names one.
"""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Each section is written by the script named in its `Produced by:` line, between `<!-- name:start -->` and
`<!-- name:end -->` markers; rerun that command to refresh it (the script rewrites its own block in place).
Machines here are noisy (2 shared cores), so compare the ratios measured within one run rather than absolute
numbers across runs.
"""


def machine() -> str:
    import os

    import torch

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")


def update_section(name: str, body: str, doc: Path = DOC) -> Path:
    """Replace (or append) the marked block ``name`` of ``doc`` with ``body``; return ``doc``."""
    if "Produced by:" not in body:
        raise ValueError(f"section {name!r} names no command: its body needs a 'Produced by: `...`' line")
    doc.parent.mkdir(parents=True, exist_ok=True)
    text = doc.read_text() if doc.exists() else HEADER
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = doc.with_name(doc.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(doc)  # a killed script never leaves half a doc
    return doc
