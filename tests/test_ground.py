"""The ground floor: one-line usage errors, append-only metrics logs, staleness of cached sources, file counts,
the recorded stage and command of a run, and the shared metrics and grids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from artstyle.cli import main
from conftest import make_folder


def run_cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.err + captured.out


@pytest.mark.parametrize("args, needle", [
    (["classify", "train", "--size", "abc"], "--size"),
    (["data", "prepare", "--bogus"], "--bogus"),
    (["data", "prepare", "--policy"], "--policy"),
    (["cluster", "fit"], "EMBEDDINGS"),
])
def test_usage_errors_are_one_line_with_status_2(args: list[str], needle: str, capsys: pytest.CaptureFixture) -> None:
    code, output = run_cli(args, capsys)
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], output
    assert "Traceback" not in output and "╭" not in output  # no typer panel


def test_help_exits_0(capsys: pytest.CaptureFixture) -> None:
    code, output = run_cli(["--help"], capsys)
    assert code == 0 and "classify" in output


def test_help_does_not_import_torch() -> None:
    code = "import sys; from artstyle.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n" \
           "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:5]"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_append_jsonl_appends_and_a_torn_line_is_dropped(tmp_path: Path) -> None:
    from artstyle.runs import append_jsonl, read_jsonl

    path = tmp_path / "metrics.jsonl"
    append_jsonl(path, {"epoch": 1})
    size = path.stat().st_size
    append_jsonl(path, {"epoch": 2})
    assert path.read_bytes()[:size] == b'{"epoch": 1}\n'  # appended, not rewritten
    with open(path, "ab") as fh:  # a kill in the middle of a write
        fh.write(b'{"epoch": 3, "lo')
    assert read_jsonl(path) == [{"epoch": 1}, {"epoch": 2}]
    append_jsonl(path, {"epoch": 3})
    assert read_jsonl(path) == [{"epoch": 1}, {"epoch": 2}, {"epoch": 3}]


def test_changed_parquet_is_read_again_in_one_process(tmp_path: Path) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from artstyle.data.sources import open_source

    def write(n: int) -> None:
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
        rows = {"image": [{"bytes": buf.getvalue(), "path": f"{i}.png"} for i in range(n)], "style": ["Baroque"] * n}
        pq.write_table(pa.table(rows), tmp_path / "data.parquet")

    write(3)
    assert len(open_source(str(tmp_path / "data.parquet")).items) == 3
    write(5)
    assert len(open_source(str(tmp_path / "data.parquet")).items) == 5


def test_found_counts_files_not_empty_folders(tmp_path: Path) -> None:
    from artstyle.data.cache import prepare_cache

    root = make_folder(tmp_path / "d", {"Baroque": 4, "Pop_Art": 4})
    (root / "train" / "Cubism").mkdir()  # an empty style folder: listed, but not a file found
    (root / "train" / "Baroque" / "notes.txt").write_text("x")  # a file found, then skipped
    cache = prepare_cache(str(root), size=16, workers=1, progress=False)
    files = sum(1 for p in root.rglob("*") if p.is_file())
    assert cache.meta["n_found"] == files == len(cache.labels) + cache.meta["n_skipped"]
    from artstyle.data.stats import dataset_stats

    st = dataset_stats(cache)
    assert st["found"] == files == st["cached"] + st["skipped"]


def test_write_config_records_stage_command_and_argv(tmp_path: Path) -> None:
    import artstyle.runs as runs
    from artstyle.config import command_line
    from artstyle.settings import TrainSettings

    runs.INVOCATION = None
    runs.write_config(tmp_path, "classify", command_line("artstyle x", TrainSettings(epochs=3, progress=False)), {"a": 1})
    c = json.loads((tmp_path / "config.json").read_text())
    assert c == {"stage": "classify", "command": "artstyle x --epochs 3 --no-progress", "argv": None, "a": 1}
    assert runs.run_stage(tmp_path) == ("classify", "artstyle x --epochs 3 --no-progress")
    assert runs.run_stage(tmp_path / "nowhere") == (None, None)


def test_ssim_psnr_agree_across_scales() -> None:
    import torch

    from artstyle.metrics import PSNR_CAP, psnr, psnr_uint8, ssim, ssim_uint8

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 20, 20, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 20, a.shape), 0, 255).astype(np.uint8)
    x, y = (torch.from_numpy(v).permute(0, 3, 1, 2).float() / 255 for v in (a, b))
    assert np.allclose(ssim(x, y).numpy(), ssim_uint8(a, b), atol=1e-4)
    assert np.allclose(psnr(x, y).numpy(), psnr_uint8(a, b), atol=1e-3)
    assert (ssim_uint8(a, a) == 1).all() and (psnr_uint8(a, a) == PSNR_CAP).all()


def test_contingency_matches_counts() -> None:
    from artstyle.metrics import contingency

    ids, table = contingency(np.array([0, 0, 2, 2, 2]), np.array([5, -1, 5, 5, -1]), n_classes=4)
    assert ids.tolist() == [-1, 5]
    assert table.tolist() == [[1, 0, 1, 0], [1, 0, 2, 0]]


def test_captioned_grid_layout() -> None:
    from artstyle.figures.grids import captioned_grid

    cells = np.zeros((2, 3, 8, 8, 3), np.uint8)
    cells[1, 2] = 200
    img, lay = captioned_grid(cells, headers=["a", "b", "c"], synthetic=True)
    y, x = lay["row_y"][1], lay["pad"] + 2 * (8 + lay["pad"])
    assert (img[y:y + 8, x:x + 8] == 200).all() and lay["row_y"][1] == lay["header"] + 2 + 10
    assert img.shape[0] == lay["header"] + 2 * 10 + 2 + lay["footer"] and lay["footer"] > 0
    img, lay = captioned_grid(cells, row_captions=["first row", "a much longer second caption than the grid"])
    y = lay["row_y"][1]
    assert (img[y:y + 8, x:x + 8] == 200).all() and img.shape[1] > 3 * 10 + 2  # widened to fit the caption


def test_time_budget_counts_the_whole_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache build that alone outlasts --time-budget leaves no time to train: the budget is the command's."""
    import time

    import artstyle.data.cache as cache_mod
    from artstyle.classify import ClassifyConfig, train_classifier
    from artstyle.runs import read_json, read_jsonl

    root = make_folder(tmp_path / "d", {"Baroque": 6, "Pop_Art": 6})
    real = cache_mod.open_cache

    def slow_open(cfg):  # noqa: ANN001, ANN202
        cache = real(cfg)
        time.sleep(1.2)  # the budget below is spent before training starts
        return cache

    monkeypatch.setattr(cache_mod, "open_cache", slow_open)
    cfg = ClassifyConfig(data=str(root), size=16, epochs=3, batch_size=4, width=8, time_budget=1.0, progress=False,
                         imbalance="crt", crt_epochs=2, workers=0, out=str(tmp_path / "run"))
    run = train_classifier(cfg)
    records = [r for r in read_jsonl(run / "metrics.jsonl") if "epoch" in r]
    assert len(records) == 1 and "train_loss" not in records[0]  # stopped before its first step
    assert "time budget" in read_json(run / "stage1_summary.json")["stopped"]
    assert len([r for r in read_jsonl(run / "crt" / "metrics.jsonl") if "epoch" in r]) == 1  # crt: no time left


def test_a_time_budget_schedule_decays_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With --time-budget the cosine ends when the time does, so a run the budget stops ends at a low rate."""
    import torch

    import artstyle.schedules as engine

    now = [100.0]
    monkeypatch.setattr(engine.time, "perf_counter", lambda: now[0])
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    sched = engine.cosine_with_warmup(opt, 0, 10_000, deadline=110.0)  # 10 s budget, steps would last far longer
    rates = []
    for t in (100.0, 105.0, 110.0, 120.0):
        now[0] = t
        opt.step()
        sched.step()
        rates.append(sched.get_last_lr()[0])
    assert rates[0] > 0.99 and abs(rates[1] - 0.5) < 0.01 and rates[2] == rates[3] == 0.0
    steps = engine.cosine_with_warmup(torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0), 0, 4)
    assert steps.get_last_lr()[0] == 1.0  # without a budget: by steps, as before


def test_a_schedule_saved_by_an_older_class_resumes_by_replay() -> None:
    """Runs saved before the schedule became torch's own (a LambdaLR state) still resume at the right rate."""
    import torch

    from artstyle.training_state import load_scheduler
    from artstyle.schedules import cosine_with_warmup

    def fresh() -> tuple[torch.optim.Optimizer, object]:
        opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
        return opt, cosine_with_warmup(opt, 2, 10)

    old = torch.optim.lr_scheduler.LambdaLR(torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0), lambda s: 1.0)
    for _ in range(5):
        old.optimizer.step()
        old.step()
    reference_opt, reference = fresh()
    for _ in range(5):
        reference_opt.step()
        reference.step()
    _, resumed = fresh()
    load_scheduler(resumed, old.state_dict())
    assert resumed.get_last_lr() == pytest.approx(reference.get_last_lr())


def test_pool_is_for_resnet_only() -> None:
    from artstyle.errors import ArtstyleError
    from artstyle.models.classifier import build_classifier

    with pytest.raises(ArtstyleError, match="--pool gem applies to --model resnet only"):
        build_classifier("inclass", 3, 16, pool="gem")
