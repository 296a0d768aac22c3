"""The ``artstyle run`` settings, importable without torch: PipelineConfig, the per-section settings and
how a profile, a TOML file and ``--data`` combine into every stage's settings.

Usage: ``settings = resolve_settings(PipelineConfig(profile="tiny", config="pipeline.toml"))`` ->
``settings["classify"]`` (ClassifyConfig fields), ``settings["embed"]`` (EmbedTrainConfig fields), ...

A profile (``PROFILES``) gives each stage's settings as a dict of its config fields; a TOML file
(``--config``) overrides any of them per section: ``[data]`` (data, size, label_column, workers),
``[classify]``, ``[judge]`` (ClassifyConfig fields), ``[strategies]`` (strategies, seeds, models and any
ClassifyConfig field, on top of ``[classify]``), ``[embed]`` (EmbedTrainConfig), ``[embeddings]`` (kinds,
split, batch_size), ``[cluster]`` (ClusterConfig; its methods, split, pca_dim, seed, max_points_fit and
hdbscan_min_cluster_size also drive the comparison of kinds), ``[stylize]`` (StylizeConfig; ``init_from =
"embed"``, the demo's, means the ``[embed]`` stage's autoencoder, which needs the same ``width``), ``[lora]``
(LoraTrainConfig) and ``[generate]`` (LoraGenerateConfig). Every stage uses the ``[data]`` source, and its
image size unless the stage's section sets ``size``.
"""

from __future__ import annotations

import copy
import os
import shlex
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from artstyle.classify.config import ClassifyConfig
from artstyle.cluster.config import ClusterConfig
from artstyle.config import load_config, opt, read_toml
from artstyle.embed.config import EmbedTrainConfig
from artstyle.errors import ArtstyleError
from artstyle.lora.config import LoraGenerateConfig, LoraTrainConfig
from artstyle.pipeline.profiles import EMBEDDING_KINDS, PROFILE_NAMES, PROFILES
from artstyle.stylize.config import StylizeConfig


@dataclass
class DataSettings:
    """The ``[data]`` section: the one source every stage uses."""

    data: str = opt("builtin", "Dataset source.")
    size: int = opt(64, "Image size of the cache; every stage's default size.")
    label_column: str = opt("style", "Label column for Hugging Face sources.")
    workers: int = opt(0, "Decoding processes for the cache (0 = all cores).")


@dataclass
class StrategySettings:
    """The pipeline-only keys of ``[strategies]`` (the rest are ClassifyConfig fields)."""

    strategies: list[str] = opt([], "Imbalance strategies to compare (empty = skip the stage).")
    seeds: int = opt(1, "Seeds per strategy.")
    models: list[str] = opt([], "Models (default: the classifier's).")


@dataclass
class EmbeddingSettings:
    """The ``[embeddings]`` section."""

    kinds: list[str] = opt(list(EMBEDDING_KINDS), "Embedding kinds to export.")
    split: str = opt("all", "Images to embed: all, train, val or test.")
    batch_size: int = opt(256, "Images per forward pass.")


@dataclass
class PipelineConfig:
    """Settings of ``artstyle run``. Empty values: the profile's, or the saved ones when resuming ``--out``."""

    data: str = opt("", "Dataset for every stage (default: the profile's, builtin:<scale>, SYNTHETIC).")
    profile: str = opt("", "Settings profile: tiny (tests, ~1 min), demo (make demo: <= 15 min on 2 CPU cores), "
                           "full (real use: 128 px, long training). Default: demo.")
    config: str = opt("", "TOML file overriding any stage's settings: sections [data], [classify], [judge], "
                          "[strategies], [embed], [embeddings], [cluster], [stylize], [lora], [generate].")
    pretrained: str = opt("", "Base text-to-image model for the LoRA stage (hub id or diffusers folder); "
                              "without it LoRA is skipped.")
    out: str = opt("", "Pipeline directory (default: runs/pipeline/<timestamp>-<profile>/). An existing "
                       "pipeline directory is resumed: stages already done are skipped.")
    progress: bool = opt(True, "Show progress bars and per-epoch lines.")


# Section -> the dataclass that validates it.
SECTION_CONFIGS: dict[str, type] = {
    "data": DataSettings, "classify": ClassifyConfig, "judge": ClassifyConfig, "strategies": ClassifyConfig,
    "embed": EmbedTrainConfig, "embeddings": EmbeddingSettings, "cluster": ClusterConfig, "stylize": StylizeConfig,
    "lora": LoraTrainConfig, "generate": LoraGenerateConfig}
SECTIONS = tuple(SECTION_CONFIGS)
# Set by the pipeline itself; a TOML file may not set them.
_RESERVED = {
    "classify": {"data", "out", "resume", "overwrite", "cache"},
    "judge": {"data", "out", "resume", "overwrite", "cache"},
    "strategies": {"data", "out", "resume", "overwrite", "cache", "name"},
    "embed": {"data", "out", "resume", "overwrite", "cache"},
    "cluster": {"embeddings", "out", "overwrite"},
    "stylize": {"data", "out", "resume", "overwrite", "cache", "classifier", "judge"},
    "lora": {"data", "out", "resume", "overwrite"},
    "generate": {"run", "out"},
}


def _read_toml(path: str) -> dict[str, dict[str, Any]]:
    p, data = Path(path), read_toml(path)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ArtstyleError(f"--config {p}: unknown section(s) [{'], ['.join(unknown)}]; known: "
                            f"[{'], ['.join(SECTIONS)}]")
    for name, section in data.items():
        if not isinstance(section, dict):
            raise ArtstyleError(f"--config {p}: '{name}' must be a [section] of settings")
        bad = sorted(set(section) & _RESERVED.get(name, set()))
        if bad:
            where = "--data or [data] data" if bad == ["data"] else "the pipeline"
            raise ArtstyleError(f"--config {p}: [{name}] may not set {', '.join(bad)}; {where} sets it")
    return data


def resolve_settings(cfg: PipelineConfig) -> dict[str, dict[str, Any]]:
    """Every section's settings: the profile, then the TOML file, then ``--data``; sizes and progress filled in.

    Each section is checked against its config class, so a typo fails before any stage runs.
    """
    profile = cfg.profile or "demo"
    if profile not in PROFILES:
        raise ArtstyleError(f"--profile {profile!r} is not one of: {', '.join(PROFILE_NAMES)}")
    settings = copy.deepcopy(PROFILES[profile])
    for s in SECTIONS:
        settings.setdefault(s, {})
    if cfg.config:
        for name, section in _read_toml(cfg.config).items():
            settings[name].update(section)
    if cfg.data:
        settings["data"]["data"] = cfg.data
    data = settings["data"]
    _check_section("data", data, DataSettings)
    data.update(DataSettings(**data).__dict__)  # fill the defaults in, so the fingerprint is explicit
    common = {"data": data["data"], "label_column": data["label_column"]}
    for name in ("classify", "judge", "embed", "stylize"):
        settings[name] = {**common, "size": data["size"], **settings[name], "progress": cfg.progress}
    strat_keys = {f.name for f in fields(StrategySettings)}
    strat = {k: v for k, v in settings["strategies"].items() if k in strat_keys}
    settings["strategies"] = {**settings["classify"], **{k: v for k, v in settings["strategies"].items()
                                                         if k not in strat_keys}, **strat}
    settings["lora"] = {"data": data["data"], "label_column": data["label_column"], **settings["lora"],
                        "progress": cfg.progress}
    settings["generate"] = {**settings["generate"], "progress": cfg.progress}
    if cfg.pretrained:
        settings["lora"]["pretrained"] = cfg.pretrained
    _check_sections(settings, strat_keys)
    return settings


def _check_sections(settings: dict[str, dict[str, Any]], strat_keys: set[str]) -> None:
    """Every section against its config class (with the keys the pipeline fills in itself stubbed)."""
    for name in SECTIONS:
        if name == "strategies":
            _check_section(name, {k: v for k, v in settings[name].items() if k not in strat_keys}, SECTION_CONFIGS[name])
            _check_section(name, {k: v for k, v in settings[name].items() if k in strat_keys}, StrategySettings)
        elif name == "cluster":
            _check_section(name, {**settings[name], "embeddings": "x.npz"}, SECTION_CONFIGS[name])
        elif name == "generate":
            _check_section(name, {**settings[name], "run": "x"}, SECTION_CONFIGS[name])
        elif name != "data":  # checked first, before its defaults were filled in
            _check_section(name, settings[name], SECTION_CONFIGS[name])
    unknown_kinds = sorted(set(settings["embeddings"].get("kinds", EMBEDDING_KINDS)) - set(EMBEDDING_KINDS))
    if unknown_kinds:
        raise ArtstyleError(f"[embeddings] kinds: {', '.join(unknown_kinds)} unknown; known: {', '.join(EMBEDDING_KINDS)}")


def _check_section(name: str, values: dict[str, Any], cls: type) -> None:
    try:
        load_config(cls, overrides=values)
    except ArtstyleError as exc:
        raise ArtstyleError(f"[{name}] settings: {exc}") from None
    except TypeError as exc:  # a value of the wrong type
        raise ArtstyleError(f"[{name}] settings: {exc}") from None


def pipeline_command(cfg: PipelineConfig) -> str:
    """The ``artstyle run`` command line that reproduces ``cfg`` (into a new directory)."""
    parts = ["artstyle", "run", "--profile", cfg.profile or "demo"]
    for flag, value in (("--data", cfg.data), ("--config", cfg.config), ("--pretrained", cfg.pretrained)):
        if value:
            parts += [flag, value]
    threads = os.environ.get("ARTSTYLE_THREADS")
    if threads:
        parts[1:1] = ["--threads", threads]
    return " ".join(shlex.quote(p) for p in parts)


__all__ = ["DataSettings", "EmbeddingSettings", "PipelineConfig", "SECTIONS", "StrategySettings", "pipeline_command",
           "resolve_settings"]
