"""The pipeline directory and its ``pipeline.json``: open or resume it, fingerprint settings, save progress.

Usage::

    run, state, cfg = open_pipeline(cfg)                # new runs/pipeline/<ts>-<profile>/, or --out resumed
    ctx = Context(cfg, settings, run, state, console)
    ctx.stage_dir("classify")                           # <pipeline>/stages/classify
    ctx.save()                                          # pipeline.json, atomically
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artstyle.config import config_dict
from artstyle.errors import ArtstyleError
from artstyle.pipeline.config import PipelineConfig
from artstyle.runs import create_run, read_json, write_json

PIPELINE_VERSION = 1

# Keys that change how a stage runs but not what it computes: left out of the resume fingerprint.
_VOLATILE = {"progress", "workers", "threads", "batch"}


@dataclass
class Context:
    """What every stage function gets: the pipeline's config, all settings, its directory and state."""

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
        self.state["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        write_json(self.run / "pipeline.json", self.state)


def fingerprint(values: Any) -> str:
    """A short hash of ``values`` without the keys that do not change results (``_VOLATILE``)."""
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in sorted(v.items()) if k not in _VOLATILE}
        return v

    return hashlib.sha1(json.dumps(strip(values), sort_keys=True, default=str).encode()).hexdigest()[:16]


def open_pipeline(cfg: PipelineConfig) -> tuple[Path, dict[str, Any], PipelineConfig]:
    """Create the pipeline directory, or reopen an existing one (unset options then come from its config)."""
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


def run_dir_exists(record: dict[str, Any]) -> bool:
    run = record.get("run")
    return bool(run) and Path(run).exists()


def e(value: Any) -> str:
    """``value`` as text that rich prints literally (paths and messages may hold [brackets])."""
    from rich.markup import escape

    return escape(str(value))


def q(value: Any) -> str:
    """``value`` quoted for a shell command line."""
    return shlex.quote(str(value))


__all__ = ["Context", "PIPELINE_VERSION", "e", "fingerprint", "open_pipeline", "q", "run_dir_exists"]
