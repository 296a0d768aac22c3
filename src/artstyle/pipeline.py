"""The main job: every stage in order, into one resumable pipeline run directory, then the report.

Usage::

    run = run_pipeline(PipelineConfig(profile="demo"))                # runs/pipeline/<timestamp>-demo/
    run_pipeline(PipelineConfig(out=str(run)))                         # resume: stages already done are skipped

    artstyle run --profile tiny|demo|full [--data SRC] [--config pipeline.toml] [--pretrained ID] [--out DIR]

The stages (``STAGES``), each writing its run directory under ``<pipeline>/stages/<stage>/``:

 1. ``data``        prepare the decode-once cache (its run directory is the cache, shared between runs);
 2. ``stats``       class counts, imbalance, bar chart and sample grid;
 3. ``classify``    the style classifier; its features are an embedding kind and it is the stylizer's loss network;
 4. ``judge``       a second classifier, another architecture and seed: the stylizer's independent judge;
 5. ``strategies``  a short equal-budget comparison of imbalance strategies (skipped when the profile lists none);
 6. ``embed``       the autoencoder, against a PCA baseline;
 7. ``embeddings``  embeddings files: ae, classifier, pixels, color-hist;
 8. ``cluster``     the ae embeddings clustered with 2-D maps, and every kind compared against chance;
 9. ``stylize``     the style-conditioned re-renderer, trained against ``classify`` and evaluated by ``judge``;
10. ``lora``        LoRA fine-tuning and per-style grids, only with ``--pretrained`` (or ``pretrained`` in ``[lora]``);
11. ``report``      ``report.md`` and a self-contained ``report.html`` in the pipeline directory.

``pipeline.json`` records every stage: status (done / skipped / failed), run directory, seconds, the
command that reproduces it and a fingerprint of its settings. Running again with ``--out`` of an existing
pipeline skips every stage that is done, whose settings are unchanged, whose run directory still exists
and whose inputs were not re-made in this invocation; the rest run again from scratch. A failed stage
does not stop the stages that do not depend on it; the command then exits with an error naming it.

Settings: a profile (``PROFILES``: ``tiny`` for tests, ``demo`` for ``make demo`` on 2 CPU cores,
``full`` for real use) gives each stage's settings as a dict of its config fields; a TOML file
(``--config``) overrides any of them per section: ``[data]`` (data, size, label_column, workers),
``[classify]``, ``[judge]`` (ClassifyConfig fields), ``[strategies]`` (strategies, seeds, models and any
ClassifyConfig field, on top of ``[classify]``), ``[embed]`` (EmbedTrainConfig), ``[embeddings]`` (kinds,
split, batch_size), ``[cluster]`` (ClusterConfig; its methods, split, pca_dim, seed, max_points_fit and
hdbscan_min_cluster_size also drive the comparison of kinds), ``[stylize]`` (StylizeConfig), ``[lora]``
(LoraTrainConfig) and ``[generate]`` (LoraGenerateConfig). Every stage uses the ``[data]`` source, and its
image size unless the stage's section sets ``size``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
import traceback
from datetime import datetime
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterator

from artstyle.config import config_dict, opt, read_toml
from artstyle.errors import ArtstyleError

PIPELINE_VERSION = 1
EMBEDDING_KINDS = ("ae", "classifier", "pixels", "color-hist")

# (key, title, stages whose outputs it reads). The order is the run order.
STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("data", "prepare the cache", ()),
    ("stats", "dataset statistics", ("data",)),
    ("classify", "classifier", ("data",)),
    ("judge", "second classifier (the stylizer's judge)", ("data",)),
    ("strategies", "imbalance strategies compared", ("data",)),
    ("embed", "autoencoder", ("data",)),
    ("embeddings", "embeddings", ("classify", "embed")),
    ("cluster", "clustering and maps", ("embeddings",)),
    ("stylize", "stylizer", ("classify", "judge")),
    ("lora", "LoRA", ("data",)),
    ("report", "report", ("data", "stats", "classify", "judge", "strategies", "embed", "embeddings", "cluster",
                          "stylize", "lora")),
)
STAGE_KEYS = tuple(k for k, _, _ in STAGES)

# Keys that change how a stage runs but not what it computes: left out of the resume fingerprint.
_VOLATILE = {"progress", "workers", "threads", "batch"}

# ---------------------------------------------------------------- profiles

_KINDS = list(EMBEDDING_KINDS)

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    # For tests: ~300 images at 32 px, a few optimiser steps per stage; end to end in well under 2 minutes
    # on 2 CPU cores. The numbers mean nothing; every code path and every report section runs.
    "tiny": {
        "data": {"data": "builtin:0.02", "size": 32},
        "classify": {"width": 8, "epochs": 1, "max_steps_per_epoch": 3, "batch_size": 32, "workers": 0,
                     "per_class": 16},
        "judge": {"model": "simple-cnn", "width": 8, "seed": 1000, "epochs": 1, "max_steps_per_epoch": 3,
                  "batch_size": 32, "workers": 0},
        "strategies": {"strategies": ["none", "logit-adjust"], "seeds": 1, "max_steps_per_epoch": 2},
        "embed": {"latent_dim": 32, "width": 8, "epochs": 1, "max_steps_per_epoch": 3, "batch_size": 32,
                  "workers": 0, "pca_samples": 64, "patience": 0},
        "embeddings": {"kinds": _KINDS, "split": "all"},
        "cluster": {"methods": ["kmeans", "gmm"], "maps": ["pca"], "projector": False, "split": "all"},
        "stylize": {"width": 8, "blocks": 1, "epochs": 1, "max_steps_per_epoch": 3, "batch_size": 16,
                    "workers": 0, "eval_pairs": 54},
        "lora": {"resolution": 32, "max_steps": 2, "batch_size": 1, "gradient_accumulation": 1, "validate_every": 0,
                 "checkpoint_every": 0, "workers": 0, "validation_inference_steps": 2, "log_every": 1},
        "generate": {"n": 1, "steps": 2, "compare": True, "batch": 2},
    },
    # For `make demo`: at most 15 minutes and < 4 GB on 2 CPU cores. 64 px keeps palette and composition;
    # fixed-length epochs (max_steps_per_epoch) let each cosine schedule finish, and time_budget caps every
    # training stage when the machine is slower or busier than expected.
    "demo": {
        "data": {"data": "builtin:0.3", "size": 64},
        # resample: in runs this short it beat logit-adjust and none on balanced accuracy (the strategies stage
        # below measures it again every time).
        "classify": {"width": 16, "epochs": 10, "max_steps_per_epoch": 40, "batch_size": 64, "time_budget": 120,
                     "imbalance": "resample", "per_class": 100},
        "judge": {"model": "simple-cnn", "width": 16, "seed": 1000, "epochs": 8, "max_steps_per_epoch": 30,
                  "batch_size": 64, "time_budget": 60},
        "strategies": {"strategies": ["none", "resample", "crt"], "seeds": 1, "epochs": 4,
                       "max_steps_per_epoch": 25, "time_budget": 40},
        "embed": {"width": 16, "latent_dim": 256, "epochs": 8, "max_steps_per_epoch": 30, "batch_size": 64,
                  "time_budget": 90, "pca_samples": 600, "patience": 0},
        "embeddings": {"kinds": _KINDS, "split": "all"},
        # Held-out images only: classifier features of training images would flatter the classifier kind.
        "cluster": {"split": "test", "projector": True},
        "stylize": {"width": 16, "blocks": 2, "epochs": 5, "max_steps_per_epoch": 30, "batch_size": 32,
                    "time_budget": 150, "eval_pairs": 200},
        "lora": {"resolution": 256, "max_steps": 200, "validate_every": 100, "checkpoint_every": 100},
        "generate": {"n": 2, "steps": 20, "compare": True},
    },
    # For real use (a GPU, real WikiArt): 128 px, long training with early stopping, every strategy.
    "full": {
        "data": {"data": "builtin", "size": 128},
        "classify": {"epochs": 40, "patience": 6},
        "judge": {"model": "simple-cnn", "seed": 1000, "epochs": 30, "patience": 6},
        "strategies": {"strategies": ["none", "resample", "weighted-loss", "logit-adjust", "crt"], "seeds": 1,
                       "epochs": 20, "patience": 5},
        "embed": {"size": 64, "epochs": 40, "patience": 5},
        "embeddings": {"kinds": _KINDS, "split": "all"},
        "cluster": {"split": "test"},
        "stylize": {"epochs": 30, "patience": 5},
        "lora": {"resolution": 512, "max_steps": 3000, "validate_every": 500, "checkpoint_every": 500,
                 "gradient_checkpointing": True},
        "generate": {"n": 4, "steps": 30, "compare": True},
    },
}
PROFILE_NAMES = tuple(PROFILES)


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


# ---------------------------------------------------------------- settings


def _config_classes() -> dict[str, type]:
    """Section -> the dataclass that validates it (imported here: the stage modules import torch)."""
    from artstyle.classify import ClassifyConfig
    from artstyle.cluster import ClusterConfig
    from artstyle.embed import EmbedTrainConfig
    from artstyle.lora import LoraGenerateConfig, LoraTrainConfig
    from artstyle.stylize import StylizeConfig

    return {"data": DataSettings, "classify": ClassifyConfig, "judge": ClassifyConfig, "strategies": ClassifyConfig,
            "embed": EmbedTrainConfig, "embeddings": EmbeddingSettings, "cluster": ClusterConfig,
            "stylize": StylizeConfig, "lora": LoraTrainConfig, "generate": LoraGenerateConfig}


SECTIONS = ("data", "classify", "judge", "strategies", "embed", "embeddings", "cluster", "stylize", "lora", "generate")
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
    classes = _config_classes()
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
    for name in SECTIONS:
        if name == "strategies":
            _check_section(name, {k: v for k, v in settings[name].items() if k not in strat_keys}, classes[name])
            _check_section(name, {k: v for k, v in settings[name].items() if k in strat_keys}, StrategySettings)
        elif name == "cluster":
            _check_section(name, {**settings[name], "embeddings": "x.npz"}, classes[name])
        elif name == "generate":
            _check_section(name, {**settings[name], "run": "x"}, classes[name])
        else:
            _check_section(name, settings[name], classes[name])
    unknown_kinds = sorted(set(settings["embeddings"].get("kinds", EMBEDDING_KINDS)) - set(EMBEDDING_KINDS))
    if unknown_kinds:
        raise ArtstyleError(f"[embeddings] kinds: {', '.join(unknown_kinds)} unknown; known: {', '.join(EMBEDDING_KINDS)}")
    return settings


def _check_section(name: str, values: dict[str, Any], cls: type) -> None:
    from artstyle.config import load_config

    try:
        load_config(cls, overrides=values)
    except ArtstyleError as exc:
        raise ArtstyleError(f"[{name}] settings: {exc}") from None
    except TypeError as exc:  # a value of the wrong type
        raise ArtstyleError(f"[{name}] settings: {exc}") from None


def _fingerprint(values: Any) -> str:
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in sorted(v.items()) if k not in _VOLATILE}
        return v

    return hashlib.sha1(json.dumps(strip(values), sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- state


@dataclass
class _Context:
    cfg: PipelineConfig
    settings: dict[str, dict[str, Any]]
    run: Path
    state: dict[str, Any]
    console: Any

    def stage_dir(self, key: str) -> Path:
        return self.run / "stages" / key

    def output(self, key: str) -> dict[str, Any]:
        return self.state["stages"].get(key, {})

    def save(self) -> None:
        from artstyle.runs import write_json

        self.state["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        write_json(self.run / "pipeline.json", self.state)


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the block only."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def pipeline_command(cfg: PipelineConfig) -> str:
    """The ``artstyle run`` command line that reproduces ``cfg`` (into a new directory)."""
    import shlex

    parts = ["artstyle", "run", "--profile", cfg.profile or "demo"]
    for flag, value in (("--data", cfg.data), ("--config", cfg.config), ("--pretrained", cfg.pretrained)):
        if value:
            parts += [flag, value]
    threads = os.environ.get("ARTSTYLE_THREADS")
    if threads:
        parts[1:1] = ["--threads", threads]
    return " ".join(shlex.quote(p) for p in parts)


def _open_pipeline(cfg: PipelineConfig) -> tuple[Path, dict[str, Any], PipelineConfig]:
    """Create the pipeline directory, or reopen an existing one (unset options then come from its config)."""
    from artstyle.runs import create_run, read_json

    if cfg.out:
        run = Path(cfg.out)
        if (run / "pipeline.json").is_file():
            state = read_json(run / "pipeline.json")
            if state.get("version") != PIPELINE_VERSION:
                raise ArtstyleError(f"{run}/pipeline.json has format {state.get('version')}, this artstyle writes "
                                    f"{PIPELINE_VERSION}; choose another --out")
            # Options not given again come from the earlier invocation, so `artstyle run --out DIR` resumes as is.
            saved = state.get("config", {})
            inherited = {k: getattr(cfg, k) or saved.get(k) or "" for k in ("data", "profile", "config", "pretrained")}
            return run, state, PipelineConfig(**{**config_dict(cfg), **inherited})
        if run.exists() and (not run.is_dir() or any(run.iterdir())):
            raise ArtstyleError(f"--out {run} exists and is not an artstyle pipeline directory (no pipeline.json); "
                                "choose an empty or new directory")
        run.mkdir(parents=True, exist_ok=True)
    else:
        run = create_run("pipeline", cfg.profile or "demo")
    return run, {"version": PIPELINE_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": {}}, cfg


# ---------------------------------------------------------------- stages


def _classify_cfg(values: dict[str, Any], out: Path) -> Any:
    from artstyle.classify import ClassifyConfig

    return ClassifyConfig(**{**values, "out": str(out)})


def _stage_data(ctx: _Context) -> dict[str, Any]:
    from artstyle.data.cache import prepare_cache

    d = ctx.settings["data"]
    cache = prepare_cache(d["data"], size=d["size"], label_column=d["label_column"], workers=d["workers"] or None,
                          progress=ctx.cfg.progress)
    ctx.state["synthetic"] = cache.synthetic
    ctx.console.print(f"{len(cache.labels):,} images of {len(cache.classes)} classes at {cache.size} px"
                      + (" ([bold red]SYNTHETIC[/] built-in data)" if cache.synthetic else f" from {_e(cache.source)}"))
    return {"run": str(cache.root), "synthetic": cache.synthetic, "images": int(len(cache.labels)),
            "classes": len(cache.classes),
            "command": f"artstyle data prepare --data {_q(d['data'])} --size {d['size']}"
                       + (f" --label-column {_q(d['label_column'])}" if d["label_column"] != "style" else "")}


def _e(value: Any) -> str:
    """``value`` as text that rich prints literally (paths and messages may hold [brackets])."""
    from rich.markup import escape

    return escape(str(value))


def _q(value: Any) -> str:
    import shlex

    return shlex.quote(str(value))


def _stage_stats(ctx: _Context) -> dict[str, Any]:
    from artstyle.data.cache import prepare_cache
    from artstyle.data.stats import write_stats
    from artstyle.runs import read_json

    d = ctx.settings["data"]
    cache = prepare_cache(d["data"], size=d["size"], label_column=d["label_column"], progress=False)
    out = ctx.stage_dir("stats")
    write_stats(cache, out)
    st = read_json(out / "stats.json")
    ctx.console.print(f"train imbalance {st['imbalance_ratio']:.0f}:1, majority class {_e(st['majority_class'])}; "
                      f"splits: {', '.join(f'{k} {v:,}' for k, v in st['totals'].items())}")
    return {"run": str(out), "command": f"artstyle data stats --data {_q(d['data'])} --size {d['size']} --out {_q(out)} --overwrite"}


def _classifier_summary(ctx: _Context, run: Path) -> None:
    from artstyle.runs import read_json

    m = read_json(run / "metrics.json")
    b = m["baselines"]
    ctx.console.print(f"test: balanced accuracy {100 * m['balanced_accuracy']:.1f}% (chance "
                      f"{100 * b['chance_balanced_accuracy']:.1f}%), accuracy {100 * m['accuracy']:.1f}% (majority "
                      f"class {100 * b['majority_accuracy']:.1f}%), macro-F1 {100 * m['macro_f1']:.1f}%")


def _stage_classify(ctx: _Context, key: str = "classify") -> dict[str, Any]:
    from artstyle.classify import train_classifier
    from artstyle.report import stage_command

    run = train_classifier(_classify_cfg(ctx.settings[key], ctx.stage_dir(key)))
    _classifier_summary(ctx, run)
    return {"run": str(run), "command": stage_command(run)}


def _stage_judge(ctx: _Context) -> dict[str, Any]:
    return _stage_classify(ctx, "judge")


def _stage_strategies(ctx: _Context) -> dict[str, Any]:
    from artstyle.classify import ClassifyConfig, compare_strategies
    from artstyle.report import stage_command
    from artstyle.runs import read_json

    values = dict(ctx.settings["strategies"])
    strategies, seeds, models = values.pop("strategies"), values.pop("seeds", 1), values.pop("models", []) or None
    base = ClassifyConfig(**values)
    # compare_strategies writes to runs/classify/<ts>-compare/ under ARTSTYLE_RUNS: point that into the pipeline.
    with _env("ARTSTYLE_RUNS", str(ctx.stage_dir("strategies"))):
        run = compare_strategies(base, strategies, seeds, models)
    for row in read_json(run / "comparison.json")["summary"]:
        ctx.console.print(f"{row['model']} / {row['strategy']}: balanced accuracy "
                          f"{100 * row['balanced_accuracy']:.1f}%, tail recall {100 * row['tail_recall']:.1f}%")
    return {"run": str(run), "command": stage_command(run)}


def _stage_embed(ctx: _Context) -> dict[str, Any]:
    from artstyle.embed import EmbedTrainConfig, train_autoencoder
    from artstyle.report import stage_command
    from artstyle.runs import read_json

    run = train_autoencoder(EmbedTrainConfig(**{**ctx.settings["embed"], "out": str(ctx.stage_dir("embed"))}))
    m = read_json(run / "metrics.json")
    ctx.console.print(f"validation PSNR: autoencoder {m['autoencoder']['psnr']:.2f} dB, PCA "
                      f"{m['pca_baseline']['psnr']:.2f} dB ({m['latent_dim']} dimensions each)")
    return {"run": str(run), "command": stage_command(run)}


def _stage_embeddings(ctx: _Context) -> dict[str, Any]:
    from artstyle.embed import export_embeddings

    s = ctx.settings["embeddings"]
    kinds = list(dict.fromkeys(s.get("kinds", EMBEDDING_KINDS)))
    split = s.get("split", "all")
    out = ctx.stage_dir("embeddings")
    out.mkdir(parents=True, exist_ok=True)
    data = ctx.settings["data"]["data"]
    runs = {"ae": Path(ctx.output("embed")["run"]), "classifier": Path(ctx.output("classify")["run"])}
    size = ctx.settings["embed"]["size"]  # pixels and color-hist reuse the autoencoder's cache
    files, commands = {}, []
    for kind in kinds:
        run = runs.get(kind)
        path = export_embeddings(data, kind, run=run, split=split, out=out / f"{kind}.npz",
                                 size=None if run else size, batch_size=s.get("batch_size", 256),
                                 progress=ctx.cfg.progress)
        files[kind] = str(path)
        commands.append(f"artstyle embed export --data {_q(data)} --kind {kind}"
                        + (f" --run {_q(run)}" if run else f" --size {size}") + f" --split {split} --out {_q(path)}")
    ctx.console.print(f"{len(files)} embeddings files: {', '.join(files)}")
    return {"run": str(out), "files": files, "command": "\n".join(commands)}


def _stage_cluster(ctx: _Context) -> dict[str, Any]:
    from artstyle.cluster import ClusterConfig, cluster_embeddings, compare_embeddings
    from artstyle.report import cluster_answer, stage_command
    from artstyle.runs import read_json

    s = ctx.settings["cluster"]
    files = ctx.output("embeddings")["files"]
    kind = "ae" if "ae" in files else next(iter(files))
    out = ctx.stage_dir("cluster")
    cfg = ClusterConfig(**{**s, "embeddings": files[kind], "out": str(out / kind)})
    run = cluster_embeddings(cfg)
    result = {"run": str(out), "runs": {"cluster": str(run)}, "command": stage_command(run)}
    if len(files) > 1:
        keys = ("methods", "n_clusters", "pca_dim", "split", "seed", "max_points_fit", "hdbscan_min_cluster_size")
        args = {k: getattr(cfg, k) for k in keys}
        cmp_run = compare_embeddings(list(files.values()), out=out / "compare", print_table=ctx.cfg.progress, **args)
        result["runs"]["compare"] = str(cmp_run)
        result["command"] += "\n" + stage_command(cmp_run)
        ctx.console.print(_e(cluster_answer(read_json(cmp_run / "comparison.json"), None)))
    return result


def _stage_stylize(ctx: _Context) -> dict[str, Any]:
    from artstyle.report import stage_command
    from artstyle.runs import read_json
    from artstyle.stylize import StylizeConfig, train_stylizer

    values = {**ctx.settings["stylize"], "classifier": ctx.output("classify")["run"],
              "judge": ctx.output("judge")["run"], "out": str(ctx.stage_dir("stylize"))}
    run = train_stylizer(StylizeConfig(**values))
    ev = (read_json(run / "metrics.json") or {}).get("evaluation")
    if ev:
        m = ev["methods"]["stylizer"]
        ctx.console.print(f"judge hit rate on the target style {100 * m['hit_rate']:.1f}% (chance "
                          f"{100 * ev['chance_hit_rate']:.1f}%), SSIM to the input {m['ssim']:.3f}")
    return {"run": str(run), "command": stage_command(run)}


def _lora_wanted(ctx: _Context) -> bool:
    return bool(ctx.cfg.pretrained or "pretrained" in ctx.settings["lora"])


def _stage_lora(ctx: _Context) -> dict[str, Any]:
    from artstyle.lora import LoraGenerateConfig, LoraTrainConfig, generate, train_lora
    from artstyle.report import stage_command
    from artstyle.runs import read_json

    out = ctx.stage_dir("lora")
    run = train_lora(LoraTrainConfig(**{**ctx.settings["lora"], "out": str(out / "train")}))
    gen = dict(ctx.settings["generate"])
    if not gen.get("styles"):  # up to 4 styles spread over the list, so the grid shows contrasting ones
        classes = read_json(run / "classes.json")["classes"]
        step = max(1, len(classes) // 4)
        gen["styles"] = classes[::step][:4]
    gen_dir = generate(LoraGenerateConfig(**{**gen, "run": str(run)}))
    return {"run": str(run), "runs": {"train": str(run), "generate": str(gen_dir)},
            "command": stage_command(run) + "\n" + stage_command(gen_dir)}


def _stage_report(ctx: _Context) -> dict[str, Any]:
    from artstyle.report import write_report

    out = write_report([ctx.run], ctx.run)
    return {"run": str(out / "report.html"), "report_md": str(out / "report.md"),
            "command": f"artstyle report {_q(ctx.run)}"}


_RUNNERS: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "data": _stage_data, "stats": _stage_stats, "classify": _stage_classify, "judge": _stage_judge,
    "strategies": _stage_strategies, "embed": _stage_embed, "embeddings": _stage_embeddings,
    "cluster": _stage_cluster, "stylize": _stage_stylize, "lora": _stage_lora, "report": _stage_report,
}

# The settings sections each stage's result depends on (its fingerprint).
_STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "data": ("data",), "stats": ("data",), "classify": ("classify",), "judge": ("judge",),
    "strategies": ("strategies",), "embed": ("embed",), "embeddings": ("embeddings",), "cluster": ("cluster",),
    "stylize": ("stylize",), "lora": ("lora", "generate"), "report": (),
}


def _not_applicable(ctx: _Context, key: str) -> str | None:
    """Why a stage does not apply to these settings (it is then skipped), or None."""
    if key == "strategies" and not ctx.settings["strategies"].get("strategies"):
        return "no strategies to compare in this profile ([strategies] strategies is empty)"
    if key == "lora" and not _lora_wanted(ctx):
        return "no --pretrained model given"
    return None


def _run_dir_exists(record: dict[str, Any]) -> bool:
    run = record.get("run")
    return bool(run) and Path(run).exists()


# ---------------------------------------------------------------- the pipeline


def run_pipeline(cfg: PipelineConfig) -> Path:
    """Run (or resume) every stage; write pipeline.json, config.json and the report. Returns the pipeline dir.

    Raises :class:`ArtstyleError` at the end when a stage failed (after the others and the report ran).
    """
    from rich.console import Console

    from artstyle.dist import is_distributed
    from artstyle.report import collect_environment
    from artstyle.runs import write_json

    if is_distributed():
        raise ArtstyleError("`artstyle run` runs its stages in one process; under accelerate launch / torchrun run "
                            "the stage commands (e.g. `artstyle classify train`) instead")
    t_start = time.perf_counter()
    console = Console(highlight=False)
    run, state, cfg = _open_pipeline(cfg)
    settings = resolve_settings(cfg)
    resumed = bool(state["stages"])
    state.update(config=config_dict(cfg), profile=cfg.profile or "demo", data=settings["data"]["data"],
                 command=pipeline_command(cfg))
    state.setdefault("environment", collect_environment())
    # Assigned, not kept: resuming with another --data re-runs every stage on it.
    state["synthetic"] = settings["data"]["data"].startswith("builtin")
    write_json(run / "config.json", {"config": config_dict(cfg), "settings": settings})
    ctx = _Context(cfg, settings, run, state, console)
    ctx.save()
    console.rule(f"[bold]artstyle run[/] - profile {state['profile']}, data {state['data']}")
    console.print(f"pipeline directory: {_e(run)}" + (" (resuming: stages already done are skipped)" if resumed else ""))
    if state["synthetic"]:
        console.print("[bold red]SYNTHETIC DATA[/]: the built-in procedurally painted stand-in for WikiArt; the "
                      "numbers show that the code works, not how it does on real paintings.")

    ran: set[str] = set()
    failed: dict[str, str] = {}
    n = len(STAGES)
    for i, (key, title, deps) in enumerate(STAGES, 1):
        console.rule(f"[bold][{i}/{n}] {title}[/]", align="left")
        prev = state["stages"].get(key, {})
        fp = _fingerprint({s: settings[s] for s in _STAGE_SECTIONS[key]})
        record: dict[str, Any] = {"title": title, "fingerprint": fp}
        reason = _not_applicable(ctx, key)
        # A dependency that does not apply (no strategies, no LoRA) blocks nothing; the report runs regardless
        # and says which sections are missing.
        blocked = [] if key == "report" else [d for d in deps if _not_applicable(ctx, d) is None
                                               and state["stages"].get(d, {}).get("status") != "done"]
        if reason:
            record.update(status="skipped", reason=reason, seconds=0.0)
            console.print(f"skipped: {_e(reason)}")
        elif blocked:
            record.update(status="skipped", reason=f"needs {', '.join(blocked)}, which did not complete", seconds=0.0)
            console.print(f"[yellow]skipped: {_e(record['reason'])}[/]")
        elif (prev.get("status") == "done" and prev.get("fingerprint") == fp and _run_dir_exists(prev)
              and not (set(deps) & ran)):
            console.print(f"already done in an earlier invocation ({prev.get('seconds', 0):.1f} s): {_e(prev['run'])}")
            continue
        else:
            if prev.get("status") == "done" and prev.get("fingerprint") != fp:
                console.print("settings changed since the earlier invocation: running again")
            stage_dir = ctx.stage_dir(key)
            if stage_dir.exists():  # a failed or outdated attempt: start clean (metrics.jsonl is appended to)
                shutil.rmtree(stage_dir)
            # Milliseconds: a quick stage re-run within the same second must still show a new start time.
            record.update(status="running", started=datetime.now().isoformat(timespec="milliseconds"))
            state["stages"][key] = record
            ctx.save()
            t0 = time.perf_counter()
            try:
                result = _RUNNERS[key](ctx)
            except KeyboardInterrupt:
                record.update(status="failed", error="interrupted", seconds=round(time.perf_counter() - t0, 2))
                ctx.save()
                raise
            except Exception as exc:  # noqa: BLE001 - record it, run what does not depend on it, fail at the end
                record.update(status="failed", error=f"{type(exc).__name__}: {exc}" if not isinstance(exc, ArtstyleError)
                              else str(exc), seconds=round(time.perf_counter() - t0, 2))
                failed[key] = record["error"]
                if isinstance(exc, ArtstyleError) and not os.environ.get("ARTSTYLE_DEBUG"):
                    console.print(f"[bold red]{key} failed:[/] {_e(exc)}")
                else:
                    console.print(f"[bold red]{key} failed:[/]\n{_e(traceback.format_exc())}")
            else:
                record.update(status="done", seconds=round(time.perf_counter() - t0, 2), **result)
                # A cache rebuilt with unchanged settings is byte-identical: what was made from it stays valid.
                if not (key == "data" and prev.get("fingerprint") == fp and prev.get("status") == "done"):
                    ran.add(key)
                console.print(f"[green]done[/] in {_duration(record['seconds'])}: {_e(record['run'])}")
        state["stages"][key] = record
        ctx.save()

    total = time.perf_counter() - t_start
    state["last_invocation_seconds"] = round(total, 2)
    state["total_stage_seconds"] = round(sum(r.get("seconds", 0.0) for r in state["stages"].values()), 2)
    ctx.save()
    _print_summary(ctx, total)
    if failed:
        names = ", ".join(f"{k} ({v})" for k, v in failed.items())
        raise ArtstyleError(f"{len(failed)} stage(s) failed: {names}. Fix the cause and run `artstyle run --out "
                            f"{run}` to resume; stages already done are skipped")
    return run


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)  # round first: 239.96 s is "4 min 00 s", not "3 min 60 s"
    return f"{minutes} min {rest:02d} s"


def _print_summary(ctx: _Context, total: float) -> None:
    from rich.table import Table

    table = Table(title="artstyle run" + (" (SYNTHETIC data)" if ctx.state.get("synthetic") else ""))
    for col in ("#", "stage", "status", "time", "run directory"):
        table.add_column(col, justify="right" if col in ("#", "time") else "left")
    colours = {"done": "green", "skipped": "yellow", "failed": "red"}
    for i, (key, _, _) in enumerate(STAGES, 1):
        r = ctx.state["stages"].get(key, {})
        status = r.get("status", "-")
        table.add_row(str(i), key, f"[{colours.get(status, 'white')}]{status}[/]", _duration(r.get("seconds", 0.0)),
                      _e(r.get("run") or r.get("reason") or r.get("error", "")))
    ctx.console.print(table)
    ctx.console.print(f"total time: {_duration(total)} (this invocation; all stages together "
                      f"{_duration(ctx.state['total_stage_seconds'])})")
    report = ctx.state["stages"].get("report", {})
    if report.get("status") == "done":
        ctx.console.print(f"report: {_e(report['run'])} and {_e(report['report_md'])}")
    ctx.console.print(f"pipeline: {_e(ctx.run)}")


__all__ = ["PROFILES", "PROFILE_NAMES", "STAGES", "PipelineConfig", "pipeline_command", "resolve_settings",
           "run_pipeline"]
