"""The report's "LoRA" section: ``lora train`` runs (last validation images) and ``lora generate`` grids.

Usage: ``section_lora(doc, found)``.
"""

from __future__ import annotations

import re

from artstyle.report.document import Doc
from artstyle.report.find import Found
from artstyle.report.format import f3
from artstyle.runs import read_json, read_jsonl
from artstyle.styles import display_name


def section_lora(doc: Doc, f: Found) -> None:
    doc.h(2, "LoRA")
    if not f.lora and not f.lora_generate:
        reason = ""
        if f.state:
            rec = f.state.get("stages", {}).get("lora", {})
            reason = f" ({rec.get('reason') or rec.get('error') or rec.get('status', 'not run')})" if rec else ""
        doc.p(f"Not run{reason}: LoRA fine-tuning needs a pretrained text-to-image model (`artstyle run --pretrained "
              "ID` or `artstyle lora train --pretrained ID`) and, in practice, a GPU.")
        return
    for run in f.lora:
        c = read_json(run / "config.json").get("config", {})
        log = read_jsonl(run / "metrics.jsonl")
        last = log[-1] if log else {}
        doc.p(f"LoRA rank {c.get('rank')} on `{c.get('pretrained')}` at {c.get('resolution')} px, "
              f"{last.get('step', '?')} optimiser steps (last logged loss {f3(last.get('loss'))}), prompts like "
              f"\"{c.get('prompt_template')}\".")
        vals = sorted((run / "figures").glob("validation-*.png"),
                      key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if vals:
            doc.fig(vals[-1], f"Validation images at step {re.sub(r'[^0-9]', '', vals[-1].stem)}")
    for gen in f.lora_generate:
        g = read_json(gen / "generate.json")
        synthetic = " (LoRA trained on SYNTHETIC data)" if g.get("synthetic_training_data") else ""
        doc.p(f"Generated with `{g.get('pretrained')}`, {g.get('steps')} steps, guidance {g.get('guidance')}, LoRA "
              f"scale {g.get('lora_scale')}, seeds {g.get('seeds')}{synthetic}.")
        files = g.get("files", [])
        shown = [x for x in files if x.endswith("-compare.png")] or files
        for name in shown:
            style = name.removesuffix(".png").removesuffix("-compare")
            what = ("the base model (top) and with the LoRA (bottom), same seeds" if name.endswith("-compare.png")
                    else "with the LoRA")
            doc.fig(gen / name, f"{display_name(style)}: {what}")
