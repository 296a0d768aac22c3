"""What a run written before runs said what they are is, and the command that reproduces it, inferred.

Usage::

    legacy_run_kind(Path("runs/classify/20261128-140000-resnet"))   # "classify", from config.json's keys
    legacy_command(run, "classify")                                  # "artstyle classify train --data ..."

Runs now record ``stage`` and ``command`` in their ``config.json`` (``runs.write_config``), and the report
reads those. Older runs do not: for them alone the kind is guessed from which files exist and which keys
their JSON holds, and the command is rebuilt from the saved config. Nothing else should call this module.
"""

from __future__ import annotations

import shlex
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Sequence

from artstyle.classify.config import ClassifyConfig
from artstyle.cluster.config import ClusterConfig
from artstyle.embed.config import EmbedTrainConfig
from artstyle.errors import ArtstyleError
from artstyle.lora.config import LoraTrainConfig
from artstyle.runs import read_json
from artstyle.stylize.config import StylizeConfig

CLASSIFIER_ARCHS = ("resnet", "texture", "simple-cnn", "inclass")

# Settings that say where or how a run was written, not what it computed: left out of rebuilt commands.
_NOT_REPRODUCED = ("out", "overwrite", "resume", "progress", "cache")


def legacy_run_kind(path: Path) -> str:
    """The kind of a run directory without a recorded ``stage``, from its files and their keys."""
    if (path / "pipeline.json").is_file():
        return "pipeline"
    if (path / "stats.json").is_file():
        return "stats"
    if (path / "comparison.json").is_file():
        cmp = read_json(path / "comparison.json")
        rows = cmp.get("rows", [])
        if (rows and "strategy" in rows[0]) or "summary" in cmp:
            return "strategies"
        return "cluster-compare"
    if (path / "generate.json").is_file():
        return "lora-generate"
    if (path / "config.json").is_file():
        c = read_json(path / "config.json")
        model = c.get("model", {}) if isinstance(c.get("model"), dict) else {}
        if "classifier" in c and "judge" in c:
            return "stylize"
        if "latent_dim" in model:
            return "embed"
        if model.get("arch") in CLASSIFIER_ARCHS:
            return "classify"
        if isinstance(c.get("config"), dict) and "pretrained" in c["config"] and "rank" in c["config"]:
            return "lora"
        if "embeddings" in c and "methods" in c:
            return "cluster"
    raise ArtstyleError(f"{path} is not an artstyle run directory I can report on (expected a pipeline, data stats, "
                        "classify, embed, cluster, stylize or lora run)")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _cli_flags(values: dict[str, Any], cls: type | None, drop: Sequence[str] = ()) -> list[str]:
    """CLI flags for the fields of ``values`` that differ from ``cls``'s defaults (all of them without ``cls``)."""
    defaults: dict[str, Any] = {}
    order = list(values)
    if cls is not None:
        order = [f.name for f in fields(cls)]
        for f in fields(cls):
            if f.default is not MISSING:
                defaults[f.name] = f.default
            elif f.default_factory is not MISSING:  # type: ignore[misc]
                defaults[f.name] = f.default_factory()  # type: ignore[misc]
    out: list[str] = []
    order = [n for n in ("data", "size") if n in order] + [n for n in order if n not in ("data", "size")]
    for name in order:
        if name in drop or name not in values:
            continue
        v = values[name]
        if name in defaults and v == defaults[name]:
            continue
        if v is None:
            continue
        if isinstance(v, bool):
            out.append(_flag(name) if v else f"--no-{name.replace('_', '-')}")
        elif isinstance(v, (list, tuple)):
            out += [_flag(name), shlex.quote(",".join(map(str, v)))]
        else:
            out += [_flag(name), shlex.quote(str(v))]
    return out


# A stage kind -> its config dataclass, whose defaults are left out of rebuilt commands.
_CONFIG_CLASSES: dict[str, type] = {"classify": ClassifyConfig, "strategies": ClassifyConfig,
                                    "embed": EmbedTrainConfig, "stylize": StylizeConfig, "cluster": ClusterConfig,
                                    "lora": LoraTrainConfig}


def _strategies_command(run: Path) -> str:
    q = shlex.quote
    cmp = read_json(run / "comparison.json")
    rows = cmp.get("rows", [])
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    seeds = max(1, len(rows) // max(1, len(strategies) * len(models)))
    flags = _cli_flags(cmp.get("config", {}), _CONFIG_CLASSES["strategies"], _NOT_REPRODUCED + ("name", "model"))
    return " ".join(["artstyle classify compare", *flags, "--strategies", q(",".join(strategies)), "--seeds",
                     str(seeds), "--models", q(",".join(models))])


def _lora_generate_command(run: Path) -> str:
    q = shlex.quote
    g = read_json(run / "generate.json")
    seeds = g.get("seeds", [0])
    compare = any(f.endswith("-compare.png") for f in g.get("files", []))
    return " ".join(["artstyle lora generate", q(g["run"]), "--styles", q(",".join(g.get("prompts", {}))),
                     "--n", str(len(seeds)), "--seed", str(seeds[0] if seeds else 0), "--steps", str(g["steps"]),
                     "--guidance", f"{g['guidance']:g}", "--lora-scale", f"{g['lora_scale']:g}"]
                    + (["--compare"] if compare else []))


def legacy_command(run: Path, kind: str) -> str:
    """The ``artstyle`` command that reproduces a run of ``kind`` without a recorded ``command``, rebuilt from its
    saved config (``--out`` and settings equal to the defaults left out)."""
    q = shlex.quote
    if kind == "stats":
        st = read_json(run / "stats.json")
        return f"artstyle data stats --data {q(st['source'])} --size {st['size']}"
    if kind == "strategies":
        return _strategies_command(run)
    if kind == "cluster-compare":
        cmp = read_json(run / "comparison.json")
        files = " ".join(q(r["file"]) for r in cmp.get("rows", []))
        return (f"artstyle cluster compare {files} --methods {q(','.join(cmp['methods']))} --split {q(cmp['split'])} "
                f"--pca-dim {cmp['pca_dim']} --seed {cmp['seed']}")
    if kind == "lora-generate":
        return _lora_generate_command(run)
    if kind == "cluster":
        c = read_json(run / "config.json")
        flags = _cli_flags(c, _CONFIG_CLASSES["cluster"], _NOT_REPRODUCED + ("embeddings", "n_clusters"))
        return " ".join(["artstyle cluster fit", q(c["embeddings"]), *flags])
    if kind in ("classify", "embed", "stylize", "lora"):
        c = read_json(run / "config.json")
        values = dict(c.get("config", {}))
        if kind == "stylize":  # the classifier and judge the run used, wherever they came from
            values["classifier"] = c.get("classifier", {}).get("run", values.get("classifier", ""))
            values["judge"] = c.get("judge", {}).get("run", values.get("judge", ""))
        sub = {"classify": "classify train", "embed": "embed train", "stylize": "stylize train",
               "lora": "lora train"}[kind]
        return " ".join([f"artstyle {sub}", *_cli_flags(values, _CONFIG_CLASSES[kind], _NOT_REPRODUCED)])
    raise ArtstyleError(f"{run}: no command is known for a {kind} run")


__all__ = ["CLASSIFIER_ARCHS", "legacy_command", "legacy_run_kind"]
