"""The report's "The environment" section: the machine, package versions, time per stage and the commands that
reproduce every number.

Usage: ``section_environment(doc, found)``.
"""

from __future__ import annotations

from artstyle.environment import collect_environment
from artstyle.errors import ArtstyleError
from artstyle.report.document import Doc
from artstyle.report.find import Found, stage_command
from artstyle.report.format import num, secs


def section_environment(doc: Doc, f: Found) -> None:
    doc.h(2, "The environment")
    recorded = (f.state or {}).get("environment")
    env = recorded or collect_environment()
    threads = env.get("threads_setting") or env.get("torch_threads")
    doc.p(("Recorded when the pipeline started" if recorded else "Of the machine that wrote this report")
          + f": Python {env['python']} on {env['platform']}, {env.get('cpu_count')} CPU cores, device "
          f"{env.get('device')}" + (f", {threads} torch threads" if threads else "") + ".")
    doc.table(["package", "version"], [[k, v or "not installed"] for k, v in env.get("packages", {}).items()],
              right_from=2)
    lines = _pipeline_commands(doc, f) if f.state else _run_commands(f)
    doc.h(3, "Commands to reproduce every number")
    doc.code("\n".join(lines) if lines else "# no runs")
    doc.note("Stage commands are derived from each run's config.json (settings equal to the defaults are left out); "
             "the stylizer's command names the classifier and judge runs it used.")


def _pipeline_commands(doc: Doc, f: Found) -> list[str]:
    """Time per stage of a pipeline (a table), and its command lines: the whole pipeline's, then each stage's."""
    stages = f.state.get("stages", {})
    doc.h(3, "Time per stage")
    done = [r.get("seconds", 0.0) for k, r in stages.items() if k != "report" and num(r.get("seconds"))]
    doc.p(f"The stages took {secs(sum(done))} in all (each from the invocation that ran it: a resumed pipeline's "
          "stages may come from several invocations).")
    timing = [[k, "this report" if k == "report" else r.get("status", "-"),
               "-" if k == "report" else secs(r.get("seconds")),
               "" if k == "report" else (r.get("reason") or r.get("error") or "")] for k, r in stages.items()]
    doc.table(["stage", "status", "time", "note"], timing, right_from=4)
    lines = ["# the whole pipeline (into a new directory; add --out DIR to resume one):", f.state.get("command", "")]
    for key, rec in stages.items():
        if rec.get("status") == "done" and rec.get("command") and key != "report":
            lines += [f"# {key}", rec["command"]]
    return lines


def _run_commands(f: Found) -> list[str]:
    """The command of every run given on its own (the one its config.json records, else rebuilt)."""
    lines: list[str] = []
    for run in [f.stats, f.classify, f.judge, *f.other_classifiers, f.strategies, f.embed, f.cluster,
                f.cluster_compare, f.stylize, *f.lora, *f.lora_generate]:
        if run is None:
            continue
        try:
            lines += [f"# {run}", stage_command(run)]
        except (ArtstyleError, KeyError) as exc:
            lines += [f"# {run}: no command ({exc})"]
    if f.embeddings:
        lines.append("# embeddings files: " + ", ".join(str(p) for p in f.embeddings)
                     + " (written by `artstyle embed export`)")
    return lines

