"""The report reads what a run says it is (config.json's ``stage`` and ``command``), infers it only for runs
written before that was recorded, and renders from saved files alone. Fake run directories, no training: fast."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from artstyle.errors import ArtstyleError
from artstyle.report import SECTION_TITLES, find_runs, run_kind, stage_command, write_report


def _write(path: Path, obj: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def _stats(source: str = "builtin:0.02", size: int = 32) -> dict:
    counts = {"train": {"Impressionism": 6, "Baroque": 2}, "val": {"Impressionism": 1, "Baroque": 1},
              "test": {"Impressionism": 2, "Baroque": 1}}
    return {"source": source, "synthetic": True, "size": size, "counts": counts,
            "totals": {k: sum(v.values()) for k, v in counts.items()}, "cached": 13, "found": 13, "skipped": 0,
            "classes": ["Baroque", "Impressionism"], "majority_class": "Impressionism", "imbalance_ratio": 3.0}


def _legacy_classify(run: Path) -> Path:
    _write(run / "config.json", {"config": {"data": "builtin:0.02", "size": 32, "epochs": 3},
                                 "model": {"arch": "resnet", "width": 8}, "data": {"synthetic": True}})
    return run


def test_recorded_stage_wins_over_what_the_files_look_like(tmp_path: Path) -> None:
    # stats.json would make it a data-stats run by the old inference; config.json says it is a strategy comparison.
    run = tmp_path / "compare"
    _write(run / "stats.json", _stats())
    _write(run / "config.json", {"stage": "classify-compare", "command": "artstyle classify compare --seeds 2",
                                 "argv": None})
    assert run_kind(run) == "strategies"
    assert stage_command(run) == "artstyle classify compare --seeds 2"
    # A classifier-looking config.json that says it is a cluster comparison.
    other = _legacy_classify(tmp_path / "cc")
    config = json.loads((other / "config.json").read_text())
    _write(other / "config.json", {"stage": "cluster-compare", "command": "artstyle cluster compare a.npz",
                                   "argv": "artstyle cluster compare a.npz --out x", **config})
    assert run_kind(other) == "cluster-compare" and stage_command(other) == "artstyle cluster compare a.npz"
    for stage, kind in (("data-stats", "stats"), ("lora-generate", "lora-generate"), ("pipeline", "pipeline"),
                        ("embed", "embed"), ("stylize", "stylize"), ("lora", "lora"), ("cluster", "cluster")):
        _write(other / "config.json", {"stage": stage, "command": "artstyle x", "argv": None})
        assert run_kind(other) == kind, stage


def test_a_stage_the_report_does_not_show_is_named(tmp_path: Path) -> None:
    run = _legacy_classify(tmp_path / "ev")  # would be inferred as a classifier, but says it is an evaluation
    _write(run / "config.json", {"stage": "evaluate", "command": "artstyle classify evaluate r", "argv": None})
    with pytest.raises(ArtstyleError, match="evaluate run, which the report does not show"):
        run_kind(run)


def test_legacy_runs_without_a_stage_are_still_inferred(tmp_path: Path) -> None:
    stats = _write(tmp_path / "stats" / "stats.json", _stats("builtin:0.02", 32)).parent
    classify = _legacy_classify(tmp_path / "classify")
    assert run_kind(stats) == "stats" and run_kind(classify) == "classify"
    assert stage_command(stats) == "artstyle data stats --data builtin:0.02 --size 32"
    command = stage_command(classify)
    assert command.startswith("artstyle classify train --data builtin:0.02 --size 32") and "--epochs 3" in command
    npz = tmp_path / "e.npz"
    np.savez(npz, x=np.zeros(1))
    assert run_kind(npz) == "embeddings"
    found = find_runs([classify, stats, npz])
    assert found.stats == stats and found.classify == classify and found.embeddings == [npz]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtstyleError, match="not an artstyle run directory"):
        run_kind(tmp_path / "empty")


def test_report_prints_the_recorded_command_and_describes_its_own_run(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTSTYLE_RUNS", str(tmp_path / "runs"))
    recorded = tmp_path / "recorded"
    _write(recorded / "stats.json", _stats("builtin:0.5", 48))
    _write(recorded / "config.json", {"stage": "data-stats", "command": "artstyle data stats --data builtin:0.5 "
                                      "--size 48 --recorded", "argv": None})
    legacy = _write(tmp_path / "legacy" / "stats.json", _stats("builtin:0.02", 32)).parent
    out = write_report([recorded])
    md = (out / "report.md").read_text()
    assert "--size 48 --recorded" in md  # the recorded command, not one rebuilt from stats.json
    assert "## The dataset\n\nSource: `builtin:0.5`" in md
    assert re.findall(r"^## (.+)$", md, flags=re.M) == list(SECTION_TITLES)
    assert "| style | train | val | test | share of train |\n|---|---:|---:|---:|---:|\n| Impressionism | 6 |" in md
    # The report's own directory says what it is; the report refuses to report on a report.
    config = json.loads((out / "config.json").read_text())
    assert config["stage"] == "report" and config["command"] == f"artstyle report {recorded}"
    assert config["runs"] == [str(recorded)]
    with pytest.raises(ArtstyleError, match="report run"):
        run_kind(out)
    # A legacy run in its own --out folder: the command is rebuilt, and no config.json is written there.
    mine = write_report([legacy], tmp_path / "mine")
    assert "artstyle data stats --data builtin:0.02 --size 32" in (mine / "report.md").read_text()
    assert not (mine / "config.json").exists()


def test_importing_the_report_does_not_import_torch() -> None:
    code = "import sys, artstyle.report; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
