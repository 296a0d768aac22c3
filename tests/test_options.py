"""Every option does what it says (issue 16).

``test_every_option_reaches_its_stage`` walks every command of ``artstyle`` (``cli.build_app``) and every option
of it. Each option is given a value other than the one the command uses without it; the stage function the
command calls is replaced by a recorder, and the value must arrive there (as an argument, or as a field of the
config it is given, which the stage writes to its run's ``config.json``). An option that arrives nowhere fails,
unless ``NO_VISIBLE_EFFECT`` lists it with a reason. A new option is therefore checked the day it is added.

The other tests run the real commands on tiny data for the options issue 16 found ignored or overwriting.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
import typer

from artstyle.cli import build_app
from artstyle.errors import ArtstyleError
from conftest import make_folder

# command -> the stage functions it calls ("module:attribute"; replaced by recorders) and the arguments it needs.
STAGE_CALLS: dict[str, tuple[list[str], list[str]]] = {
    "run": (["artstyle.pipeline:run_pipeline"], []),
    "report": (["artstyle.report:write_report"], ["R1"]),
    "data synth": (["artstyle.data.synth:write_builtin"], ["OUT"]),
    "data prepare": (["artstyle.data.cache:prepare_cache"], []),
    "data stats": (["artstyle.data.cache:prepare_cache", "artstyle.runs:prepare_run_dir",
                    "artstyle.data.stats:write_stats"], []),
    "classify train": (["artstyle.classify:train_classifier"], []),
    "classify evaluate": (["artstyle.classify:evaluate_classifier"], ["RUN"]),
    "classify predict": (["artstyle.api:predict_files"], ["RUN", "a.png"]),
    "classify compare": (["artstyle.classify:compare_strategies"], []),
    "embed train": (["artstyle.embed:train_autoencoder"], []),
    "embed export": (["artstyle.embed:export_embeddings"], ["--kind", "pixels"]),
    "cluster fit": (["artstyle.cluster:cluster_embeddings"], ["E.npz"]),
    "cluster compare": (["artstyle.cluster:compare_embeddings"], ["A.npz", "B.npz"]),
    "stylize train": (["artstyle.stylize:train_stylizer"], []),
    "stylize render": (["artstyle.stylize:render"], ["RUN", "--images", "a.png"]),
    "stylize evaluate": (["artstyle.stylize:evaluate_stylizer"], ["RUN", "--judge", "J"]),
    "lora train": (["artstyle.lora:train_lora"], []),
    "lora generate": (["artstyle.lora:generate"], ["RUN"]),
    "serve": (["artstyle.serve:serve"], ["PIPELINE"]),
}

# Options whose value is not recorded anywhere, each with the reason. Keep it short: every entry is a question.
NO_VISIBLE_EFFECT: dict[str, str] = {
    "artstyle --debug": "shows a traceback instead of the one error: line; checked by its environment variable",
    "artstyle --threads": "sets torch's thread count for the process; checked by its environment variable",
}

# Values for options whose type alone does not say what a valid, non-default value is.
VALUES: dict[str, str] = {
    "--policy": "pad", "--pool": "gem", "--precision": "bf16", "--model": "simple-cnn", "--imbalance": "resample",
    "--weighting": "inverse", "--arch": "conv", "--loss": "l1", "--kind": "color-hist", "--split": "val",
    "--color-by": "cluster", "--style-source": "mean-latent", "--crop": "random", "--lr-scheduler": "cosine",
    "--mixed-precision": "fp16", "--profile": "tiny", "--methods": "kmeans,gmm", "--maps": "pca",
    "--strategies": "none,crt", "--models": "resnet,simple-cnn", "--styles": "Baroque,Pop_Art",
    "--target-modules": "to_q,to_v", "--text-encoder-target-modules": "q_proj",
    "--validation-styles": "Baroque", "--device": "cpu", "--map": "pca",
    "--cache-latents": "off", "--prediction-type": "v_prediction", "--compile": "on", "--keep": "last",
    "--picture-stats": "on", "--judge-view": "network", "--adv-input": "classifier",
}
# Options checked by a test of their own (what they change is the printed output), with that test.
CHECKED_ELSEWHERE: dict[str, str] = {
    "classify predict --json": "test_predict_json_prints_json",
}
# Where one command takes another value than the others' (lora's --split chooses among train, train+val, all).
VALUES_BY_COMMAND: dict[str, str] = {"lora train --split": "all"}
# Where a value lands under another name (the deprecated alias is folded into --precision at once).
RENAMED = {"lora train --mixed-precision": "precision", "data prepare --data": "spec"}
# Options that only act together with another one.
WITH = {"data stats --overwrite": ["--out", "S"], "data stats --out": ["--overwrite"]}
_MISSING = object()


class _Recorder:
    """Stands in for a stage function: records how it was called and returns a harmless stand-in."""

    def __init__(self, real: Any, calls: list[dict[str, Any]]) -> None:
        self.real = real.real if isinstance(real, _Recorder) else real
        self.signature = inspect.signature(self.real)
        self.calls = calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from unittest import mock

        self.calls.append(dict(self.signature.bind(*args, **kwargs).arguments))
        return mock.MagicMock()


def _commands() -> dict[str, Any]:
    """``{"classify train": click command, ...}`` for every leaf command of the CLI."""
    found: dict[str, Any] = {}

    def walk(cmd: Any, path: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name]) if hasattr(sub, "commands") else found.setdefault(" ".join([*path, name]), sub)

    walk(typer.main.get_command(build_app()), [])
    return found


def _options(cmd: Any) -> list[Any]:
    return [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v) if isinstance(v, Path) else v


def _find(calls: list[dict[str, Any]], name: str) -> Any:
    """The value ``name`` arrived with: an argument, or a field of a config dataclass argument."""
    for call in calls:
        if name in call:
            return call[name]
        for value in call.values():
            if dataclasses.is_dataclass(value) and hasattr(value, name):
                return getattr(value, name)
    return _MISSING


_CLI: list[Any] = []


def _invoke(monkeypatch: pytest.MonkeyPatch, command: str, args: list[str]) -> list[dict[str, Any]]:
    """Run ``artstyle <command> <args>`` with its stage functions recorded; returns the recorded calls."""
    import importlib

    if not _CLI:  # import every module first: none may bind a recorder with `from ... import` while it is in place
        import pkgutil

        import artstyle

        for info in pkgutil.walk_packages(artstyle.__path__, "artstyle."):
            if not info.name.endswith("__main__"):
                try:
                    importlib.import_module(info.name)
                except ImportError:  # an optional extra (diffusers, peft) that is not installed
                    pass
    calls: list[dict[str, Any]] = []
    for target in STAGE_CALLS[command][0]:
        module, attr = target.split(":")
        mod = importlib.import_module(module)
        monkeypatch.setattr(mod, attr, _Recorder(getattr(mod, attr), calls), raising=False)
    if not _CLI:
        _CLI.append(typer.main.get_command(build_app()))
    cli = _CLI[0]
    try:
        cli.main(args=[*command.split(), *STAGE_CALLS[command][1], *args], prog_name="artstyle",
                 standalone_mode=False)
    except (Exception, SystemExit):  # noqa: BLE001 - what the command does with the stand-ins does not matter
        pass
    return calls


def _kind(opt: Any) -> str:
    """integer, float, path or text: from the annotation (typer >= 0.20) or the click type (older typers)."""
    described = getattr(opt, "type_descriptor", None)
    name = repr(described.annotation) if described is not None else getattr(getattr(opt, "type", None), "name", "")
    for kind, marks in (("integer", ("int",)), ("float", ("float",)), ("path", ("Path", "path"))):
        if any(m in name for m in marks):
            return kind
    return "text"


def _other_value(opt: Any, now: Any, tmp_path: Path) -> tuple[list[str], Any]:
    """Command-line words giving ``opt`` a value other than ``now``, and the value expected to arrive."""
    flag = opt.opts[0]
    if opt.is_flag or opt.is_bool_flag:
        if now:
            return [opt.secondary_opts[0]], False
        return [flag], True
    if flag in VALUES:
        return [flag, VALUES[flag]], VALUES[flag]
    kind = _kind(opt)
    if kind == "integer":
        value = (now if isinstance(now, int) else 1) + 2
        return [flag, str(value)], value
    if kind == "float":
        value = (now if isinstance(now, (int, float)) else 0.0) + 0.25
        return [flag, str(value)], value
    if kind == "path":
        return [flag, str(tmp_path / "given")], str(tmp_path / "given")
    return [flag, "given-value"], "given-value"


def _arrived(expected: Any, got: Any) -> bool:
    if got is _MISSING:
        return False
    if isinstance(got, (list, tuple)) and not isinstance(expected, (list, tuple)) and "," not in str(expected):
        return str(expected) in [str(g) for g in got]
    if isinstance(expected, float) and isinstance(got, (int, float)):
        return abs(got - expected) < 1e-9
    return _norm(got) == _norm(expected)


def test_every_command_is_known() -> None:
    assert sorted(_commands()) == sorted(STAGE_CALLS), "add the new command to STAGE_CALLS"


def test_every_option_reaches_its_stage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the stand-in results are MagicMocks: a path made of one lands here, not in the repo
    for name in ("ARTSTYLE_DEBUG", "ARTSTYLE_THREADS"):  # set, then unset: teardown removes what the CLI sets
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    toml = tmp_path / "c.toml"
    toml.write_text("seed = 7\n")
    failures, checked = [], set()
    for command, cmd in _commands().items():
        baseline = _invoke(monkeypatch, command, [])
        assert baseline, f"{command}: none of {STAGE_CALLS[command][0]} was called"
        for opt in _options(cmd):
            key = f"{command} {opt.opts[0]}"
            checked.add(key)
            if key in NO_VISIBLE_EFFECT or key in CHECKED_ELSEWHERE:
                continue
            extra = WITH.get(key, [])
            if opt.name == "config" and command != "run":  # a settings TOML file: its settings arrive like flags
                words, name, expected = ["--config", str(toml)], "seed", 7
            elif key in VALUES_BY_COMMAND:
                name, expected = RENAMED.get(key, opt.name), VALUES_BY_COMMAND[key]
                words = [opt.opts[0], expected]
            else:
                name = RENAMED.get(key, opt.name)
                now = _find(_invoke(monkeypatch, command, extra), name)
                words, expected = _other_value(opt, None if now is _MISSING else now, tmp_path)
            got = _find(_invoke(monkeypatch, command, [*extra, *words]), name)
            if not _arrived(expected, got):
                failures.append(f"{key}: gave {expected!r}, the stage got {'nothing' if got is _MISSING else repr(got)}")
    assert not failures, "options that change nothing (fix them, or list them in NO_VISIBLE_EFFECT):\n" + "\n".join(failures)
    stale = [k for k in [*NO_VISIBLE_EFFECT, *CHECKED_ELSEWHERE] if k not in checked and not k.startswith("artstyle ")]
    assert not stale, f"NO_VISIBLE_EFFECT lists options that no longer exist: {stale}"


def test_root_options_set_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ARTSTYLE_DEBUG", "ARTSTYLE_THREADS"):  # set, then unset: teardown removes what the CLI sets
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    root = typer.main.get_command(build_app())
    assert sorted(p.opts[0] for p in _options(root)) == ["--debug", "--threads"]
    _invoke(monkeypatch, "data synth", [])  # imports every module before anything is replaced
    calls: list[dict[str, Any]] = []
    import artstyle.data.synth as synth

    monkeypatch.setattr(synth, "write_builtin", _Recorder(synth.write_builtin, calls))
    root.main(args=["--debug", "--threads", "3", "data", "synth", "OUT"], prog_name="artstyle", standalone_mode=False)
    assert calls and os.environ["ARTSTYLE_THREADS"] == "3" and os.environ["ARTSTYLE_DEBUG"] == "1"


# --------------------------------------------------------------------------- the real commands, tiny data

def _cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    from artstyle.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.err + captured.out


def _one_error(code: int, output: str, *needles: str) -> None:
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in output, output
    assert all(n in errors[0] for n in needles), (needles, errors[0])


@pytest.fixture(scope="module")
def padded_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A classifier trained on a cache built with the ``pad`` policy (not the default center-crop)."""
    from artstyle.classify import ClassifyConfig, train_classifier
    from artstyle.data.cache import prepare_cache

    root = tmp_path_factory.mktemp("padded")
    with pytest.MonkeyPatch.context() as mp:  # the autouse isolation fixture is function-scoped
        mp.setenv("ARTSTYLE_CACHE", str(root / "cache-root"))
        mp.setenv("ARTSTYLE_RUNS", str(root / "runs"))
        data = make_folder(root / "data", {"Baroque": 6, "Pop_Art": 4})
        cache = prepare_cache(str(data), size=16, policy="pad", out=root / "cache", workers=1, progress=False)
        run = train_classifier(ClassifyConfig(data=str(data), cache=str(cache.root), size=16, epochs=1, width=8,
                                              max_steps_per_epoch=2, batch_size=8, workers=0, progress=False,
                                              imbalance="none", out=str(root / "run"), threads=1))
    yield {"run": run, "data": data}


def test_evaluate_decodes_with_the_runs_resize_policy(padded_run: dict[str, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "ev"
    code, output = _cli(["classify", "evaluate", str(padded_run["run"]), "--data", str(padded_run["data"]),
                         "--out", str(out)], capsys)
    assert code == 0, output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["resize"] == "pad" and metrics["data"]["size"] == 16
    assert json.loads((out / "config.json").read_text())["input"] == {"size": 16, "resize": "pad"}


def test_evaluate_names_the_split_it_scored(padded_run: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    args = ["classify", "evaluate", str(padded_run["run"]), "--data", str(padded_run["data"])]
    code, output = _cli([*args, "--out", str(tmp_path / "ev")], capsys)
    assert code == 0 and "Test split" in output, output
    code, output = _cli([*args, "--split", "train", "--out", str(tmp_path / "ev-train")], capsys)
    assert code == 0 and "Train split" in output and "Test split" not in output, output


def test_predict_json_prints_json(padded_run: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    image = next((padded_run["data"] / "test" / "Baroque").iterdir())
    code, table = _cli(["classify", "predict", str(padded_run["run"]), str(image)], capsys)
    assert code == 0 and "Baroque" in table
    with pytest.raises(json.JSONDecodeError):
        json.loads(table)
    code, output = _cli(["classify", "predict", str(padded_run["run"]), str(image), "--json"], capsys)
    assert code == 0 and json.loads(output)["predictions"][0]["path"] == str(image)


def test_evaluate_refuses_a_non_empty_out_without_overwrite(padded_run: dict[str, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    args = ["classify", "evaluate", str(padded_run["run"]), "--data", str(padded_run["data"]), "--out", str(out)]
    _one_error(*_cli(args, capsys), str(out), "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    code, output = _cli([*args, "--overwrite"], capsys)
    assert code == 0, output
    assert (out / "metrics.json").is_file()
    _one_error(*_cli([*args[:-1], str(padded_run["run"]), "--overwrite"], capsys), "holds the run")
    assert (padded_run["run"] / "best.safetensors").is_file()


def test_render_refuses_a_non_empty_out_without_overwrite(tmp_path: Path) -> None:
    from artstyle.stylize.rendering import _explicit_out

    run, out = tmp_path / "run", tmp_path / "renders"
    run.mkdir()
    out.mkdir()
    (out / "photo.png").write_bytes(b"x")
    with pytest.raises(ArtstyleError, match=r"renders is not empty; pass --overwrite"):
        _explicit_out(out, run, overwrite=False)
    assert _explicit_out(out, run, overwrite=True, clear=True) == out
    assert (out / "photo.png").is_file()  # not an earlier render: written into, never emptied
    (out / "config.json").write_text(json.dumps({"stage": "stylize-render", "command": "artstyle stylize render"}))
    _explicit_out(out, run, overwrite=True, clear=True)
    assert not any(out.iterdir())  # an earlier render is replaced whole
    with pytest.raises(ArtstyleError, match="holds the stylize run"):
        _explicit_out(tmp_path, run, overwrite=True)


def test_lora_generate_refuses_a_non_empty_out_without_overwrite(tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    from artstyle.lora.config import LoraGenerateConfig
    from artstyle.lora.generation import output_dir

    run = tmp_path / "run"
    (run / "figures" / "generate").mkdir(parents=True)
    (run / "figures" / "generate" / "Baroque.png").write_bytes(b"x")
    with pytest.raises(ArtstyleError, match="--overwrite"):
        output_dir(LoraGenerateConfig(run=str(run)), run)  # the default folder holds an earlier generate
    out = tmp_path / "gen"
    out.mkdir()
    (out / "a.txt").write_text("x")
    with pytest.raises(ArtstyleError, match=f"{out} already holds files"):
        output_dir(LoraGenerateConfig(run=str(run), out=str(out)), run)
    assert output_dir(LoraGenerateConfig(run=str(run), out=str(out)), run, overwrite=True, clear=True) == out
    assert (out / "a.txt").is_file()


def test_help_describes_options_without_quoting_results() -> None:
    from artstyle.classify.config import ClassifyConfig
    from artstyle.config import field_help

    text = field_help(ClassifyConfig, "imbalance")
    assert "points" not in text and "docs/" not in text and "crt" in text


def test_strategies_stamp_stays_clear_of_the_tick_labels() -> None:
    from artstyle.constants import SYNTHETIC_NOTE
    from artstyle.figures import plt
    from artstyle.figures.classify import plot_strategies

    row = {"accuracy": 0.5, "balanced_accuracy": 0.4, "macro_f1": 0.3, "accuracy_std": 0.01,
           "balanced_accuracy_std": 0.01, "macro_f1_std": 0.01}
    table = [{**row, "model": m, "strategy": s} for m in ("resnet", "simple-cnn")
             for s in ("none", "resample", "weighted-loss", "logit-adjust", "crt")]
    fig = plot_strategies(table, synthetic=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    stamp = next(t for t in fig.texts if t.get_text() == SYNTHETIC_NOTE).get_window_extent(renderer)
    ticks = [t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and not any(stamp.overlaps(t) for t in ticks)
    assert stamp.y1 <= min(t.y0 for t in ticks)  # below the labels, not beside them
    plt().close(fig)


def test_resumed_pipeline_on_a_synth_folder_keeps_the_synthetic_banner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture) -> None:
    import artstyle.pipeline.run as pipeline_run
    from artstyle.constants import SYNTHETIC_MARKER
    from artstyle.pipeline import PipelineConfig

    data = make_folder(tmp_path / "synth", {"Baroque": 4, "Pop_Art": 3}, size=16)
    (data / SYNTHETIC_MARKER).write_text(json.dumps({"synthetic": True, "generator": "artstyle.data.synth"}))
    monkeypatch.setattr(pipeline_run, "STAGES", {"data": pipeline_run.STAGES["data"]})  # the data stage alone
    cfg = PipelineConfig(data=str(data), profile="tiny", out=str(tmp_path / "pipe"), progress=False)
    pipeline_run.run_pipeline(cfg)
    capsys.readouterr()
    pipeline_run.run_pipeline(cfg)
    resumed = capsys.readouterr().out
    assert "already done" in resumed and "SYNTHETIC DATA" in resumed and "(SYNTHETIC data)" in resumed
