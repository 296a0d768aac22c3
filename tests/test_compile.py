"""``--compile``: when the training step is compiled, and that a compiled run trains, saves and reloads as eager."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artstyle.engine import COMPILE_MIN_STEPS, compile_decision
from artstyle.errors import ArtstyleError
from artstyle.models.classifier import build_classifier
from conftest import make_folder


def test_auto_compiles_only_long_runs_of_models_that_gain(monkeypatch: pytest.MonkeyPatch) -> None:
    texture, resnet = build_classifier("texture", 3, 16, width=8), build_classifier("resnet", 3, 16, width=8)
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)
    assert compile_decision(texture, "auto", COMPILE_MIN_STEPS)[0]
    assert not compile_decision(texture, "auto", COMPILE_MIN_STEPS - 1)[0]  # too short to repay compiling
    assert not compile_decision(resnet, "auto", 10 * COMPILE_MIN_STEPS)[0]  # not measured faster compiled
    assert compile_decision(resnet, "on", 1) == (True, "--compile on")
    assert compile_decision(texture, "off", 10 * COMPILE_MIN_STEPS) == (False, "--compile off")
    with pytest.raises(ArtstyleError, match="--compile 'yes' is not one of"):
        compile_decision(texture, "yes", 1)
    if not torch.cuda.is_available():
        monkeypatch.setattr("shutil.which", lambda name: None)
        compiles, why = compile_decision(texture, "auto", 10 * COMPILE_MIN_STEPS)
        assert not compiles and "no C++ compiler" in why


def test_a_compiled_run_trains_saves_and_reloads(tmp_path: Path) -> None:
    from artstyle.classify import ClassifyConfig, load_classifier, train_classifier
    from artstyle.runs import read_json

    root = make_folder(tmp_path / "d", {"Baroque": 6, "Pop_Art": 6}, size=32)
    run = train_classifier(ClassifyConfig(data=str(root), size=16, epochs=2, batch_size=4, width=8, workers=0,
                                          progress=False, per_class=4, compile="on", out=str(tmp_path / "run")))
    training = read_json(run / "metrics.json")["training"]
    assert training["compiled"] and training["compile"] == "--compile on"
    assert read_json(run / "config.json")["config"]["compile"] == "on"
    model, _ = load_classifier(run)  # plain parameter names: the compiled wrapper's prefix never reaches the file
    assert not any("_orig_mod" in k for k in model.state_dict())
