"""Which painter paints which style, and ``paint``: one finished picture of a style.

Usage::

    from artstyle.data.synth.registry import paint
    img = paint("Pointillism", np.random.default_rng(0), size=128)   # uint8 (128, 128, 3)

Each painter returns float32 planes (3, S, S) in about [0, 1]; ``paint`` adds the finish every style shares
(exposure and tint jitter, canvas grain) and returns uint8 (S, S, 3).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from artstyle.data.synth.abstract import (paint_abstract_expressionism, paint_action_painting, paint_color_field,
                                          paint_minimalism)
from artstyle.data.synth.cubist import paint_cubist
from artstyle.data.synth.graphic import paint_art_nouveau, paint_naive, paint_pop_art, paint_ukiyo_e
from artstyle.data.synth.impressionist import paint_expressionism, paint_fauvism, paint_impressionist
from artstyle.data.synth.old_masters import (paint_baroque, paint_renaissance, paint_rococo, paint_romanticism,
                                             paint_symbolism)
from artstyle.data.synth.primitives import F32, finish
from artstyle.data.synth.realist import paint_realism
from artstyle.styles import STYLE_NAMES

# Related styles share one painter with different parameters, so they are confusable the way the real ones are.
_PAINTERS: dict[str, tuple[Callable[..., np.ndarray], dict[str, Any]]] = {
    "Abstract_Expressionism": (paint_abstract_expressionism, {}),
    "Action_painting": (paint_action_painting, {}),
    "Analytical_Cubism": (paint_cubist, {"kind": "analytical"}),
    "Art_Nouveau_Modern": (paint_art_nouveau, {}),
    "Baroque": (paint_baroque, {}),
    "Color_Field_Painting": (paint_color_field, {}),
    "Contemporary_Realism": (paint_realism, {"kind": "contemporary"}),
    "Cubism": (paint_cubist, {"kind": "cubism"}),
    "Early_Renaissance": (paint_renaissance, {"kind": "early"}),
    "Expressionism": (paint_expressionism, {}),
    "Fauvism": (paint_fauvism, {}),
    "High_Renaissance": (paint_renaissance, {"kind": "high"}),
    "Impressionism": (paint_impressionist, {"kind": "impressionism"}),
    "Mannerism_Late_Renaissance": (paint_renaissance, {"kind": "mannerism"}),
    "Minimalism": (paint_minimalism, {}),
    "Naive_Art_Primitivism": (paint_naive, {}),
    "New_Realism": (paint_realism, {"kind": "new"}),
    "Northern_Renaissance": (paint_renaissance, {"kind": "northern"}),
    "Pointillism": (paint_impressionist, {"kind": "pointillism"}),
    "Pop_Art": (paint_pop_art, {}),
    "Post_Impressionism": (paint_impressionist, {"kind": "post"}),
    "Realism": (paint_realism, {"kind": "realism"}),
    "Rococo": (paint_rococo, {}),
    "Romanticism": (paint_romanticism, {}),
    "Symbolism": (paint_symbolism, {}),
    "Synthetic_Cubism": (paint_cubist, {"kind": "synthetic"}),
    "Ukiyo_e": (paint_ukiyo_e, {}),
}

# Grain differs a little by medium: woodblocks and flat Pop/Minimal paint are smoother than oils.
_GRAIN = {"Minimalism": 0.015, "Pop_Art": 0.015, "Ukiyo_e": 0.02, "Color_Field_Painting": 0.02}


def paint(style: str, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """One painting of ``style`` (a folder name from STYLE_NAMES) as uint8 (size, size, 3)."""
    if style not in _PAINTERS:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLE_NAMES)}")
    fn, kwargs = _PAINTERS[style]
    img = np.asarray(fn(rng, size, **kwargs), F32)
    return finish(np.broadcast_to(img, (3, size, size)), rng, _GRAIN.get(style, 0.035))
