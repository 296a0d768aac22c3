"""Markdown tables, the one way every stage and the report write them.

Usage: ``markdown_table(["model", "accuracy"], [["resnet", "61.2"]])`` ->
``"| model | accuracy |\\n|---|---:|\\n| resnet | 61.2 |\\n"``.
"""

from __future__ import annotations

from typing import Any, Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], right_from: int = 1) -> str:
    """A GitHub-flavoured Markdown table; columns from index ``right_from`` on are right-aligned (numbers)."""
    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return "\n".join([line(header), "|" + "|".join(align) + "|", *(line(r) for r in rows)]) + "\n"


__all__ = ["markdown_table"]
