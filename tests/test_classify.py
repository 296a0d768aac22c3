"""Classifier models, imbalance strategies, the training engine, resume, evaluation by class name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from artstyle.classify import (ClassifyConfig, class_weights, evaluate_classifier, load_classifier, logit_offsets,
                               map_classes, predict, train_classifier)
from artstyle.data.sampler import ClassBalancedSampler
from artstyle.errors import ArtstyleError
from artstyle.models.classifier import CLASSIFIERS, build_classifier
from artstyle.runs import load_safetensors, read_json, read_jsonl
from conftest import make_folder

FAST = dict(size=32, epochs=2, batch_size=8, workers=0, progress=False, width=8, max_steps_per_epoch=3)


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_models_forward_backward(name: str) -> None:
    model = build_classifier(name, num_classes=5, img_size=32, width=8)
    x = torch.randn(4, 3, 32, 32)
    out = model(x)
    assert out.shape == (4, 5)
    assert model.forward_features(x).shape[0] == 4
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_train_writes_complete_run_and_reloads(tiny_folder: Path) -> None:
    run = train_classifier(ClassifyConfig(data=str(tiny_folder), **FAST))
    for name in ("config.json", "classes.json", "metrics.jsonl", "metrics.json", "best.safetensors",
                 "last.safetensors", "figures/confusion.png"):
        assert (run / name).is_file(), name
    assert read_json(run / "classes.json")["classes"] == ["Baroque", "Pop_Art", "Ukiyo_e"]
    assert [r["epoch"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2]
    metrics = read_json(run / "metrics.json")
    assert 0 <= metrics["balanced_accuracy"] <= 1 and metrics["baselines"]["majority_class"] == "Baroque"
    model, info = load_classifier(run)
    assert info["classes"] == ["Baroque", "Pop_Art", "Ukiyo_e"] and not model.training
    img = next((tiny_folder / "test" / "Pop_Art").iterdir())
    preds, skipped = predict(run, [img, tiny_folder / "missing.jpg"], topk=2)
    assert len(preds) == 1 and len(preds[0]["top"]) == 2 and skipped[0]["path"].endswith("missing.jpg")
    assert abs(sum(p["probability"] for p in predict(run, [img], topk=3)[0][0]["top"]) - 1) < 1e-4


def test_classifier_learns(tmp_path: Path) -> None:
    data = make_folder(tmp_path / "d", {"A": 24, "B": 24, "C": 24}, size=24)
    run = train_classifier(ClassifyConfig(data=str(data), size=24, epochs=6, batch_size=16, workers=0, progress=False,
                                          width=8, lr=5e-3, imbalance="none", augment=False))
    assert read_json(run / "metrics.json")["balanced_accuracy"] > 0.6


def test_sampler_targets_per_class() -> None:
    labels = np.array([0] * 100 + [1] * 10 + [2] * 3)
    sampler = ClassBalancedSampler(labels, per_class=20, seed=0)
    counts = np.bincount(labels[list(sampler)], minlength=3)
    assert counts.tolist() == [20, 20, 20] and len(sampler) == 60
    draw = list(sampler)
    assert len(set(draw[:0] + [i for i in draw if labels[i] == 0])) == 20  # big class: no repeats
    sampler.set_epoch(1)
    assert list(sampler) != draw
    sampler.set_epoch(0)
    assert list(sampler) == draw


def test_loss_weights_and_offsets() -> None:
    counts = np.array([1000, 100, 10, 0])
    inv = class_weights(counts, "inverse")
    assert inv[3] == 0 and inv[2] > inv[1] > inv[0] and abs(inv[:3].mean() - 1) < 1e-9
    eff = class_weights(counts, "effective", beta=0.999)
    assert eff[2] > eff[1] > eff[0] and eff[2] / eff[0] < inv[2] / inv[0]  # effective number is gentler
    off = logit_offsets(counts, tau=1.0)
    np.testing.assert_allclose(off[0] - off[1], np.log(10))
    cfg = ClassifyConfig(imbalance="logit-adjust")
    assert cfg.tau == 1.0


def test_each_strategy_trains(tiny_folder: Path) -> None:
    for strategy in ("resample", "weighted-loss", "crt"):
        run = train_classifier(ClassifyConfig(data=str(tiny_folder), imbalance=strategy, crt_epochs=1, per_class=8,
                                              **FAST))
        cfg = read_json(run / "config.json")
        assert cfg["strategy"]["imbalance"] == strategy
        if strategy == "weighted-loss":
            w = cfg["strategy"]["class_weights"]
            assert w[0] < w[2]  # Baroque (12) weighs less than Ukiyo_e (6)
        if strategy == "crt":
            head_before = load_safetensors(run / "stage1_best.safetensors")["head.weight"]
            head_after = load_safetensors(run / "best.safetensors")["head.weight"]
            body = [k for k in head_before if False]
            assert not torch.equal(head_before, head_after)
            s1, s2 = load_safetensors(run / "stage1_best.safetensors"), load_safetensors(run / "best.safetensors")
            assert all(torch.equal(s1[k], s2[k]) for k in s1 if not k.startswith("head.")), body


def test_resume_matches_uninterrupted_run(tiny_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.engine as engine

    cfg = dict(data=str(tiny_folder), imbalance="resample", per_class=8, **FAST)
    cfg["epochs"] = 3
    full = train_classifier(ClassifyConfig(out=str(tmp_path / "full"), **cfg))

    real = engine.train_one_epoch

    def crash_on_epoch_3(*args, **kwargs):  # noqa: ANN002, ANN003
        if args[6] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "train_one_epoch", crash_on_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(ClassifyConfig(out=str(tmp_path / "cut"), **cfg))
    monkeypatch.setattr(engine, "train_one_epoch", real)
    assert [r["epoch"] for r in read_jsonl(tmp_path / "cut" / "metrics.jsonl")] == [1, 2]
    train_classifier(ClassifyConfig(resume=str(tmp_path / "cut"), progress=False))
    a, b = load_safetensors(full / "last.safetensors"), load_safetensors(tmp_path / "cut" / "last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in read_jsonl(tmp_path / "cut" / "metrics.jsonl")] == [1, 2, 3]


def test_evaluation_maps_classes_by_name(tiny_folder: Path, tmp_path: Path) -> None:
    run = train_classifier(ClassifyConfig(data=str(tiny_folder), **FAST))
    # Evaluation data with a subset of classes: Pop_Art is index 0 here but index 1 in the run.
    other = make_folder(tmp_path / "other", {"Pop_Art": 3, "Ukiyo_e": 3}, seed=5)
    dest = evaluate_classifier(run, str(other), split="test")
    report = read_json(dest / "metrics.json")
    assert report["per_class"]["Baroque"]["support"] == 0
    assert report["per_class"]["Pop_Art"]["support"] == report["per_class"]["Ukiyo_e"]["support"] > 0
    with pytest.raises(ArtstyleError, match="Known classes: Baroque, Pop_Art, Ukiyo_e"):
        map_classes(["Baroque", "Pop_Art", "Ukiyo_e"], ["Cubism"])
    assert map_classes(["Art_Nouveau_Modern", "Baroque"], ["Baroque", "Art_Nouveau"]).tolist() == [1, 0]


def test_tampered_checkpoint_is_a_clear_error(tiny_folder: Path) -> None:
    run = train_classifier(ClassifyConfig(data=str(tiny_folder), **FAST))
    data = (run / "best.safetensors").read_bytes()
    (run / "best.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtstyleError, match="not a valid safetensors"):
        load_classifier(run)


def test_ddp_two_cpu_processes(tiny_folder: Path, tmp_path: Path) -> None:
    """torchrun (what ``accelerate launch`` runs) with 2 gloo processes writes one loadable run."""
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
           "-m", "artstyle.cli", "classify", "train", "--data", str(tiny_folder), "--size", "32", "--epochs", "1",
           "--batch-size", "4", "--width", "8", "--workers", "0", "--no-progress", "--max-steps-per-epoch", "2",
           "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    model, info = load_classifier(out)
    assert info["classes"] == ["Baroque", "Pop_Art", "Ukiyo_e"]
    assert json.loads((out / "metrics.json").read_text())["n"] > 0
    assert len(list((tmp_path / "runs").glob("classify/*"))) == 0  # no stray second run directory
