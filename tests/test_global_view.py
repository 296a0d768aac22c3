"""The texture classifier's global view (classify train --global-view): the whole picture's palette beside each crop,
the same in training, validation and every prediction path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from artstyle.classify import ClassifyConfig, evaluate_classifier, load_classifier, predict, train_classifier
from artstyle.classify.crops import GlobalView, NativeCrop, crop_transform, predict_crops, whole_view
from artstyle.errors import ArtstyleError
from artstyle.models.classifier import GLOBAL_BITS, GLOBAL_FEATURES, GLOBAL_TOP, build_classifier, colour_peaks
from artstyle.runs import read_json
from conftest import make_folder


def test_whole_view_keeps_the_pictures_own_pixels_evenly_strided() -> None:
    img = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    view = whole_view(img, 16)
    assert view.shape == (16, 16, 3)
    assert np.array_equal(view[:, :, 0], img[::4, ::3][:16, :16, 0])  # every 4th row, every 3rd column
    uneven = whole_view(img[:50, :40], 16)  # sides that 16 does not divide: the same even spacing, by index
    assert np.array_equal(uneven, img[(np.arange(16) * 50) // 16][:, (np.arange(16) * 40) // 16])
    batch = whole_view(np.stack([img, img[::-1]]), 16)  # any leading dimensions
    assert batch.shape == (2, 16, 16, 3) and np.array_equal(batch[0], view)


def test_global_view_transform_is_the_crop_then_the_whole_picture() -> None:
    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    centre = crop_transform(16, 32, augment=False, global_view=True)
    out = centre(img)
    assert isinstance(centre, GlobalView) and out.shape == (16, 16, 6)
    assert np.array_equal(out[..., :3], img[8:24, 8:24]) and np.array_equal(out[..., 3:], img[::2, ::2])
    train = crop_transform(16, 32, augment=True, jitter=1.0, global_view=True)
    assert isinstance(train.crop, NativeCrop)
    torch.manual_seed(5)
    a = train(img)
    torch.manual_seed(5)
    assert np.array_equal(a, train(img))  # seeded by torch, like NativeCrop
    assert np.array_equal(a[..., 3:], img[::2, ::2])  # whatever the crop, the whole picture rides along
    with pytest.raises(ValueError, match="plain crops"):
        crop_transform(16, 32, augment=True, jitter=1.0, color_jitter=True, global_view=True)


def test_texture_network_reads_the_global_channels_only_in_its_palette_head() -> None:
    torch.manual_seed(0)
    plain = build_classifier("texture", 3, 16, width=8)
    model = build_classifier("texture", 3, 16, width=8, global_view=True).eval()
    assert model.feature_dim == plain.feature_dim + GLOBAL_FEATURES
    crop = torch.rand(2, 3, 16, 16) * 2 - 1
    flat = torch.zeros(2, 3, 16, 16)  # a one-colour whole picture against a noisy one
    with torch.no_grad():
        same = model.forward_features(torch.cat([crop, crop], 1))
        assert torch.allclose(model.forward_features(crop), same)  # a 3-channel input is its own whole picture
        other = model.forward_features(torch.cat([crop, flat], 1))
        k = GLOBAL_FEATURES
        assert torch.allclose(other[:, k:], same[:, k:]) and not torch.allclose(other[:, :k], same[:, :k])
        assert all(torch.equal(a, b) for a, b in zip(model.feature_maps(torch.cat([crop, flat], 1)),
                                                     model.feature_maps(crop)))  # the conv stages see the crop only
        big = torch.rand(2, 3, 64, 64) * 2 - 1  # a larger 3-channel picture: subsampled to 16 px, as in training
        palette = colour_peaks(big[..., ::4, ::4], GLOBAL_BITS, GLOBAL_TOP) / (1 + model.norm.eps) ** 0.5
        assert torch.allclose(model.forward_features(big)[:, :k], palette, atol=1e-5)  # a fresh BatchNorm1d
    trained = build_classifier("texture", 3, 16, width=8, global_view=True)
    out = trained(torch.cat([crop, flat], 1))
    out.sum().backward()  # trains: the palette head is a fixed statistic, the rest gets gradients
    assert out.shape == (2, 3) and trained.stages[0][0][0].weight.grad.abs().sum() > 0


def test_multicrop_prediction_carries_the_whole_picture_and_1x1_is_the_plain_prediction() -> None:
    torch.manual_seed(0)
    model = build_classifier("texture", 4, 16, width=8, global_view=True).eval()
    images = np.random.default_rng(2).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    probs, per_crop = predict_crops(model, images, 16, 1)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        plain = torch.softmax(model(x), 1).numpy()
    assert per_crop.shape == (3, 1, 4) and np.allclose(probs, plain, atol=1e-6)
    big = np.random.default_rng(3).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    probs, per_crop = predict_crops(model, big, 16, 2)
    assert per_crop.shape == (2, 4, 4) and np.allclose(probs, per_crop.mean(1))
    inputs = np.concatenate([big[:, :16, 16:], whole_view(big, 16)], -1)  # crop 2 (top right) of each image
    with torch.no_grad():
        expect = torch.softmax(model(torch.from_numpy(inputs).permute(0, 3, 1, 2).float() / 127.5 - 1), 1).numpy()
    assert np.allclose(per_crop[:, 1], expect, atol=1e-6)


def test_global_view_run_trains_reloads_and_predicts_through_one_path(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", {"Baroque": 6, "Pop_Art": 6}, size=40)
    common = dict(data=str(root), size=16, epochs=1, batch_size=4, width=8, workers=0, progress=False, per_class=4,
                  compile="off")
    run = train_classifier(ClassifyConfig(**common, out=str(tmp_path / "run")))  # the texture model's default
    assert read_json(run / "config.json")["model"]["global_view"] is True
    model, info = load_classifier(run)
    assert model.global_view and info["tta"] == 5
    report = read_json(run / "metrics.json")
    again = read_json(evaluate_classifier(run, str(root), "test", out=tmp_path / "ev") / "metrics.json")
    assert again["confusion_matrix"] == report["confusion_matrix"]
    preds, skipped = predict(run, [sorted((root / "test" / "Pop_Art").iterdir())[0]], topk=1)
    assert not skipped and len(preds[0]["crops"]) == 25
    from artstyle.api.classifier import Classifier

    images = np.random.default_rng(4).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)  # the run's 64 px cache
    inputs = np.concatenate([images[:, 24:40, 24:40], whole_view(images, 16)], -1)  # centre crop + whole picture
    with torch.no_grad():
        expect = model.forward_features(torch.from_numpy(inputs).permute(0, 3, 1, 2).float() / 127.5 - 1)
    assert np.allclose(Classifier(run, "cpu").features(images), expect.numpy(), atol=1e-5)  # embed's features
    with pytest.raises(ArtstyleError, match="--no-global-view applies to the texture model only"):
        train_classifier(ClassifyConfig(**common, model="resnet", global_view=False, out=str(tmp_path / "r2")))
    with pytest.raises(ArtstyleError, match="takes plain crops.*--no-global-view"):
        train_classifier(ClassifyConfig(**common, color_jitter=True, out=str(tmp_path / "r3")))
    plain = train_classifier(ClassifyConfig(**common, color_jitter=True, global_view=False, out=str(tmp_path / "r4")))
    assert load_classifier(plain)[0].global_view is False


@pytest.mark.parametrize("keep", ["best", "last"])
def test_keep_chooses_which_epoch_becomes_best_safetensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           keep: str) -> None:
    import artstyle.classify.task as task_module

    scores = iter([0.9, 0.1, 0.2])  # epoch 1 scores best on validation, epoch 3 is the last
    real_evaluate = task_module.ClassificationTask.evaluate
    seen: list[dict] = []  # each epoch's weights, as validation saw them

    def scripted(self, model, loader, *args, **kwargs):  # the real evaluation, then the scripted score
        metrics = real_evaluate(self, model, loader, *args, **kwargs)
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return {**metrics, "balanced_accuracy": next(scores)}

    monkeypatch.setattr(task_module.ClassificationTask, "evaluate", scripted)
    root = make_folder(tmp_path / "d", {"Baroque": 6, "Pop_Art": 6}, size=40)
    run = train_classifier(ClassifyConfig(data=str(root), size=16, epochs=3, batch_size=4, width=8, workers=0,
                                          progress=False, per_class=4, compile="off", keep=keep,
                                          out=str(tmp_path / "run")))
    summary = read_json(run / "metrics.json")["training"]
    assert summary["weights"] == keep and summary["best_epoch"] == 1 and summary["epochs_run"] == 3
    from safetensors.torch import load_file

    best, last = load_file(run / "best.safetensors"), load_file(run / "last.safetensors")
    wanted = seen[0] if keep == "best" else seen[-1]  # epoch 1's weights, or epoch 3's
    assert len(seen) == 3 and all(torch.equal(best[k], wanted[k]) for k in best)
    assert all(torch.equal(last[k], seen[-1][k]) for k in last)
    assert not all(torch.equal(seen[0][k], seen[-1][k]) for k in best)  # training moved them: the check can fail


def test_option_checks_come_before_any_work(tmp_path: Path) -> None:
    from artstyle.classify import compare_strategies

    root = make_folder(tmp_path / "d", {"Baroque": 4, "Pop_Art": 4}, size=40)
    base = ClassifyConfig(data=str(root), size=16, epochs=1, batch_size=4, width=8, workers=0, progress=False)
    with pytest.raises(ArtstyleError, match="--keep last with --imbalance crt"):
        train_classifier(replace(base, model="texture", imbalance="crt", keep="last", out=str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()
    with pytest.raises(ArtstyleError, match="use --crop-jitter 1"):  # scale jitter would resample the crop's colours
        train_classifier(replace(base, crop_jitter=1.25, out=str(tmp_path / "r")))
    # compare: the texture run's bad combination stops it before the resnet runs train
    with pytest.raises(ArtstyleError, match="takes plain crops"):
        compare_strategies(replace(base, color_jitter=True), ["none"], seeds=1,
                           models=["resnet", "texture"], out=tmp_path / "cmp")
    assert not (tmp_path / "cmp").exists()
