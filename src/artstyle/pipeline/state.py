"""The pipeline directory and its ``pipeline.json``: open or resume it, fingerprint settings, save progress.

Usage::

    run, state, cfg = open_pipeline(cfg)                # new runs/pipeline/<ts>-<profile>/, or --out resumed
    ctx = Context(cfg, settings, run, state, console)
    ctx.stage_dir("classify")                           # <pipeline>/stages/classify
    ctx.save()                                          # pipeline.json, atomically
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artstyle.config import config_dict
from artstyle.errors import ArtstyleError
from artstyle.pipeline.config import PipelineConfig
from artstyle.runs import create_run, not_writable, read_json, write_json

PIPELINE_VERSION = 1

LOCK_NAME = ".lock"
"""Held (flock) by the one ``artstyle run`` working in a pipeline directory; the OS drops it when that process dies."""

_HELD: dict[Path, int] = {}  # pipeline directory -> open, locked descriptor of its LOCK_NAME

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
    """Create the pipeline directory, or reopen an existing one (unset options then come from its config).

    The directory is locked for this process first, so a second ``artstyle run`` on the same ``--out`` stops
    with an error instead of writing into the first one's stages.
    """
    if not cfg.out:
        run = create_run("pipeline", cfg.profile or "demo")
        claim_pipeline(run)
        return run, _new_state(), cfg
    run = Path(cfg.out)
    if run.exists() and (not run.is_dir() or not _may_be_pipeline(run)):  # checked before a lock file is put there
        raise _not_a_pipeline(run)
    try:
        run.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise not_writable(run, exc) from None
        raise
    claim_pipeline(run)  # before reading: what the first run writes is never taken for a finished state
    try:
        return _reopen(run, cfg)
    except ArtstyleError:
        release_pipeline(run)
        raise


def _reopen(run: Path, cfg: PipelineConfig) -> tuple[Path, dict[str, Any], PipelineConfig]:
    """The state of the claimed directory ``run``: resumed from pipeline.json, or new when it is empty."""
    if (run / "pipeline.json").is_file():
        state = read_json(run / "pipeline.json")
        if state.get("version") != PIPELINE_VERSION:
            raise ArtstyleError(f"{run}/pipeline.json has format {state.get('version')}, this artstyle writes "
                                f"{PIPELINE_VERSION}; choose another --out")
        # Options not given again come from the earlier invocation, so `artstyle run --out DIR` resumes as is.
        saved = state.get("config", {})
        inherited = {k: getattr(cfg, k) or saved.get(k) or "" for k in ("data", "profile", "config", "pretrained")}
        return run, state, PipelineConfig(**{**config_dict(cfg), **inherited})
    if any(p.name != LOCK_NAME for p in run.iterdir()):  # e.g. a run that died before writing pipeline.json
        raise _not_a_pipeline(run)
    return run, _new_state(), cfg


def _may_be_pipeline(run: Path) -> bool:
    """Empty, or holding a pipeline (or the lock of one being started): never a user's own folder."""
    return any(p.name in ("pipeline.json", LOCK_NAME) for p in run.iterdir()) or not any(run.iterdir())


def _not_a_pipeline(run: Path) -> ArtstyleError:
    return ArtstyleError(f"--out {run} exists and is not an artstyle pipeline directory (no pipeline.json); "
                         "choose an empty or new directory")


def _new_state() -> dict[str, Any]:
    return {"version": PIPELINE_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": {}}


def claim_pipeline(run: Path) -> None:
    """Lock ``run`` for this process until :func:`release_pipeline` or exit; another holder is an error."""
    key = Path(run).resolve()
    if key in _HELD:  # this process resumes its own pipeline (sequential calls from Python)
        return
    try:
        fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise not_writable(run, exc) from None
        raise
    try:
        _lock(fd)
    except OSError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise ArtstyleError(f"--out {run} is in use by another `artstyle run` (pid {holder}); wait for it to "
                            "finish, or choose another --out") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _HELD[key] = fd


def _lock(fd: int) -> None:
    """A non-blocking exclusive lock on ``fd``; OSError when another process holds it."""
    if os.name == "nt":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def release_pipeline(run: Path) -> None:
    """Unlock ``run`` (closing the descriptor drops the lock); nothing when this process does not hold it."""
    fd = _HELD.pop(Path(run).resolve(), None)
    if fd is not None:
        os.close(fd)


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


__all__ = ["Context", "PIPELINE_VERSION", "claim_pipeline", "e", "fingerprint", "open_pipeline", "q",
           "release_pipeline", "run_dir_exists"]
