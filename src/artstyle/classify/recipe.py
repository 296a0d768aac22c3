"""The default recipe follows the data: texture crops for real pictures, whole images for the built-in set.

Usage: ``cfg = resolve_recipe(cfg)`` at the start of training; the run records the resolved values.

On real paintings and photographs, style lives in fine texture (brushwork, grain, edges), which a whole-image
downscale throws away; the ``texture`` network on native-scale crops of a larger cache is the default there
(docs/results.md, "Style is texture"). The built-in painters differ mostly in colour layout, which a whole
128 px image shows, so ``--model auto`` keeps the residual network on whole images for them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from artstyle.classify.config import ClassifyConfig
from artstyle.constants import SYNTHETIC_MARKER
from artstyle.runs import read_json

TEXTURE_SIZE, WHOLE_SIZE = 64, 128
"""``--size 0``: the texture model's crops, and the other models' whole images."""
TEXTURE_CACHE_FACTOR = 4
"""The texture model's default cache side is this many times ``--size`` (256 px for 64 px crops): prediction
averages a 5 x 5 grid of crops (docs/results.md, section 7: 64 px crops beat 128 px crops at equal budget)."""


def data_is_synthetic(data: str, cache: str = "") -> bool:
    """Whether ``--data`` (or the prepared ``--cache``) is artstyle's built-in, procedurally painted dataset."""
    if cache:
        meta = Path(cache) / "meta.json"
        return bool(meta.is_file() and read_json(meta).get("synthetic"))
    if data == "builtin" or data.startswith("builtin:"):
        return True
    return Path(data, SYNTHETIC_MARKER).is_file()


def resolve_recipe(cfg: ClassifyConfig) -> ClassifyConfig:
    """``--model auto`` -> ``texture`` on real data, ``resnet`` on the built-in dataset; ``--size 0`` -> 64 px
    crops for ``texture``, 128 px whole images otherwise; for ``texture`` a ``--cache-size 0`` ->
    ``TEXTURE_CACHE_FACTOR x --size`` (or the size of the prepared ``--cache``); and
    ``--imbalance auto`` -> ``resample`` for ``texture`` (its features learn the tail from the first step; cRT's
    first stage never saw it), ``crt`` otherwise (docs/results.md, sections 1 and 7)."""
    model = cfg.model
    if model == "auto":
        model = "resnet" if data_is_synthetic(cfg.data, cfg.cache) else "texture"
    size = cfg.size or (TEXTURE_SIZE if model == "texture" else WHOLE_SIZE)
    cache_size = cfg.cache_size
    if model == "texture" and cache_size == 0:
        meta = Path(cfg.cache) / "meta.json" if cfg.cache else None
        cache_size = int(read_json(meta)["size"]) if meta and meta.is_file() else TEXTURE_CACHE_FACTOR * size
    imbalance = cfg.imbalance if cfg.imbalance != "auto" else ("resample" if model == "texture" else "crt")
    return replace(cfg, model=model, size=size, cache_size=cache_size, imbalance=imbalance)


__all__ = ["TEXTURE_CACHE_FACTOR", "TEXTURE_SIZE", "WHOLE_SIZE", "data_is_synthetic", "resolve_recipe"]
