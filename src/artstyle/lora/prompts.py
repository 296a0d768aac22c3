"""Prompts for LoRA training and generation: one per image, from a template with ``{style}``, ``{genre}``, ``{artist}``.

Usage::

    check_template(cfg.prompt_template)                       # before any model is loaded
    render_prompt(DEFAULT_TEMPLATE, "Ukiyo_e", genre="landscape", artist="katsushika-hokusai")
    # 'a painting in the style of Ukiyo-e, landscape, by Katsushika Hokusai'
    styles = select_styles(["ukiyo-e", "baroque"], cache.classes)
"""

from __future__ import annotations

import re
import string
from typing import Any, Sequence

from artstyle.errors import ArtstyleError
from artstyle.lora.config import DEFAULT_TEMPLATE  # noqa: F401  (the doctest and callers use it from here too)

TEMPLATE_FIELDS = ("style", "genre", "artist")
_UNKNOWN_VALUES = {"", "unknown", "unknown artist", "unknown genre", "none", "nan"}


def check_template(template: str) -> None:
    """Reject a prompt template with unknown fields, unbalanced brackets, or no ``{style}``."""
    if template.count("[") != template.count("]") or re.search(r"\[[^\]]*\[", template):
        raise ArtstyleError(f"--prompt-template {template!r}: unbalanced or nested [brackets]")
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in
                  string.Formatter().parse(template.replace("[", "").replace("]", "")) if f is not None]
    except ValueError as exc:
        raise ArtstyleError(f"--prompt-template {template!r}: {exc}") from None
    names = [f for f, _, _ in fields]
    if any(spec or conv for _, spec, conv in fields):  # "{style:>999999999}" would build a gigabyte prompt
        raise ArtstyleError(f"--prompt-template {template!r}: fields take no format spec or conversion; write "
                            "{style}, {genre}, {artist}")
    unknown = sorted({n for n in names if n not in TEMPLATE_FIELDS})
    if unknown:
        raise ArtstyleError(f"--prompt-template {template!r}: unknown field(s) {', '.join('{' + u + '}' for u in unknown)}; "
                            f"use {{style}}, {{genre}}, {{artist}}")
    if "style" not in names:
        raise ArtstyleError(f"--prompt-template {template!r} has no {{style}}: the LoRA could not be told which style to paint")


def _humanize(value: str | None, title: bool = False) -> str | None:
    """``claude-monet`` -> ``Claude Monet``, ``religious_painting`` -> ``religious painting``; unknowns -> None."""
    if value is None or str(value).strip().lower() in _UNKNOWN_VALUES:
        return None
    text = re.sub(r"[-_]+", " ", str(value)).strip()
    return text.title() if title else text


def render_prompt(template: str, style: str, genre: str | None = None, artist: str | None = None) -> str:
    """Fill a template: ``{style}`` gets the display name; a ``[part]`` whose fields are unknown is dropped.

    >>> render_prompt(DEFAULT_TEMPLATE, "Post_Impressionism", genre="landscape", artist="vincent-van-gogh")
    'a painting in the style of Post-Impressionism, landscape, by Vincent Van Gogh'
    """
    from artstyle.styles import display_name

    values = {"style": display_name(style), "genre": _humanize(genre), "artist": _humanize(artist, title=True)}

    def optional(match: re.Match) -> str:
        part = match.group(1)
        needed = [f for _, f, _, _ in string.Formatter().parse(part) if f]
        return part.format(**values) if all(values.get(f) for f in needed) else ""

    text = re.sub(r"\[([^\]]*)\]", optional, template)
    return text.format(**{k: (v or "") for k, v in values.items()})


def select_styles(wanted: Sequence[str], classes: Sequence[str], flag: str = "--styles") -> list[str]:
    """Resolve names/aliases (``ukiyo-e``, ``Post-Impressionism``) or ``all`` against ``classes``; unknown -> error."""
    from artstyle.styles import canonical_style

    wanted = [w for w in wanted if w.strip()]
    if not wanted or any(w.strip().lower() == "all" for w in wanted):
        return list(classes)
    by_key = {c.lower(): c for c in classes}
    out, unknown = [], []
    for w in wanted:
        key = (canonical_style(w) or w.strip()).lower()
        hit = by_key.get(key) or by_key.get(w.strip().lower()) or by_key.get(w.strip().replace(" ", "_").lower())
        if hit is None:
            unknown.append(w)
        elif hit not in out:
            out.append(hit)
    if unknown:
        raise ArtstyleError(f"{flag}: unknown style(s) {', '.join(unknown)}; known: {', '.join(classes)}")
    return out


def build_prompts(cache: Any, rows: Sequence[int], template: str) -> list[str]:
    """One prompt per row: the style, plus genre/artist when the source records them."""
    prompts = []
    for r in rows:
        extra = cache.extra(r)
        prompts.append(render_prompt(template, cache.classes[int(cache.labels[r])], extra.get("genre"), extra.get("artist")))
    return prompts


__all__ = ["TEMPLATE_FIELDS", "check_template", "render_prompt", "select_styles", "build_prompts"]
