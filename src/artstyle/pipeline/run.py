"""Run (or resume) every stage in order into one pipeline directory, then print a summary table.

Usage: ``run = run_pipeline(PipelineConfig(profile="demo"))``; ``run_pipeline(PipelineConfig(out=str(run)))``
resumes: stages already done are skipped.

``pipeline.json`` records every stage: status (done / skipped / failed), run directory, seconds, the
command that reproduces it and a fingerprint of its settings. Running again with ``--out`` of an existing
pipeline skips every stage that is done, whose settings are unchanged, whose run directory still exists
and whose inputs were not re-made in this invocation; the rest run again from scratch. A failed stage
does not stop the stages that do not depend on it; the command then exits with an error naming it.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from artstyle.config import config_dict
from artstyle.constants import SYNTHETIC_MARKER
from artstyle.errors import ArtstyleError
from artstyle.pipeline.config import PipelineConfig, pipeline_command, resolve_settings
from artstyle.pipeline.stages import STAGES, Stage, not_applicable, stage_needs
from artstyle.pipeline.state import Context, e, fingerprint, open_pipeline, release_pipeline, run_dir_exists
from artstyle.runs import write_config


def run_pipeline(cfg: PipelineConfig) -> Path:
    """Run (or resume) every stage; write pipeline.json, config.json and the report. Returns the pipeline dir.

    Raises :class:`ArtstyleError` at the end when a stage failed (after the others and the report ran).
    """
    from artstyle.dist import is_distributed

    if is_distributed():
        raise ArtstyleError("`artstyle run` runs its stages in one process; under accelerate launch / torchrun run "
                            "the stage commands (e.g. `artstyle classify train`) instead")
    t_start = time.perf_counter()
    ctx = _start(cfg)
    try:
        _run_stages(ctx, t_start)
    finally:  # a Python caller may start another `artstyle run --out` on this folder afterwards
        release_pipeline(ctx.run)
    return ctx.run


def _run_stages(ctx: Context, t_start: float) -> None:
    """Every stage in table order; then the summary. Raises at the end when a stage failed."""
    ran: set[str] = set()
    failed: dict[str, str] = {}
    for i, (key, stage) in enumerate(STAGES.items(), 1):
        ctx.console.rule(f"[bold][{i}/{len(STAGES)}] {stage.title}[/]", align="left")
        _run_stage(ctx, key, stage, ran, failed)
    total = time.perf_counter() - t_start
    ctx.state["last_invocation_seconds"] = round(total, 2)
    ctx.state["total_stage_seconds"] = round(sum(r.get("seconds", 0.0) for r in ctx.state["stages"].values()), 2)
    ctx.save()
    _print_summary(ctx, total)
    if failed:
        names = ", ".join(f"{k} ({v})" for k, v in failed.items())
        raise ArtstyleError(f"{len(failed)} stage(s) failed: {names}. Fix the cause and run `artstyle run --out "
                            f"{ctx.run}` to resume; stages already done are skipped")


def _start(cfg: PipelineConfig) -> Context:
    """Open the pipeline directory, resolve the settings, record them (config.json, pipeline.json), say what runs."""
    from rich.console import Console

    from artstyle.environment import collect_environment

    console = Console(highlight=False)
    run, state, cfg = open_pipeline(cfg)
    settings = resolve_settings(cfg)
    resumed = bool(state["stages"])
    state.update(config=config_dict(cfg), profile=cfg.profile or "demo", data=settings["data"]["data"],
                 command=pipeline_command(cfg))
    state.setdefault("environment", collect_environment())
    # Assigned, not kept: resuming with another --data re-runs every stage on it.
    state["synthetic"] = is_synthetic(settings["data"]["data"])
    write_config(run, "pipeline", pipeline_command(cfg), {"config": config_dict(cfg), "settings": settings})
    ctx = Context(cfg, settings, run, state, console)
    ctx.save()
    console.rule(f"[bold]artstyle run[/] - profile {state['profile']}, data {state['data']}")
    console.print(f"pipeline directory: {e(run)}" + (" (resuming: stages already done are skipped)" if resumed else ""))
    if state["synthetic"]:
        console.print("[bold red]SYNTHETIC DATA[/]: the built-in procedurally painted stand-in for WikiArt; the "
                      "numbers show that the code works, not how it does on real paintings.")
    return ctx


def is_synthetic(data: str) -> bool:
    """Whether ``--data`` is the built-in synthetic set: ``builtin[:scale]``, or a folder ``artstyle data synth`` wrote.

    Decided from ``--data`` alone, before any stage runs, so the banner shows on a resumed pipeline too (where the
    ``data`` stage, which reads the cache's flag, is skipped).
    """
    if data.startswith("builtin"):
        return True
    try:
        return (Path(data) / SYNTHETIC_MARKER).is_file()
    except (OSError, ValueError):  # hf:<id> and other specs that are no path
        return False


def _run_stage(ctx: Context, key: str, stage: Stage, ran: set[str], failed: dict[str, str]) -> None:
    """Skip, reuse or run one stage and record it in pipeline.json; ``ran``/``failed`` collect the outcomes."""
    console, state = ctx.console, ctx.state
    prev = state["stages"].get(key, {})
    fp = fingerprint({s: ctx.settings[s] for s in stage.sections})
    record: dict[str, Any] = {"title": stage.title, "fingerprint": fp}
    reason = not_applicable(ctx, key)
    # A dependency that does not apply (no strategies, no LoRA) blocks nothing; the report runs regardless
    # and says which sections are missing.
    needs = stage_needs(ctx, key)
    blocked = [] if key == "report" else [d for d in needs if not_applicable(ctx, d) is None
                                           and state["stages"].get(d, {}).get("status") != "done"]
    if reason:
        record.update(status="skipped", reason=reason, seconds=0.0)
        console.print(f"skipped: {e(reason)}")
    elif blocked:
        record.update(status="skipped", reason=f"needs {', '.join(blocked)}, which did not complete", seconds=0.0)
        console.print(f"[yellow]skipped: {e(record['reason'])}[/]")
    elif (prev.get("status") == "done" and prev.get("fingerprint") == fp and run_dir_exists(prev)
          and not (set(needs) & ran)):
        console.print(f"already done in an earlier invocation ({prev.get('seconds', 0):.1f} s): {e(prev['run'])}")
        return
    else:
        if prev.get("status") == "done" and prev.get("fingerprint") != fp:
            console.print("settings changed since the earlier invocation: running again")
        if _attempt(ctx, key, stage, record, failed):
            # A cache rebuilt with unchanged settings is byte-identical: what was made from it stays valid.
            if not (key == "data" and prev.get("fingerprint") == fp and prev.get("status") == "done"):
                ran.add(key)
    state["stages"][key] = record
    ctx.save()


def _attempt(ctx: Context, key: str, stage: Stage, record: dict[str, Any], failed: dict[str, str]) -> bool:
    """Run one stage from a clean stage directory into ``record``; a failure is recorded, not raised. True: done."""
    stage_dir = ctx.stage_dir(key)
    if stage_dir.exists():  # a failed or outdated attempt: start clean (metrics.jsonl is appended to)
        shutil.rmtree(stage_dir)
    # Milliseconds: a quick stage re-run within the same second must still show a new start time.
    record.update(status="running", started=datetime.now().isoformat(timespec="milliseconds"))
    ctx.state["stages"][key] = record
    ctx.save()
    t0 = time.perf_counter()
    try:
        result = stage.run(ctx)
    except KeyboardInterrupt:
        record.update(status="failed", error="interrupted", seconds=round(time.perf_counter() - t0, 2))
        ctx.save()
        raise
    except Exception as exc:  # noqa: BLE001 - record it, run what does not depend on it, fail at the end
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}" if not isinstance(exc, ArtstyleError)
                      else str(exc), seconds=round(time.perf_counter() - t0, 2))
        failed[key] = record["error"]
        if isinstance(exc, ArtstyleError) and not os.environ.get("ARTSTYLE_DEBUG"):
            ctx.console.print(f"[bold red]{key} failed:[/] {e(exc)}")
        else:
            ctx.console.print(f"[bold red]{key} failed:[/]\n{e(traceback.format_exc())}")
        return False
    record.update(status="done", seconds=round(time.perf_counter() - t0, 2), **result)
    ctx.console.print(f"[green]done[/] in {duration(record['seconds'])}: {e(record['run'])}")
    return True


def duration(seconds: float) -> str:
    """``12.3 s`` or ``4 min 05 s``."""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)  # round first: 239.96 s is "4 min 00 s", not "3 min 60 s"
    return f"{minutes} min {rest:02d} s"


def _print_summary(ctx: Context, total: float) -> None:
    from rich.table import Table

    table = Table(title="artstyle run" + (" (SYNTHETIC data)" if ctx.state.get("synthetic") else ""))
    for col in ("#", "stage", "status", "time", "run directory"):
        table.add_column(col, justify="right" if col in ("#", "time") else "left")
    colours = {"done": "green", "skipped": "yellow", "failed": "red"}
    for i, key in enumerate(STAGES, 1):
        r = ctx.state["stages"].get(key, {})
        status = r.get("status", "-")
        table.add_row(str(i), key, f"[{colours.get(status, 'white')}]{status}[/]", duration(r.get("seconds", 0.0)),
                      e(r.get("run") or r.get("reason") or r.get("error", "")))
    ctx.console.print(table)
    ctx.console.print(f"total time: {duration(total)} (this invocation; all stages together "
                      f"{duration(ctx.state['total_stage_seconds'])})")
    report = ctx.state["stages"].get("report", {})
    if report.get("status") == "done":
        ctx.console.print(f"report: {e(report['run'])} and {e(report['report_md'])}")
    ctx.console.print(f"pipeline: {e(ctx.run)}")


__all__ = ["duration", "is_synthetic", "run_pipeline"]
