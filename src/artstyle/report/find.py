"""Which runs a report is made of: what each given path is, and the command that reproduced it.

Usage::

    run_kind(Path("runs/classify/20261128-140000-resnet"))   # "classify"
    stage_command(run)                                       # "artstyle classify train --data builtin ..."
    found = find_runs([pipeline_dir])                        # Found(stats=..., classify=..., ...)

A run says what it is: ``config.json`` records the ``stage`` that made it and the ``command`` that
reproduces it (``runs.write_config``). Only runs written before that was recorded are inferred from their
files (``report.legacy``). An embeddings ``.npz`` is a file, not a run directory, and is known by its suffix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from artstyle.errors import ArtstyleError
from artstyle.report.legacy import legacy_command, legacy_run_kind
from artstyle.runs import read_json, run_stage

# The stage recorded in config.json -> the kind of run the report shows it as.
KIND_OF_STAGE = {"pipeline": "pipeline", "data-stats": "stats", "classify": "classify",
                 "classify-compare": "strategies", "embed": "embed", "embed-export": "embeddings",
                 "cluster": "cluster", "cluster-compare": "cluster-compare", "stylize": "stylize", "lora": "lora",
                 "lora-generate": "lora-generate"}


def run_kind(path: str | Path) -> str:
    """What an artstyle run directory (or file) is: pipeline, stats, classify, strategies, embed, embeddings,
    cluster, cluster-compare, stylize, lora or lora-generate."""
    path = Path(path)
    if path.is_file() and path.suffix == ".npz":
        return "embeddings"
    if not path.is_dir():
        raise ArtstyleError(f"{path} does not exist or is not a run directory")
    stage, _ = run_stage(path)
    if stage is None:
        return legacy_run_kind(path)
    if stage not in KIND_OF_STAGE:
        raise ArtstyleError(f"{path} is an artstyle {stage} run, which the report does not show (it reports on "
                            f"{', '.join(KIND_OF_STAGE)} runs)")
    return KIND_OF_STAGE[stage]


def stage_command(run: str | Path) -> str:
    """The ``artstyle`` command that reproduces a stage run: the one its config.json records, or for an older run
    one rebuilt from its saved config (``--out`` left out)."""
    run = Path(run)
    kind = run_kind(run)
    _, command = run_stage(run) if run.is_dir() else (None, None)
    return command if command else legacy_command(run, kind)


@dataclass
class Found:
    """The runs a report is made of (None / empty when a stage was not given or not run)."""

    pipeline: Path | None = None
    state: dict[str, Any] | None = None
    stats: Path | None = None
    classify: Path | None = None
    judge: Path | None = None
    other_classifiers: list[Path] = field(default_factory=list)
    strategies: Path | None = None
    embed: Path | None = None
    embeddings: list[Path] = field(default_factory=list)
    cluster: Path | None = None
    cluster_compare: Path | None = None
    stylize: Path | None = None
    lora: list[Path] = field(default_factory=list)
    lora_generate: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)

    def take(self, slot: str, run: Path) -> None:
        """Put ``run`` in a one-run ``slot``; a second run for a taken slot is listed as ignored."""
        if getattr(self, slot) is None:
            setattr(self, slot, run)
        else:
            self.ignored.append(run)


def find_runs(paths: Sequence[str | Path]) -> Found:
    """Sort the given runs by kind; a pipeline directory contributes every stage it completed."""
    if not paths:
        raise ArtstyleError("give at least one run directory: a pipeline (runs/pipeline/<ts>-<profile>) or stage runs")
    found = Found()
    classifiers: list[Path] = []
    for raw in paths:
        p = Path(raw)
        kind = run_kind(p)
        if kind == "pipeline":
            _add_pipeline(found, p)
        elif kind == "classify":
            classifiers.append(p)
        elif kind == "embeddings":
            found.embeddings.append(p)
        elif kind == "lora":
            found.lora.append(p)
            gen = p / "figures" / "generate"
            if (gen / "generate.json").is_file():
                found.lora_generate.append(gen)
        elif kind == "lora-generate":
            found.lora_generate.append(p)
        else:
            found.take({"cluster-compare": "cluster_compare"}.get(kind, kind), p)
    _assign_classifiers(found, classifiers)
    return found


def _add_pipeline(found: Found, p: Path) -> None:
    """Every stage run a pipeline directory completed (only the first pipeline given counts)."""
    if found.pipeline is not None:
        found.ignored.append(p)
        return
    found.pipeline, found.state = p, read_json(p / "pipeline.json")
    stages = {k: v for k, v in found.state.get("stages", {}).items() if v.get("status") == "done"}

    def stage_run(key: str, sub: str | None = None) -> Path | None:
        rec = stages.get(key)
        if not rec:
            return None
        value = rec.get("runs", {}).get(sub) if sub else rec.get("run")
        return _relocate(value, p) if value else None

    for slot, key, sub in (("stats", "stats", None), ("strategies", "strategies", None), ("embed", "embed", None),
                           ("cluster", "cluster", "cluster"), ("cluster_compare", "cluster", "compare"),
                           ("stylize", "stylize", None), ("classify", "classify", None), ("judge", "judge", None)):
        r = stage_run(key, sub)
        if r is not None:
            found.take(slot, r)
    for f in stages.get("embeddings", {}).get("files", {}).values():
        if _relocate(f, p) is not None:
            found.embeddings.append(_relocate(f, p))
    for sub, target in (("train", found.lora), ("generate", found.lora_generate)):
        r = stage_run("lora", sub)
        if r is not None:
            target.append(r)


def _assign_classifiers(found: Found, classifiers: list[Path]) -> None:
    """Individual classify runs: the stylizer's judge is the one its config names; the first other is "the"
    classifier, the rest are shown as other classifiers."""
    judge_path = None
    if found.stylize is not None and found.judge is None:
        judge_path = read_json(found.stylize / "config.json").get("judge", {}).get("run") or None
    for p in classifiers:
        if judge_path and found.judge is None and _same(p, judge_path):
            found.judge = p
        elif found.classify is None:
            found.classify = p
        else:
            found.other_classifiers.append(p)


def _relocate(recorded: str, pipeline: Path) -> Path | None:
    """A stage run recorded in pipeline.json, inside the given pipeline directory when it was moved or copied."""
    path = Path(recorded)
    parts = path.parts
    if "stages" in parts:  # stage runs live under <pipeline>/stages/; the cache (the data stage) lives elsewhere
        here = pipeline.joinpath(*parts[len(parts) - 1 - parts[::-1].index("stages"):])
        if here.exists():
            return here
    return path if path.exists() else None


def _same(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


__all__ = ["Found", "KIND_OF_STAGE", "find_runs", "run_kind", "stage_command"]
