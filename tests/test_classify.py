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

from artstyle.classify import (ClassificationTask, ClassifyConfig, class_weights, evaluate_classifier, load_classifier,
                               logit_offsets, map_classes, predict, train_classifier)
from artstyle.classify.train import check_options
from artstyle.data.sampler import ClassBalancedSampler
from artstyle.errors import ArtstyleError
from artstyle.models.classifier import CLASSIFIERS, build_classifier
from artstyle.runs import load_safetensors, read_json, read_jsonl
from conftest import interrupted_at_epoch, make_folder

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


def test_texture_sees_the_high_pass_residual_and_old_runs_load_without_it() -> None:
    from artstyle.classify.load import build_from_args
    from artstyle.models.classifier import HighPass

    flat = torch.full((1, 3, 8, 8), 0.3)
    out = HighPass()(flat)
    assert torch.equal(out[:, :3], flat) and out[:, 3:].abs().max() < 1e-6  # no texture in a flat image
    assert HighPass()(flat + 0.1 * torch.randn(1, 3, 8, 8))[:, 3:].abs().mean() > 0.1
    old = {"arch": "texture", "num_classes": 3, "img_size": 16, "width": 8, "depth": 1, "pool": "avg"}
    assert build_from_args(old).stages[0][0][0].in_channels == 12  # a run from before the high-pass input: RGB only
    assert build_from_args({**old, "highpass": True}).stages[0][0][0].in_channels == 24
    odd = build_from_args({**old, "highpass": True}).eval()  # an odd --size: the unshuffle drops one row/column
    assert odd(torch.rand(2, 3, 63, 45) * 2 - 1).shape == (2, 3)


def test_colour_peaks_count_how_few_colours_a_picture_uses() -> None:
    from artstyle.classify.load import build_from_args
    from artstyle.models.classifier import PEAK_FEATURES, colour_peaks

    gen = torch.Generator().manual_seed(0)
    palette = torch.rand(4, 3, generator=gen) * 2 - 1
    four = palette[torch.randint(0, 4, (2, 32, 32), generator=gen)].permute(0, 3, 1, 2)  # 4 colours, any layout
    noise = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    a, b = colour_peaks(four), colour_peaks(noise)
    assert a.shape == (2, PEAK_FEATURES)
    assert torch.allclose(a[:, 2], torch.ones(2)) and (b[:, 2] < 0.05).all()  # the 4 fullest bins hold it all
    assert (a[:, 6] < 1.4).all() and (b[:, 6] > 6).all()  # entropy: at most log 4 against nearly log 1024
    assert torch.allclose(colour_peaks(four.flip(-1)), a)  # a histogram: layout does not matter
    old = {"arch": "texture", "num_classes": 3, "img_size": 16, "width": 8, "depth": 1, "pool": "avg",
           "highpass": True}
    assert build_from_args({**old, "peaks": True}).feature_dim == build_from_args(old).feature_dim + PEAK_FEATURES
    assert build_from_args({**old, "peaks": True}).eval()(noise).shape == (2, 3)


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
    from typer.testing import CliRunner

    from artstyle.commands.classify import app

    res = CliRunner().invoke(app, ["predict", str(run), str(img), "--topk", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["skipped"] == [] and [t["style"] for t in out["predictions"][0]["top"]] == \
        [t["style"] for t in preds[0]["top"]]


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
    np.testing.assert_allclose(logit_offsets(counts, tau=0.5), 0.5 * off)


class _FixedLogits(torch.nn.Module):
    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits


def test_task_applies_weights_and_offsets_in_the_training_loss() -> None:
    import torch.nn.functional as F

    logits, labels = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 2, 1, 0])
    model, batch = _FixedLogits(logits), (torch.zeros(6, 3, 4, 4, dtype=torch.uint8), labels)
    plain = ClassificationTask(channels_last=False).training_loss(model, batch)[0]
    assert torch.allclose(plain, F.cross_entropy(logits, labels))
    w, off = np.array([0.5, 1.0, 2.0]), np.array([-0.1, -1.0, -3.0])
    weighted = ClassificationTask(weights=w, channels_last=False).training_loss(model, batch)[0]
    assert torch.allclose(weighted, F.cross_entropy(logits, labels, weight=torch.tensor(w, dtype=torch.float32)))
    adjusted = ClassificationTask(offsets=off, channels_last=False).training_loss(model, batch)[0]
    assert torch.allclose(adjusted, F.cross_entropy(logits + torch.tensor(off, dtype=torch.float32), labels))
    assert not torch.allclose(plain, weighted) and not torch.allclose(plain, adjusted)


def test_adversarial_images_stay_in_the_ball_and_raise_the_loss() -> None:
    import torch.nn.functional as F

    from artstyle.classify.task import adversarial_images

    torch.manual_seed(0)
    model = build_classifier("simple-cnn", 3, 16, width=8).eval()  # no dropout: the losses compare exactly
    x, labels = torch.rand(8, 3, 16, 16) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    eps = 8 / 127.5
    adv = adversarial_images(model, x, labels, eps)
    assert adv.shape == x.shape and not adv.requires_grad
    assert (adv - x).abs().max() <= eps + 1e-6 and adv.min() >= -1 and adv.max() <= 1
    assert all(p.grad is None for p in model.parameters())  # the attack leaves the weights' gradients alone
    with torch.no_grad():
        assert F.cross_entropy(model(adv), labels) > F.cross_entropy(model(x), labels)
    task = ClassificationTask(channels_last=False, adv_eps=8)
    batch = ((x * 127.5 + 127.5).round().to(torch.uint8), labels)
    assert task.training_loss(model, batch)[0] > ClassificationTask(channels_last=False).training_loss(model, batch)[0]


def test_mixup_mixes_images_and_losses_with_one_seeded_weight() -> None:
    import torch.nn.functional as F

    seen: list[torch.Tensor] = []
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))

    class Recorder(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return logits

    images = torch.arange(4, dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 3, 2, 2) * 60
    labels = torch.tensor([0, 1, 2, 1])
    torch.manual_seed(3)
    loss = ClassificationTask(channels_last=False, mixup=0.2).training_loss(Recorder(), (images, labels))[0]
    torch.manual_seed(3)
    lam = float(torch.distributions.Beta(0.2, 0.2).sample())
    order = torch.randperm(4)
    x = images.float() / 127.5 - 1
    assert torch.allclose(seen[0], lam * x + (1 - lam) * x[order])
    expected = lam * F.cross_entropy(logits, labels) + (1 - lam) * F.cross_entropy(logits, labels[order])
    assert torch.allclose(loss, expected)


def test_adv_eps_out_of_range_names_the_option() -> None:
    with pytest.raises(ArtstyleError, match="--adv-eps -1"):
        check_options(ClassifyConfig(adv_eps=-1))
    with pytest.raises(ArtstyleError, match="--mixup -0.5"):
        check_options(ClassifyConfig(mixup=-0.5))


def test_each_strategy_trains(tiny_folder: Path) -> None:
    for strategy in ("none", "resample", "weighted-loss", "logit-adjust", "crt"):
        run = train_classifier(ClassifyConfig(data=str(tiny_folder), imbalance=strategy, crt_epochs=1, per_class=8,
                                              **FAST))
        logged = read_json(run / "config.json")["strategy"]
        assert logged["imbalance"] == strategy
        # From the training split only: 12, 8, 6 train images less the 10% carved off for validation;
        # neither those nor the test split's 4, 2, 2 images count.
        assert logged["train_counts"] == [11, 7, 5]
        weights, offsets = logged["class_weights"], logged["logit_offsets"]
        assert (weights is not None) == (strategy == "weighted-loss")
        assert (offsets is not None) == (strategy == "logit-adjust")
        if strategy == "weighted-loss":
            np.testing.assert_allclose(weights, class_weights(np.array([11, 7, 5]), "effective", 0.999))
            assert weights[0] < weights[2]  # Baroque (11) weighs less than Ukiyo_e (5)
        if strategy == "logit-adjust":
            np.testing.assert_allclose(offsets, np.log(np.array([11, 7, 5]) / 23))
        if strategy == "crt":
            s1, s2 = load_safetensors(run / "stage1_best.safetensors"), load_safetensors(run / "best.safetensors")
            kept = read_json(run / "metrics.json")["training"]["crt"]["kept"]
            assert torch.equal(s1["head.weight"], s2["head.weight"]) != kept  # the re-trained head only when kept
            assert all(torch.equal(s1[k], s2[k]) for k in s1 if not k.startswith("head."))  # features frozen


def test_crt_keeps_the_stage1_head_when_retraining_scores_lower(tiny_folder: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.classify.train as classify_train

    real = classify_train.read_json
    monkeypatch.setattr(classify_train, "read_json", lambda p: {**real(p), "best": 2.0}
                        if Path(p).name == "stage1_summary.json" else real(p))  # stage 1 "scored" 2.0: unbeatable
    run = train_classifier(ClassifyConfig(data=str(tiny_folder), imbalance="crt", crt_epochs=1, per_class=8,
                                          out=str(tmp_path / "run"), **FAST))
    crt = read_json(run / "metrics.json")["training"]["crt"]
    assert crt["kept"] is False and "below stage 1's 2.0000" in crt["not_kept_because"]
    s1, s2 = load_safetensors(run / "stage1_best.safetensors"), load_safetensors(run / "best.safetensors")
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_crt_with_no_retraining_epochs_keeps_the_stage1_head(tiny_folder: Path, tmp_path: Path) -> None:
    """--crt-epochs 0: the head re-training scores nothing; the stage-1 head stays (no crash on a missing score)."""
    run = train_classifier(ClassifyConfig(data=str(tiny_folder), imbalance="crt", crt_epochs=0, per_class=8,
                                          out=str(tmp_path / "run"), **{**FAST, "epochs": 1}))
    crt = read_json(run / "metrics.json")["training"]["crt"]
    assert crt["kept"] is False and "no score" in crt["not_kept_because"]
    with pytest.raises(ArtstyleError, match="--crop-jitter 0.5"):
        train_classifier(ClassifyConfig(data=str(tiny_folder), crop_jitter=0.5, **FAST))
    with pytest.raises(ArtstyleError, match="--no-highpass applies to the texture model only"):
        train_classifier(ClassifyConfig(data=str(tiny_folder), model="resnet", highpass=False, **FAST))
    with pytest.raises(ArtstyleError, match="--colour-peaks applies to the texture model only"):
        train_classifier(ClassifyConfig(data=str(tiny_folder), model="resnet", colour_peaks=True, **FAST))


def test_resume_matches_uninterrupted_run(tiny_folder: Path, tmp_path: Path) -> None:
    cfg = dict(data=str(tiny_folder), imbalance="resample", per_class=8, **FAST)
    cfg["epochs"] = 3
    full = train_classifier(ClassifyConfig(out=str(tmp_path / "full"), **cfg))

    with interrupted_at_epoch(3):
        train_classifier(ClassifyConfig(out=str(tmp_path / "cut"), **cfg))
    assert [r["epoch"] for r in read_jsonl(tmp_path / "cut" / "metrics.jsonl")] == [1, 2]
    # A kill in the middle of the next checkpoint: new weights half-written, its state file never named by
    # last_state.json. Resume must use the epoch-2 checkpoint, weights and state together.
    (tmp_path / "cut" / "last.safetensors").write_bytes(b"half a file")
    (tmp_path / "cut" / "last_state-e0003.safetensors").write_bytes(b"half a file")
    train_classifier(ClassifyConfig(resume=str(tmp_path / "cut"), progress=False))
    assert sorted(p.name for p in (tmp_path / "cut").glob("last_state-e*")) == ["last_state-e0003.safetensors"]
    a, b = load_safetensors(full / "last.safetensors"), load_safetensors(tmp_path / "cut" / "last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in read_jsonl(tmp_path / "cut" / "metrics.jsonl")] == [1, 2, 3]


def test_resume_during_crt_continues_the_head_retraining(tiny_folder: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.engine as engine

    cfg = dict(data=str(tiny_folder), imbalance="crt", crt_epochs=2, per_class=8, **FAST)
    full = train_classifier(ClassifyConfig(out=str(tmp_path / "full"), **cfg))
    real, epochs_run = engine.train_one_epoch, []

    def crash_in_crt_epoch_2(*args, **kwargs):  # noqa: ANN002, ANN003
        epochs_run.append(args[6])
        if len(epochs_run) == 4:  # stage 1: epochs 1, 2; cRT: epoch 1, then 2
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "train_one_epoch", crash_in_crt_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(ClassifyConfig(out=str(tmp_path / "cut"), **cfg))
    epochs_run.clear()
    train_classifier(ClassifyConfig(resume=str(tmp_path / "cut"), progress=False))
    assert epochs_run == [2]  # only the missing cRT epoch: stage 1 is not trained again
    cut = tmp_path / "cut"
    assert [r["epoch"] for r in read_jsonl(cut / "metrics.jsonl")] == [1, 2]
    assert [r["epoch"] for r in read_jsonl(cut / "crt" / "metrics.jsonl")] == [1, 2]
    a, b = load_safetensors(full / "best.safetensors"), load_safetensors(cut / "best.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_json(cut / "metrics.json")["training"]["crt"]["epochs_run"] == 2
    # A new run over this one (--overwrite) retrains the head on its own new features, not the old ones.
    monkeypatch.setattr(engine, "train_one_epoch", real)
    again = train_classifier(ClassifyConfig(out=str(cut), overwrite=True, **{**cfg, "seed": 1}))
    assert [r["epoch"] for r in read_jsonl(again / "crt" / "metrics.jsonl")] == [1, 2]
    s1, best = load_safetensors(again / "stage1_best.safetensors"), load_safetensors(again / "best.safetensors")
    first_conv = next(k for k in s1 if k.endswith("weight") and s1[k].ndim == 4)
    assert not torch.equal(s1[first_conv], a[first_conv])
    assert all(torch.equal(s1[k], best[k]) for k in s1 if not k.startswith("head."))


def test_early_stopping_on_validation_balanced_accuracy(tiny_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.classify as classify

    scores = iter([(0.5, 0.6), (0.7, 0.5), (0.8, 0.4), (0.9, 0.3), (0.95, 0.2)])

    def accuracy_up_balanced_down(self, model, loader, accelerator):  # noqa: ANN001, ANN202
        acc, bal = next(scores)
        return {"accuracy": acc, "balanced_accuracy": bal, "macro_f1": bal}

    monkeypatch.setattr(classify.ClassificationTask, "evaluate", accuracy_up_balanced_down)
    run = train_classifier(ClassifyConfig(data=str(tiny_folder), **{**FAST, "epochs": 5}, patience=2, imbalance="none"))
    assert [r["epoch"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3]
    training = read_json(run / "metrics.json")["training"]
    assert training["best_epoch"] == 1 and training["monitor"] == "balanced_accuracy"
    assert training["stopped"].startswith("early stop")
    # Resuming a run that stopped early finishes it; it does not train the remaining epochs.
    resumed = train_classifier(ClassifyConfig(resume=str(run)))
    assert resumed == run and [r["epoch"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3]
    assert read_json(run / "metrics.json")["training"]["stopped"].startswith("early stop")


def test_classification_report_numbers_and_confusion_figure() -> None:
    from artstyle.figures.classify import plot_confusion
    from artstyle.metrics import classification_report

    classes = ["A", "B", "C", "D", "E", "Pop_Art"]
    y = np.array([0, 0, 1, 2, 3, 4, 5, 5])
    pred = np.array([0, 1, 1, 2, 0, 4, 5, 0])
    probs = np.zeros((8, 6))
    probs[np.arange(8), y] = 4.0
    probs[np.arange(8), pred] = 5.0
    probs[7] = [5, 4, 3, 2, 1, 0]  # the true class ranks last: the only top-5 miss
    m = classification_report(y, probs, classes, np.array([60, 50, 40, 30, 20, 10]))
    assert m["accuracy"] == 5 / 8 and np.isclose(m["balanced_accuracy"], (0.5 + 1 + 1 + 0 + 1 + 0.5) / 6)
    assert m["top5_accuracy"] == 7 / 8
    a = m["per_class"]["A"]
    assert np.isclose(a["precision"], 1 / 3) and a["recall"] == 0.5 and np.isclose(a["f1"], 0.4)
    assert a["support"] == 2 and a["train_count"] == 60
    g = m["groups"]
    assert g["head"]["classes"] == ["A", "B"] and g["head"]["threshold"] == ">= 50 train images"
    assert g["medium"]["threshold"] == "30-40 train images" and g["tail"]["threshold"] == "<= 20 train images"
    assert g["head"]["mean_recall"] == 0.75 and g["medium"]["mean_recall"] == 0.5 and g["tail"]["accuracy"] == 2 / 3
    b = m["baselines"]
    assert b["majority_class"] == "A" and b["majority_accuracy"] == 0.25
    assert np.isclose(b["majority_balanced_accuracy"], 1 / 6) and np.isclose(b["chance_accuracy"], 1 / 6)
    assert m["confusion_matrix"][0] == [1, 1, 0, 0, 0, 0] and m["confusion_matrix"][5] == [1, 0, 0, 0, 0, 1]
    fig = plot_confusion(np.array(m["confusion_matrix"]), classes)
    ax = fig.axes[0]
    shown = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(shown.sum(1), 1.0)  # row-normalised
    assert shown[0, 1] == 0.5 and [t.get_text() for t in ax.get_yticklabels()][-1] == "Pop Art"


def test_compare_writes_mean_std_table_and_chart(tiny_folder: Path) -> None:
    from artstyle.classify import compare_strategies

    out = compare_strategies(ClassifyConfig(data=str(tiny_folder), **FAST), ["none", "weighted-loss"], seeds=2)
    result = read_json(out / "comparison.json")
    assert [(r["strategy"], r["seed"]) for r in result["rows"]] == [("none", 0), ("none", 1), ("weighted-loss", 0),
                                                                    ("weighted-loss", 1)]
    for entry in result["summary"]:
        vals = [r["balanced_accuracy"] for r in result["rows"] if r["strategy"] == entry["strategy"]]
        assert entry["seeds"] == 2 and np.isclose(entry["balanced_accuracy"], np.mean(vals))
        assert np.isclose(entry["balanced_accuracy_std"], np.std(vals))
    table = (out / "comparison.md").read_text()
    assert "| texture | weighted-loss | 2 | " in table and " ± " in table and "Majority-class baseline" in table
    assert (out / "figures" / "comparison.png").stat().st_size > 0
    with pytest.raises(ArtstyleError, match="not one of"):
        compare_strategies(ClassifyConfig(data=str(tiny_folder), **FAST), ["focal"], seeds=1)


def test_compare_cli_writes_into_out(tiny_folder: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from artstyle.commands.classify import app

    out = tmp_path / "cmp"
    res = CliRunner().invoke(app, ["compare", "--data", str(tiny_folder), "--size", "32", "--epochs", "1",
                                   "--batch-size", "8", "--workers", "0", "--no-progress", "--width", "8",
                                   "--max-steps-per-epoch", "2", "--strategies", "none", "--seeds", "1",
                                   "--out", str(out)])
    assert res.exit_code == 0, f"{res.output}\n{res.exception!r}"
    assert (out / "comparison.json").is_file() and (out / "comparison.md").is_file()
    assert (out / "runs" / "texture-none-seed0" / "metrics.json").is_file()
    assert not list((tmp_path / "runs").glob("classify/*"))  # nothing went to the default runs/classify/
    config = read_json(out / "config.json")
    assert config["stage"] == "classify-compare" and config["strategies"] == ["none"]
    assert config["command"].startswith("artstyle classify compare --data ") and "--out" not in config["command"]
    inner = out / "runs" / "texture-none-seed0"
    assert read_json(inner / "config.json")["stage"] == "classify"
    ev = evaluate_classifier(inner, str(tiny_folder), out=tmp_path / "ev")
    assert read_json(ev / "config.json")["stage"] == "evaluate" and (ev / "metrics.json").is_file()
    assert read_json(ev / "config.json")["command"].startswith(f"artstyle classify evaluate {inner} --data ")


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
    """torchrun (what ``accelerate launch`` runs) with 2 gloo processes writes one loadable run (with adversarial
    training, whose attack must bypass the DDP wrapper's reducer)."""
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
           "-m", "artstyle.cli", "classify", "train", "--data", str(tiny_folder), "--size", "32", "--epochs", "1",
           "--batch-size", "4", "--width", "8", "--workers", "0", "--no-progress", "--max-steps-per-epoch", "2",
           "--out", str(out), "--time-budget", "600", "--adv-eps", "4"]  # a budget: the processes agree on the deadline each step
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    model, info = load_classifier(out)
    assert info["classes"] == ["Baroque", "Pop_Art", "Ukiyo_e"]
    assert json.loads((out / "metrics.json").read_text())["n"] > 0
    assert len(list((tmp_path / "runs").glob("classify/*"))) == 0  # no stray second run directory


def test_overwrite_starts_clean_and_resume_continues_the_new_run(tiny_folder: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "r")
    train_classifier(ClassifyConfig(data=str(tiny_folder), imbalance="crt", crt_epochs=1, per_class=8, out=out,
                                    **{**FAST, "epochs": 2}))
    with interrupted_at_epoch(2):
        train_classifier(ClassifyConfig(data=str(tiny_folder), imbalance="none", out=out, overwrite=True,
                                        **{**FAST, "epochs": 2}))
    run = Path(out)
    # Nothing of the crt run survives the overwrite: no stage-1 marker, no cRT folder, no old metrics lines.
    assert not (run / "stage1_summary.json").exists() and not (run / "crt").exists()
    assert [r["epoch"] for r in read_jsonl(run / "metrics.jsonl")] == [1]
    train_classifier(ClassifyConfig(resume=out, progress=False))
    assert [r["epoch"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2]
    training = read_json(run / "metrics.json")["training"]
    assert training["epochs_run"] == 2 and "crt" not in training


def test_crt_gets_a_share_of_the_budget_even_when_epochs_are_many() -> None:
    from artstyle.classify.train import CRT_MIN_SHARE, _stage1_share

    many = ClassifyConfig(epochs=100, crt_epochs=3, per_class=400)  # the budget, not the epochs, ends stage 1
    assert _stage1_share(many, n_train=2000, n_classes=12) == 1.0 - CRT_MIN_SHARE
    few = ClassifyConfig(epochs=1, crt_epochs=3, per_class=400)
    assert _stage1_share(few, n_train=2000, n_classes=12) == pytest.approx(6000 / (6000 + 14400))
