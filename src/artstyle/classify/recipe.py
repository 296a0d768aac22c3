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
TEXTURE_CACHE_FACTOR, TEXTURE_CACHE_CAP = 4, 256
"""The texture model's default cache side is this many times ``--size`` (256 px for 64 px crops, where prediction
averages a 5 x 5 grid: docs/results.md, section 7, 64 px crops beat 128 px crops at equal budget), but no more
than the cap unless that is under twice ``--size`` (a 128 px input gets a 256 px cache, not 512: 16 GB for all
of WikiArt instead of 64)."""


def texture_cache_size(size: int) -> int:
    """The texture model's default ``--cache-size`` for a ``size`` px input."""
    return max(2 * size, min(TEXTURE_CACHE_FACTOR * size, TEXTURE_CACHE_CAP))


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
    ``texture_cache_size(--size)`` (or the size of the prepared ``--cache``); and
    ``--imbalance auto`` -> ``resample`` for ``texture`` (its features learn the tail from the first step; cRT's
    first stage never saw it), ``crt`` otherwise (docs/results.md, sections 1 and 7); ``--keep auto`` -> ``last``
    for ``texture`` (its validation score, one centre crop per image, ranks epochs too noisily), ``best``
    otherwise and for cRT (which weighs its re-trained head against stage 1's best score); ``--picture-stats
    auto`` -> ``on`` for ``texture`` (section 7, seventeenth session), ``off`` otherwise."""
    model = cfg.model
    if model == "auto":
        model = "resnet" if data_is_synthetic(cfg.data, cfg.cache) else "texture"
    size = cfg.size or (TEXTURE_SIZE if model == "texture" else WHOLE_SIZE)
    cache_size = cfg.cache_size
    if model == "texture" and cache_size == 0:
        meta = Path(cfg.cache) / "meta.json" if cfg.cache else None
        cache_size = int(read_json(meta)["size"]) if meta and meta.is_file() else texture_cache_size(size)
    imbalance = cfg.imbalance if cfg.imbalance != "auto" else ("resample" if model == "texture" else "crt")
    keep = cfg.keep if cfg.keep != "auto" else ("last" if model == "texture" and imbalance != "crt" else "best")
    picture = cfg.picture_stats if cfg.picture_stats != "auto" else ("on" if model == "texture" else "off")
    return replace(cfg, model=model, size=size, cache_size=cache_size, imbalance=imbalance, keep=keep,
                   picture_stats=picture)


__all__ = ["TEXTURE_CACHE_CAP", "TEXTURE_CACHE_FACTOR", "texture_cache_size", "TEXTURE_SIZE", "WHOLE_SIZE", "data_is_synthetic", "resolve_recipe"]
