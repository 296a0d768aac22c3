"""Facts about the 27 WikiArt styles that artstyle needs at run time.

Usage: ``from artstyle.styles import STYLES, canonical_style``

The table mirrors the ``style`` ClassLabel of the Hugging Face dataset ``huggan/wikiart``
(``hf_id``/``hf_name``) and the folder names of the widely shared 27-style image-folder copy
(``folder_name``; identical except ``Art_Nouveau`` vs ``Art_Nouveau_Modern``). Counts are the
course copy's train split (13,350 images) and the full WikiArt style set (81,446 images).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    hf_id: int
    """Index in huggan/wikiart's ``style`` ClassLabel."""
    folder_name: str
    """Canonical artstyle name; the folder name of the image-folder copy."""
    hf_name: str
    """Name in huggan/wikiart."""
    course_train_count: int
    """Images in the course copy's train split."""
    wikiart_total_count: int
    """Images in the full WikiArt style set."""

    @property
    def display_name(self) -> str:
        """Human-readable name, e.g. ``Post-Impressionism``, for prompts and figures."""
        return _DISPLAY.get(self.folder_name, self.folder_name.replace("_", " "))


STYLES: tuple[Style, ...] = (
    Style(0, 'Abstract_Expressionism', 'Abstract_Expressionism', 449, 2782),
    Style(1, 'Action_painting', 'Action_painting', 18, 98),
    Style(2, 'Analytical_Cubism', 'Analytical_Cubism', 15, 110),
    Style(3, 'Art_Nouveau_Modern', 'Art_Nouveau', 688, 4334),
    Style(4, 'Baroque', 'Baroque', 721, 4241),
    Style(5, 'Color_Field_Painting', 'Color_Field_Painting', 268, 1615),
    Style(6, 'Contemporary_Realism', 'Contemporary_Realism', 91, 481),
    Style(7, 'Cubism', 'Cubism', 390, 2235),
    Style(8, 'Early_Renaissance', 'Early_Renaissance', 246, 1391),
    Style(9, 'Expressionism', 'Expressionism', 1127, 6736),
    Style(10, 'Fauvism', 'Fauvism', 163, 934),
    Style(11, 'High_Renaissance', 'High_Renaissance', 198, 1343),
    Style(12, 'Impressionism', 'Impressionism', 2269, 13060),
    Style(13, 'Mannerism_Late_Renaissance', 'Mannerism_Late_Renaissance', 246, 1279),
    Style(14, 'Minimalism', 'Minimalism', 212, 1337),
    Style(15, 'Naive_Art_Primitivism', 'Naive_Art_Primitivism', 373, 2405),
    Style(16, 'New_Realism', 'New_Realism', 41, 314),
    Style(17, 'Northern_Renaissance', 'Northern_Renaissance', 413, 2552),
    Style(18, 'Pointillism', 'Pointillism', 80, 513),
    Style(19, 'Pop_Art', 'Pop_Art', 244, 1483),
    Style(20, 'Post_Impressionism', 'Post_Impressionism', 946, 6451),
    Style(21, 'Realism', 'Realism', 1712, 10733),
    Style(22, 'Rococo', 'Rococo', 369, 2089),
    Style(23, 'Romanticism', 'Romanticism', 1157, 7019),
    Style(24, 'Symbolism', 'Symbolism', 679, 4528),
    Style(25, 'Synthetic_Cubism', 'Synthetic_Cubism', 38, 216),
    Style(26, 'Ukiyo_e', 'Ukiyo_e', 197, 1167),
)

_DISPLAY = {
    "Art_Nouveau_Modern": "Art Nouveau (Modern)",
    "Mannerism_Late_Renaissance": "Mannerism (Late Renaissance)",
    "Naive_Art_Primitivism": "Naive Art (Primitivism)",
    "Post_Impressionism": "Post-Impressionism",
    "Ukiyo_e": "Ukiyo-e",
    "Action_painting": "Action Painting",
}

STYLE_NAMES: tuple[str, ...] = tuple(sorted(s.folder_name for s in STYLES))
"""The 27 canonical style names, sorted: this is the built-in dataset's label map."""

_BY_NAME = {s.folder_name: s for s in STYLES}
# Aliases users and sources may use for the same style; keys compared case-insensitively.
_ALIASES = {s.hf_name.lower(): s.folder_name for s in STYLES}
_ALIASES.update({s.folder_name.lower(): s.folder_name for s in STYLES})
_ALIASES.update({s.display_name.lower(): s.folder_name for s in STYLES})


def canonical_style(name: str) -> str | None:
    """Map a WikiArt style name or alias (``Art_Nouveau``, ``post-impressionism``) to its folder name.

    Returns None when ``name`` is not a WikiArt style (custom datasets may have other classes).
    """
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    return _ALIASES.get(key.replace("-", "_").replace(" ", "_"))


def get_style(name: str) -> Style | None:
    """The :class:`Style` for a name or alias, or None."""
    canon = canonical_style(name)
    return _BY_NAME.get(canon) if canon else None


def display_name(name: str) -> str:
    """Human-readable name for any class name; WikiArt styles get their proper spelling."""
    style = get_style(name)
    return style.display_name if style else name.replace("_", " ")
