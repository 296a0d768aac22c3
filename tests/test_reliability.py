"""Hostile inputs, crash safety, safe loading and one-line user errors (docs/reliability.md maps each here)."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artstyle.classify import ClassifyConfig, predict, train_classifier
from artstyle.cli import main
from artstyle.data.cache import prepare_cache, skipped_items
from artstyle.errors import ArtstyleError
from artstyle.runs import create_run, load_safetensors, prepare_run_dir, read_jsonl
from conftest import make_folder, write_image

FAST = dict(size=32, batch_size=8, workers=0, progress=False, width=8, max_steps_per_epoch=3)


def _jpeg(im: Image.Image, **kw) -> bytes:  # noqa: ANN003
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def build_hostile_folder(root: Path) -> dict[str, str]:
    """A train/test folder holding every kind of hostile file. Returns {key: 'ok'|'skip'|'either'}."""
    make_folder(root, {"Baroque": 4, "Pop_Art": 4}, size=20)
    d = root / "train" / "Baroque"
    expect: dict[str, str] = {}

    def put(name: str, data: bytes, outcome: str, folder: Path = d) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        expect[(folder / name).relative_to(root).as_posix()] = outcome

    put("zero.jpg", b"", "skip")
    put("truncated.jpg", _jpeg(Image.new("RGB", (64, 64), (200, 10, 10)))[:300], "either")  # Pillow may pad it
    put("random.jpg", os.urandom(2048), "skip")
    buf = io.BytesIO(); Image.new("RGBA", (30, 30), (0, 255, 0, 128)).save(buf, "PNG"); put("alpha.png", buf.getvalue(), "ok")
    buf = io.BytesIO(); Image.new("P", (30, 30), 7).save(buf, "PNG"); put("palette.png", buf.getvalue(), "ok")
    buf = io.BytesIO(); Image.fromarray(np.full((30, 30), 40000, np.uint16)).save(buf, "PNG"); put("sixteen.png", buf.getvalue(), "ok")
    put("gray.jpg", _jpeg(Image.new("L", (30, 30), 90)), "ok")
    put("cmyk.jpg", _jpeg(Image.new("CMYK", (30, 30), (0, 50, 50, 0))), "ok")
    im = Image.new("RGB", (40, 20), (1, 2, 3)); exif = im.getexif(); exif[0x0112] = 6
    put("exif-rotated.jpg", _jpeg(im, exif=exif), "ok")
    # Above Pillow's decompression-bomb error limit (2 x 89.5 MP): decoded through JPEG draft mode.
    put("huge.jpg", _jpeg(Image.new("L", (13400, 13400), 128), quality=50), "ok")
    buf = io.BytesIO(); Image.new("RGB", (1, 1), (9, 9, 9)).save(buf, "PNG"); put("one-pixel.png", buf.getvalue(), "ok")
    buf = io.BytesIO(); Image.new("RGB", (10000, 10), (9, 99, 9)).save(buf, "PNG"); put("strip.png", buf.getvalue(), "ok")
    put("notes.txt", b"hello", "skip")
    put(".DS_Store", b"\0\0\0\1Bud1", "skip")
    put("Thumbs.db", b"\0" * 64, "skip")
    put("peinture à l'huile ü 1.jpg", _jpeg(Image.new("RGB", (30, 30), (5, 5, 200))), "ok")
    put("with space.jpg", _jpeg(Image.new("RGB", (30, 30), (5, 200, 5))), "ok")
    os.symlink("loop.jpg", d / "loop.jpg")
    expect[(d / "loop.jpg").relative_to(root).as_posix()] = "skip"
    os.symlink(d, d / "cycle")  # a directory symlink pointing at its own parent
    expect[(d / "cycle").relative_to(root).as_posix()] = "skip"
    put("locked.jpg", _jpeg(Image.new("RGB", (30, 30), (99, 5, 5))), "either")  # root can read 0o000 files
    os.chmod(d / "locked.jpg", 0)
    put("nested.jpg", _jpeg(Image.new("RGB", (30, 30), (50, 60, 70))), "ok", folder=d / "sub" / "deeper")
    dup = _jpeg(Image.new("RGB", (30, 30), (123, 45, 67)))
    put("dup-a.jpg", dup, "ok")
    put("dup-b.jpg", dup, "skip")
    (root / "train" / "Empty_Style").mkdir()
    put("only-test.jpg", _jpeg(Image.new("RGB", (30, 30), (1, 1, 1))), "ok", folder=root / "test" / "Ukiyo_e")
    return expect


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("hostile") / "data"
    return root, build_hostile_folder(root)


def test_hostile_inputs_prepare(hostile: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, expect = hostile
    cache = prepare_cache(str(root), size=16, workers=2, out=tmp_path / "cache")
    cached = {r["key"] for r in cache.index}
    skipped = {s["key"]: s["reason"] for s in skipped_items(cache)}
    for key, outcome in expect.items():
        assert (key in cached) != (key in skipped), f"{key} must be cached xor skipped"
        if outcome == "ok":
            assert key in cached, f"{key}: {skipped.get(key)}"
        elif outcome == "skip":
            assert key in skipped and skipped[key], key
    assert "duplicate of train/Baroque/dup-a.jpg" in skipped["train/Baroque/dup-b.jpg"]
    assert "train/Empty_Style/" in skipped
    assert "Ukiyo_e" in cache.classes and cache.counts("train")[cache.classes.index("Ukiyo_e")] == 0
    assert cache.meta["n_found"] == len(cache.labels) + cache.meta["n_skipped"]
    rows = {r["key"].rsplit("/", 1)[-1]: r for r in cache.index}
    assert rows["exif-rotated.jpg"]["orig_size"] == [40, 20]
    assert rows["huge.jpg"]["orig_size"] == [13400, 13400]  # read past Pillow's bomb limit, header only
    assert rows["nested.jpg"]["label"] == "Baroque" and rows["only-test.jpg"]["split"] == "test"


def test_hostile_inputs_stats_cli(hostile: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture) -> None:
    root, _ = hostile
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "stats", "--data", str(root), "--size", "16"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "found" in out and "skipped" in out and "Traceback" not in out


def test_hostile_inputs_predict(hostile: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, expect = hostile
    run = train_classifier(ClassifyConfig(data=str(make_folder(tmp_path / "d", {"Baroque": 4, "Pop_Art": 4})),
                                          epochs=1, **FAST))
    files = [root / k for k in expect if not (root / k).is_dir() or (root / k).is_symlink()]
    preds, skipped = predict(run, files, topk=2)
    assert len(preds) + len(skipped) == len(files)
    reasons = {Path(s["path"]).name: s["reason"] for s in skipped}
    for name in ("zero.jpg", "random.jpg", "notes.txt", "loop.jpg"):
        assert name in reasons, name
    assert "huge.jpg" in {Path(p["path"]).name for p in preds}


def test_unreadable_file_is_skipped_with_the_reason(tiny_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.data.cache as cache_mod

    locked = write_image(tiny_folder / "train" / "Baroque" / "locked.png", (1, 2, 3))
    os.chmod(locked, 0)
    if os.geteuid() == 0:  # root reads 0o000 files: make the read fail as it would for a normal user

        def no_permission(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if Path(path) == locked:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return open(path, *args, **kwargs)

        monkeypatch.setattr(cache_mod, "open", no_permission, raising=False)
    cache = prepare_cache(str(tiny_folder), size=16, workers=1, progress=False)
    reasons = {s["key"]: s["reason"] for s in skipped_items(cache)}
    assert reasons["train/Baroque/locked.png"].startswith("cannot read: PermissionError")
    assert cache.meta["n_found"] == len(cache.labels) + cache.meta["n_skipped"]


# ---------------------------------------------------------------- crash safety


def test_interrupted_write_keeps_the_old_file(tmp_path: Path) -> None:
    from artstyle.runs import atomic_path, write_json

    target = write_json(tmp_path / "metrics.json", {"epoch": 1})
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text('{"epoch": 2, "half')
            raise KeyboardInterrupt  # killed mid-write
    assert json.loads(target.read_text()) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


# Run in the child process: it stops at a known point (``step`` batches into ``epoch``), says so through a marker
# file, and waits there to be killed. The kill then lands mid-epoch on any machine, however fast or loaded.
_KILL_POINT = '''
import inspect, sys, time
from pathlib import Path

import artstyle.engine as engine
from artstyle.cli import main

marker, at_epoch, at_step = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
real = engine.train_one_epoch


class StopsAt:
    """The loader, blocking before batch ``at_step`` until the test kills this process."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __iter__(self):
        for step, batch in enumerate(self.inner):
            if step == at_step:
                marker.write_text(str(at_epoch))
                time.sleep(300)  # the test kills us long before; never train on
                raise SystemExit(3)
            yield batch


def train_one_epoch(*args, **kwargs):
    bound = inspect.signature(real).bind(*args, **kwargs)
    if bound.arguments["epoch"] == at_epoch:
        bound.arguments["loader"] = StopsAt(bound.arguments["loader"])
    return real(*bound.args, **bound.kwargs)


engine.train_one_epoch = train_one_epoch
main(sys.argv[4:])
'''


def test_sigkill_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    data = make_folder(tmp_path / "d", {"A": 16, "B": 10, "C": 6}, size=24)
    args = ["classify", "train", "--data", str(data), "--size", "32", "--epochs", "4", "--batch-size", "4",
            "--width", "8", "--workers", "0", "--no-progress", "--imbalance", "resample", "--per-class", "24"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cli = [sys.executable, "-m", "artstyle.cli"]
    subprocess.run(cli + args + ["--out", str(tmp_path / "full")], env=env, check=True, capture_output=True, timeout=300)
    epoch, step = 2, 3  # the kill point: 3 optimizer steps into epoch 2, its weights changed in memory, not saved
    cut, marker, script = tmp_path / "cut", tmp_path / "reached-kill-point", tmp_path / "kill_point.py"
    script.write_text(_KILL_POINT)
    log = tmp_path / "cut.log"
    with log.open("wb") as out:
        kill_point = [sys.executable, str(script), str(marker), str(epoch), str(step)]
        proc = subprocess.Popen(kill_point + args + ["--out", str(cut)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240  # a hang guard only: the kill point is the marker, not a moment
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the run never reached epoch {epoch}, step {step}: {log.read_text()[-2000:]}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert json.loads((cut / "last_state.json").read_text())["info"]["epoch"] == epoch - 1
    (cut / ".last_state-e0009.safetensors.abc123.tmp").write_bytes(b"what a kill mid-write leaves")
    subprocess.run(cli + ["classify", "train", "--resume", str(cut), "--no-progress"], env=env, check=True,
                   capture_output=True, timeout=300)
    a, b = load_safetensors(tmp_path / "full" / "last.safetensors"), load_safetensors(cut / "last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in read_jsonl(cut / "metrics.jsonl")] == [1, 2, 3, 4]
    assert not list(cut.glob(".*.tmp")), "resume removes the temporaries of cut-off writes"


def test_nonfinite_loss_stops_and_keeps_last_good_checkpoint(tiny_folder: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.classify as classify

    real = classify.ClassificationTask.training_loss
    calls = {"n": 0}

    def poisoned(self, model, batch):  # noqa: ANN001, ANN202
        calls["n"] += 1
        loss, logs = real(self, model, batch)
        return (loss * float("nan") if calls["n"] > 3 else loss), logs

    monkeypatch.setattr(classify.ClassificationTask, "training_loss", poisoned)
    with pytest.raises(ArtstyleError, match="loss became nan at epoch 2"):
        train_classifier(ClassifyConfig(data=str(tiny_folder), epochs=3, out=str(tmp_path / "r"), **FAST))
    state = json.loads((tmp_path / "r" / "last_state.json").read_text())
    assert state["info"]["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in load_safetensors(tmp_path / "r" / "last.safetensors").values())
    assert read_jsonl(tmp_path / "r" / "metrics.jsonl")[-1]["event"] == "non-finite loss"


def test_run_directories_are_never_reused(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    a = create_run("classify", "x", root=tmp_path)
    b = create_run("classify", "x", root=tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
    with ThreadPoolExecutor(8) as pool:  # concurrent runs started in the same second
        many = list(pool.map(lambda _: create_run("classify", "x", root=tmp_path), range(16)))
    assert len(set(many)) == 16 and not {a, b} & set(many)
    (a / "config.json").write_text("{}")
    with pytest.raises(ArtstyleError, match="--overwrite"):
        prepare_run_dir(a)
    assert prepare_run_dir(a, overwrite=True) == a
    prepare_run_dir(tmp_path / "out")  # an explicit --out is claimed by the first run, even before it writes
    with pytest.raises(ArtstyleError, match="--out"):
        prepare_run_dir(tmp_path / "out")


def test_no_unsafe_torch_load_in_package() -> None:
    src = Path(__file__).parents[1] / "src" / "artstyle"
    for path in src.rglob("*.py"):
        for line in path.read_text().splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, f"{path}: {line.strip()}"


# ---------------------------------------------------------------- user errors: one line, non-zero exit


def run_cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.err + captured.out


def assert_one_line_error(code: int, output: str, *needles: str) -> None:
    assert code != 0
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])


def test_user_errors_are_one_line(tiny_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert_one_line_error(*run_cli(["data", "prepare", "--data", str(tmp_path / "nope")], capsys), "no such file")
    assert_one_line_error(*run_cli(["classify", "train", "--data", str(tiny_folder), "--imbalance", "sometimes"], capsys),
                          "--imbalance", "logit-adjust")
    cache = tmp_path / "cache"
    prepare_cache(str(tiny_folder), size=16, out=cache, workers=1)
    assert_one_line_error(*run_cli(["classify", "train", "--cache", str(cache), "--size", "32"], capsys),
                          "16 px", "32 px")
    run = train_classifier(ClassifyConfig(data=str(tiny_folder), epochs=1, **FAST))
    other = make_folder(tmp_path / "other", {"Cubism": 3, "Baroque": 3})
    assert_one_line_error(*run_cli(["classify", "evaluate", str(run), "--data", str(other)], capsys),
                          "Cubism", "Known classes")
    assert_one_line_error(*run_cli(["classify", "predict", str(tmp_path / "no-run"), str(other)], capsys),
                          "does not exist")


def test_full_disk_while_writing_cache(tiny_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    import artstyle.data.cache as cache_mod

    def no_space(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod, "write_text", no_space)
    code, output = run_cli(["data", "prepare", "--data", str(tiny_folder), "--out", str(tmp_path / "c"), "--workers", "1"],
                           capsys)
    assert_one_line_error(code, output, "disk full")
    assert not (tmp_path / "c").exists()
    assert not list(tmp_path.glob(".c.tmp-*"))


def test_debug_shows_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "artstyle.cli", "--debug", "data", "prepare", "--data",
                           str(tmp_path / "nope")], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ArtstyleError" in proc.stderr


def test_os_errors_outside_the_cache_are_one_line(tiny_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    import artstyle.data.stats as stats_mod

    def denied(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "stats" / "counts.png"))

    monkeypatch.setattr(stats_mod, "plot_class_counts", denied)
    code, output = run_cli(["data", "stats", "--data", str(tiny_folder), "--out", str(tmp_path / "stats")], capsys)
    assert_one_line_error(code, output, "Permission denied", "counts.png", "--debug")


def test_a_pass_cut_by_the_time_budget_averages_its_logs_over_the_steps_taken(monkeypatch) -> None:
    """The training logs of an epoch the deadline cuts are means over the steps that ran (three here), not over
    one step more: a constant log stays exactly that constant."""
    import torch
    from accelerate import Accelerator

    from artstyle import engine
    from artstyle.settings import TrainSettings

    class Constant:
        def training_loss(self, model, batch):
            return model(batch[0]).pow(2).mean(), {"one": 1.0}

    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    loader = [(torch.ones(4, 2), torch.zeros(4))] * 10
    calls = iter(range(100))
    monkeypatch.setattr(engine, "past_deadline", lambda deadline, acc: next(calls) >= 3)
    logs = engine.train_one_epoch(model, Constant(), loader, opt, sched, Accelerator(cpu=True), 1,
                                  TrainSettings(progress=False), list(model.parameters()), deadline=1.0)
    assert logs["train_one"] == 1.0


def test_a_run_after_another_precision_in_the_same_process_gets_its_own(tmp_path: Path) -> None:
    """Accelerate's state is one per process and refuses a second mixed precision. A run after a bare
    ``Accelerator()`` (fp32) or after an fp32 run, as a notebook or the test suite makes them, still gets the
    precision it asked for instead of Accelerate's ValueError."""
    from accelerate import Accelerator

    from artstyle.engine import make_accelerator, reset_accelerate_state

    reset_accelerate_state()  # whatever an earlier test in this process left
    try:
        assert Accelerator(cpu=True).mixed_precision == "no"
        assert make_accelerator("bf16").mixed_precision == "bf16"
        assert make_accelerator("bf16").mixed_precision == "bf16"  # the same precision keeps the state
        assert make_accelerator("fp32").mixed_precision == "no"
    finally:
        reset_accelerate_state()
