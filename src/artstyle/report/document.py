"""The report's document: blocks written once, rendered both as Markdown and as self-contained HTML.

Usage::

    doc = Doc()
    doc.h(2, "The classifier"); doc.p("A `resnet` ..."); doc.table(["metric", "model"], [["accuracy", "61.2%"]])
    doc.fig(run / "figures" / "confusion.png", "Confusion matrix")     # skipped when the file is missing
    (out / "report.md").write_text(doc.markdown(out)); (out / "report.html").write_text(doc.html("title"))

In the Markdown, figures are links relative to the report's folder; in the HTML every figure is embedded as
a base64 PNG, so the file can be mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from artstyle.tables import markdown_table


@dataclass
class Doc:
    """Blocks rendered both as Markdown and as HTML: ("h", level, text, anchor), ("p", text), ("table", head,
    rows, right_from), ("fig", path, caption), ("banner", text), ("code", text), ("note", text)."""

    blocks: list[tuple] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", level, text, re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def note(self, text: str) -> None:
        self.blocks.append(("note", text))

    def table(self, head: Sequence[str], rows: Sequence[Sequence[Any]], right_from: int = 1) -> None:
        """A table; in Markdown, columns from index ``right_from`` on are right-aligned (numbers)."""
        self.blocks.append(("table", list(head), [[str(c) for c in r] for r in rows], right_from))

    def fig(self, path: Path | None, caption: str) -> None:
        if path is not None and Path(path).is_file():
            self.blocks.append(("fig", Path(path), caption))

    def banner(self, text: str) -> None:
        self.blocks.append(("banner", text))

    def code(self, text: str) -> None:
        self.blocks.append(("code", text))

    def markdown(self, out_dir: Path) -> str:
        """The report as Markdown; figure links are relative to ``out_dir``, where report.md is written."""
        lines: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                lines += ["#" * b[1] + " " + b[2], ""]
            elif kind == "p":
                lines += [b[1], ""]
            elif kind == "note":
                lines += [f"*{b[1]}*", ""]
            elif kind == "banner":
                lines += [f"> **{b[1]}**", ""]
            elif kind == "code":
                lines += ["```sh", b[1], "```", ""]
            elif kind == "table":
                lines += [markdown_table(b[1], b[2], right_from=b[3]).rstrip("\n"), ""]
            elif kind == "fig":
                rel = Path(os.path.relpath(b[1], out_dir)).as_posix()
                lines += [f"![{b[2]}]({rel})", f"*{b[2]}*", ""]
        return "\n".join(lines).rstrip() + "\n"

    def html(self, title: str) -> str:
        """The report as one self-contained HTML page (figures embedded, a table of contents of the sections)."""
        toc = "".join(f'<li><a href="#{b[3]}">{html.escape(b[2])}</a></li>' for b in self.blocks
                      if b[0] == "h" and b[1] == 2)
        body: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                body.append(f'<h{b[1]} id="{b[3]}">{_inline(b[2])}</h{b[1]}>')
                if b[1] == 1 and toc:
                    body.append(f'<nav><ul>{toc}</ul></nav>')
            elif kind == "p":
                body.append(f"<p>{_inline(b[1])}</p>")
            elif kind == "note":
                body.append(f'<p class="note">{_inline(b[1])}</p>')
            elif kind == "banner":
                body.append(f'<div class="banner">{_inline(b[1])}</div>')
            elif kind == "code":
                body.append(f"<pre><code>{html.escape(b[1])}</code></pre>")
            elif kind == "table":
                head = "".join(f"<th>{_inline(c)}</th>" for c in b[1])
                rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b[2])
                body.append(f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
                            "</table></div>")
            elif kind == "fig":
                data = base64.b64encode(b[1].read_bytes()).decode("ascii")
                body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(b[2], quote=True)}">'
                            f"<figcaption>{_inline(b[2])}</figcaption></figure>")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
                + "\n".join(body) + "\n</main></body></html>\n")


_CSS = """
body{margin:0;background:#f6f6f4;color:#222;font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,
Helvetica,Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:24px 28px 60px;background:#fff;box-shadow:0 0 12px rgba(0,0,0,.06)}
h1{font-size:28px;margin:8px 0 4px}h2{font-size:22px;margin:36px 0 8px;padding-top:12px;border-top:2px solid #e4e4e0}
h3{font-size:17px;margin:22px 0 6px}
nav ul{list-style:none;padding:0;margin:8px 0 16px;display:flex;flex-wrap:wrap;gap:6px 16px}
nav a{color:#2a5d9f;text-decoration:none}nav a:hover{text-decoration:underline}
.banner{background:#b00020;color:#fff;padding:10px 14px;border-radius:6px;font-weight:600;margin:12px 0}
.note{color:#666;font-size:13px}
.table{overflow-x:auto}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13.5px}
th,td{border-bottom:1px solid #e2e2de;padding:4px 10px;text-align:left;white-space:nowrap}
th{background:#f0f0ec;font-weight:600}tbody tr:nth-child(even){background:#fafaf8}
td:not(:first-child){font-variant-numeric:tabular-nums}
figure{margin:12px 0 20px}figure img{max-width:100%;height:auto;border:1px solid #e2e2de}
figcaption{color:#555;font-size:13px;margin-top:4px}
pre{background:#f3f3f0;padding:10px 12px;overflow-x:auto;font-size:12.5px;border-radius:4px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
"""


def _inline(text: str) -> str:
    """HTML-escape, then render the Markdown inline bits the report uses: **bold** and `code`."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


__all__ = ["Doc"]
