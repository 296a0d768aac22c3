"""``--compile``: when the training step is compiled, that the compiled module is the one that trains, and that a
compiled run saves and reloads as an eager one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artstyle.compiling import COMPILE_MIN_STEPS, compile_decision
from artstyle.errors import ArtstyleError
from artstyle.models.classifier import build_classifier
from conftest import make_folder


def test_auto_compiles_only_long_runs_of_models_that_gain(monkeypatch: pytest.MonkeyPatch) -> None:
    texture, resnet = build_classifier("texture", 3, 16, width=8), build_classifier("resnet", 3, 16, width=8)
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)
    assert compile_decision(texture, "auto", COMPILE_MIN_STEPS)[0]
    assert compile_decision(texture, "auto", COMPILE_MIN_STEPS, time_budget=600)[0]
    assert not compile_decision(texture, "auto", COMPILE_MIN_STEPS, time_budget=60)[0]  # the compile would eat it
    assert not compile_decision(texture, "auto", COMPILE_MIN_STEPS - 1)[0]  # too short to repay compiling
    assert not compile_decision(resnet, "auto", 10 * COMPILE_MIN_STEPS)[0]  # not measured faster compiled
    assert compile_decision(resnet, "on", 1) == (True, "--compile on")
    assert compile_decision(texture, "off", 10 * COMPILE_MIN_STEPS) == (False, "--compile off")
    with pytest.raises(ArtstyleError, match="--compile 'yes' is not one of"):
        compile_decision(texture, "yes", 1)
    if not torch.cuda.is_available():
        asked = []
        monkeypatch.setattr("shutil.which", lambda name: asked.append(name))
        monkeypatch.setenv("CXX", "clang++")
        compiles, why = compile_decision(texture, "auto", 10 * COMPILE_MIN_STEPS)
        assert not compiles and "clang++" in why and asked == ["clang++"]  # inductor's compiler: $CXX, else g++


class _Spy(torch.nn.Module):
    """Stands in for the compiled module: counts the training calls and passes them to the real one."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.inner(x)


def _train(tmp_path: Path, compile: str):
    from artstyle.classify import ClassifyConfig, train_classifier

    root = make_folder(tmp_path / "d", {"Baroque": 6, "Pop_Art": 6}, size=32)
    return train_classifier(ClassifyConfig(data=str(root), size=16, epochs=2, batch_size=4, width=8, workers=0,
                                           progress=False, per_class=4, compile=compile, out=str(tmp_path / "run")))


def test_the_compiled_module_is_the_one_that_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from artstyle.classify import load_classifier
    from artstyle.runs import load_safetensors, read_json

    spies: list[_Spy] = []
    monkeypatch.setattr("artstyle.engine.compiled", lambda model: spies.append(_Spy(model)) or spies[-1])
    run = _train(tmp_path, "on")
    assert len(spies) == 1 and spies[0].calls == 2 * 2  # every training step of both epochs went through it
    trained = spies[0].inner
    assert read_json(run / "metrics.json")["training"]["compiled"]
    saved = load_safetensors(run / "last.safetensors")
    assert not any(k.startswith(("_orig_mod", "inner")) for k in saved)  # the plain module's names
    assert all(torch.equal(saved[k], v) for k, v in trained.state_dict().items())  # its weights, as trained
    load_classifier(run)


def test_a_really_compiled_run_trains_saves_and_reloads(tmp_path: Path) -> None:
    from artstyle.classify import load_classifier
    from artstyle.runs import load_safetensors, read_json

    run = _train(tmp_path, "on")
    training = read_json(run / "metrics.json")["training"]
    assert training["compiled"] and training["compile"] == "--compile on"
    from artstyle.engine import resolve_precision

    assert training["precision"] == resolve_precision("auto")  # recorded: bf16 on a CPU with AMX, else fp32
    assert read_json(run / "config.json")["config"]["compile"] == "on"
    assert not any("_orig_mod" in k for k in load_safetensors(run / "best.safetensors"))
    load_classifier(run)


def test_a_failed_compile_stops_with_an_error_that_names_the_way_out(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from torch._dynamo.exc import TorchDynamoException

    class _Broken(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise TorchDynamoException("no C++ compiler\nmore detail")

    monkeypatch.setattr("artstyle.engine.compiled", lambda model: _Broken())
    with pytest.raises(ArtstyleError, match=r"compiling the training step failed \(TorchDynamoException: no C\+\+ "
                                            r"compiler\); rerun with --compile off"):
        _train(tmp_path, "on")
