"""The picture model (classify train --picture-stats): fixed statistics of the whole picture, a logistic regression
on them, and its vote combined with the crops' in every prediction path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from artstyle.classify import ClassifyConfig, evaluate_classifier, load_classifier, predict, train_classifier
from artstyle.classify.crops import predict_crops
from artstyle.classify.picture_stats import (BASE_FEATURES, PICTURE_FEATURES, PICTURE_HEAD_FILE, PictureHead, attach,
                                             choose_weight, fit_picture_head, fuse, load_picture_head,
                                             picture_statistics)
from artstyle.classify.texture_stats import LBP_RINGS, _lbp_histogram, _median_residual, median3, texture_statistics
from artstyle.errors import ArtstyleError
from artstyle.classify.recipe import resolve_recipe
from artstyle.models.classifier import build_classifier
from artstyle.runs import read_json
from conftest import make_folder


def _pictures(seed: int = 0) -> np.ndarray:
    """A smooth gradient, the same posterised to 4 levels, and the same with strong grain: (3, 64, 64, 3)."""
    ramp = np.linspace(0, 255, 64)
    smooth = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], np.full((64, 64), 128.0)), -1)
    grain = smooth + np.random.default_rng(seed).normal(0, 40, smooth.shape)
    return np.clip(np.stack([smooth, smooth // 64 * 64, grain]), 0, 255).astype(np.uint8)


def test_statistics_are_fixed_finite_and_read_colours_and_grain() -> None:
    pics = _pictures()
    stats = picture_statistics(pics)
    assert stats.shape == (3, PICTURE_FEATURES) and stats.dtype == np.float32 and np.isfinite(stats).all()
    # batching changes nothing but the order of float sums (torch splits a long sum across threads)
    np.testing.assert_allclose(stats, picture_statistics(pics, batch_size=1), rtol=1e-5, atol=1e-5)
    colours_used = stats[:, 0]  # log of the colours used at 64 levels per channel
    assert colours_used[1] < min(colours_used[0], colours_used[2]) - 3  # 16 colours against thousands
    laplace_median = stats[:, 12 + 2]  # full-scale |Laplacian|, 50th percentile
    assert laplace_median[2] > laplace_median[0] + 1
    assert picture_statistics(pics[:0]).shape == (0, PICTURE_FEATURES)


def _lbp_reference(y: np.ndarray, points: int, radius: int) -> np.ndarray:
    """Rotation-invariant uniform LBP histogram, one pixel at a time (bilinear neighbours, edges replicated)."""
    h, w = y.shape
    hist = np.zeros(points + 2)
    for i in range(h):
        for j in range(w):
            bits = []
            for k in range(points):
                a = 2 * np.pi * k / points
                ry, rx = i + round(-radius * np.sin(a), 5), j + round(radius * np.cos(a), 5)
                y0, x0 = int(np.floor(ry)), int(np.floor(rx))
                fy, fx = ry - y0, rx - x0
                v = sum(y[min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)] * wt
                        for yy, xx, wt in ((y0, x0, (1 - fy) * (1 - fx)), (y0 + 1, x0, fy * (1 - fx)),
                                           (y0, x0 + 1, (1 - fy) * fx), (y0 + 1, x0 + 1, fy * fx)))
                bits.append(v >= y[i, j] - 1e-9)
            changes = sum(bits[k] != bits[k - 1] for k in range(points))
            hist[sum(bits) if changes <= 2 else points + 1] += 1
    return hist / (h * w)


def test_texture_descriptors_match_a_pixel_by_pixel_reference() -> None:
    from scipy.ndimage import median_filter

    rng = np.random.default_rng(0)
    y = np.floor(rng.uniform(0, 255, (12, 13)) // 32 * 32)  # ties with neighbours, as in flat areas
    for points, radius in LBP_RINGS:
        got = _lbp_histogram(torch.from_numpy(y).float()[None], points, radius)[0].numpy()
        np.testing.assert_allclose(got, _lbp_reference(y, points, radius), atol=1e-6)
    flat = _lbp_histogram(torch.full((1, 9, 9), 77.0), 8, 1)[0]
    assert flat[8] == 1  # every neighbour equals the centre: all ones, one pattern
    x = rng.integers(0, 256, (2, 3, 11, 10), dtype=np.uint8)
    assert np.array_equal(median3(torch.from_numpy(x)).numpy(), median_filter(x, size=(1, 1, 3, 3), mode="nearest"))
    residual = np.abs(x.astype(float) - median_filter(x, size=(1, 1, 3, 3), mode="nearest")).reshape(2, -1)
    got = _median_residual(torch.from_numpy(x))
    for i, values in enumerate(np.sort(residual, 1)):
        ranks = [min(len(values) - 1, round(q * (len(values) - 1))) for q in (0.5, 0.9, 0.99)]
        np.testing.assert_allclose(np.expm1(got[i, :3].numpy()), values[ranks], atol=1e-3)  # exact ranks
        assert got[i, 3] == pytest.approx((values > 0).mean())


def test_local_binary_patterns_are_scikit_images_and_grey_is_pillows() -> None:
    feature = pytest.importorskip("skimage.feature")  # benchmarks' extra, not a dependency of artstyle
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :48]
    rgb = np.clip(128 + 60 * np.sin(xx / 5)[..., None] * np.cos(yy / 7)[..., None] + rng.normal(0, 6, (48, 48, 3)),
                  0, 255).astype(np.uint8)
    rgb[10:30, 10:30] = (90, 110, 130)  # a flat patch: interpolated neighbours tie with their centre
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    stats = texture_statistics(torch.from_numpy(rgb).permute(2, 0, 1)[None].int())[0].numpy()
    start = 0
    for points, radius in LBP_RINGS:  # scikit-image on the edge-padded picture: the same codes at every pixel
        codes = feature.local_binary_pattern(np.pad(grey, radius + 1, mode="edge"), points, radius, "uniform")
        inner = codes[radius + 1:-radius - 1, radius + 1:-radius - 1].astype(int)
        np.testing.assert_allclose(stats[start:start + points + 2],
                                   np.bincount(inner.ravel(), minlength=points + 2) / grey.size, atol=1e-6)
        start += points + 2


def test_texture_descriptors_tell_grain_from_smooth_pictures() -> None:
    stats = picture_statistics(_pictures())
    lbp = stats[:, BASE_FEATURES:BASE_FEATURES + sum(p + 2 for p, _ in LBP_RINGS)]
    assert np.allclose(lbp.sum(1), len(LBP_RINGS), atol=1e-4)  # one histogram per ring
    off_median = stats[:, BASE_FEATURES + lbp.shape[1] + 3]  # the share of values off their 3 x 3 median
    assert off_median[2] > 0.8 and off_median[0] < 0.3
    non_uniform = lbp[:, 9]  # (8, 1): patterns with more than two changes, which grain makes and a ramp does not
    assert non_uniform[2] > 0.15 > 0.05 > non_uniform[0]


def test_a_picture_model_saved_with_the_first_statistics_still_loads_and_reads_them(tmp_path: Path) -> None:
    from artstyle.runs import save_safetensors

    rng = np.random.default_rng(0)
    labels = np.arange(12) % 3
    old = fit_picture_head(rng.normal(0, 1, (12, BASE_FEATURES)), labels, 3)
    save_safetensors(tmp_path / PICTURE_HEAD_FILE, dict(old.state_dict()))
    loaded = load_picture_head(tmp_path, 3)
    assert isinstance(loaded, PictureHead) and loaded.mean.numel() == BASE_FEATURES
    stats = picture_statistics(_pictures())
    np.testing.assert_allclose(loaded.log_probs(stats), old.log_probs(stats[:, :BASE_FEATURES]), atol=1e-6)
    wrong = fit_picture_head(rng.normal(0, 1, (12, 5)), labels, 3)  # neither width: a clear error, not a traceback
    save_safetensors(tmp_path / PICTURE_HEAD_FILE, dict(wrong.state_dict()))
    with pytest.raises(ArtstyleError, match="picture_head.safetensors holds no picture model of 57 or 121"):
        load_picture_head(tmp_path, 3)


def test_head_fits_votes_and_a_zero_weight_leaves_the_crops_alone() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    stats = rng.normal(0, 1, (60, PICTURE_FEATURES)) + 3 * np.eye(3, PICTURE_FEATURES)[labels]
    head = fit_picture_head(stats, labels, num_classes=4)  # class 3 never seen: ruled out
    log_probs = head.log_probs(stats)
    assert log_probs.shape == (60, 4) and (log_probs.argmax(1) == labels).mean() > 0.9
    assert np.exp(log_probs[:, 3]).max() < 1e-6
    crops = rng.dirichlet(np.ones(4), 60).astype(np.float32)
    assert fuse(crops, log_probs, 0.0) is crops
    fused = fuse(crops, log_probs, 1.0)
    assert np.allclose(fused.sum(1), 1) and (fused.argmax(1) == labels).mean() > 0.9
    weight, scores = choose_weight(crops, log_probs, labels)
    assert weight > 0 and scores[str(weight)] == max(scores.values())
    tie, _ = choose_weight(np.eye(4, dtype=np.float32)[labels], log_probs, labels)  # every weight scores 1.0
    assert tie == 0.0  # ties go to the smaller weight


def test_predict_crops_fuses_only_with_a_picture_head() -> None:
    torch.manual_seed(0)
    model = build_classifier("texture", 4, 16, width=8, global_view=True).eval()
    pics = _pictures()
    plain, per_crop = predict_crops(model, pics, 16, 3)
    head = fit_picture_head(np.random.default_rng(1).normal(0, 1, (8, PICTURE_FEATURES)), np.arange(8) % 4, 4)
    head.fusion_weight.fill_(0.5)
    attach(model, head)
    fused, per_crop2 = predict_crops(model, pics, 16, 3)
    assert np.array_equal(per_crop, per_crop2) and np.allclose(plain, per_crop.mean(1))
    assert np.allclose(fused, fuse(plain, head.log_probs(picture_statistics(pics)), 0.5), atol=1e-6)
    assert not np.allclose(fused, plain)
    assert np.array_equal(predict_crops(model, pics, 16, 3, picture=False)[0], plain)


def test_run_fits_saves_and_every_prediction_path_uses_the_picture_model(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", {"Baroque": 8, "Pop_Art": 8, "Ukiyo_e": 4}, size=40)
    common = dict(data=str(root), size=16, epochs=1, batch_size=4, width=8, workers=0, progress=False, per_class=4,
                  compile="off")
    run = train_classifier(ClassifyConfig(**common, out=str(tmp_path / "run")))  # the texture model's default
    assert read_json(run / "config.json")["config"]["picture_stats"] == "on" and (run / PICTURE_HEAD_FILE).is_file()
    report = read_json(run / "metrics.json")
    fitted = report["training"]["picture_head"]
    assert fitted["chosen_on"] == "val" and fitted["weight"] == report["picture_head"]["weight"]
    assert {"crops_alone", "picture_alone"} <= set(report["picture_head"])
    from artstyle.classify.picture_stats import split_statistics
    from artstyle.data.cache import open_cache

    stats, labels = split_statistics(open_cache(ClassifyConfig(**read_json(run / "config.json")["config"])), "train")
    assert fitted["train_images"] == len(labels)  # fitted on the training split alone, the weight chosen on val
    fit = fit_picture_head(stats, labels, 3)
    assert torch.allclose(load_classifier(run)[0].picture_head.linear.weight, fit.linear.weight, atol=1e-5)
    assert float(load_classifier(run)[0].picture_head.fusion_weight) == fitted["weight"]
    assert not hasattr(load_classifier(run, picture=False)[0], "picture_head")
    again = read_json(evaluate_classifier(run, str(root), "test", out=tmp_path / "ev") / "metrics.json")
    assert again["confusion_matrix"] == report["confusion_matrix"] and again["picture_head"] == report["picture_head"]
    # the paths below must combine both views: a weight of 1 makes sure the picture model counts
    from artstyle.runs import load_safetensors, save_safetensors

    state = load_safetensors(run / PICTURE_HEAD_FILE)
    old = {("weight" if k == "fusion_weight" else k): v for k, v in state.items()}  # a file from before the rename
    save_safetensors(run / PICTURE_HEAD_FILE, {**old, "weight": torch.tensor(1.0)})
    model, info = load_classifier(run)
    assert float(model.picture_head.fusion_weight) == 1.0
    image = sorted((root / "test" / "Pop_Art").iterdir())[0]
    from artstyle.api.classifier import Classifier
    from artstyle.data.decode import decode_image

    decoded = decode_image(image.read_bytes(), info["cache_size"])[None]
    probs, _ = predict_crops(model, decoded, 16, info["tta"])
    assert not np.allclose(probs, predict_crops(model, decoded, 16, info["tta"], picture=False)[0])
    preds, _ = predict(run, [image], topk=1)
    assert preds[0]["top"][0]["probability"] == pytest.approx(float(probs.max()))
    api = Classifier(run, "cpu").predict(image, topk=1)
    assert api["top"][0]["probability"] == pytest.approx(float(probs.max()))
    assert api["picture"] == preds[0]["picture"] and api["picture"]["weight"] == 1.0  # its own vote
    cli, _ = Classifier(run, "cpu").predict_files([image], topk=1)  # what `classify predict --json` prints
    assert cli[0]["picture"] == api["picture"] and cli[0]["top"] == api["top"]
    off = train_classifier(ClassifyConfig(**common, picture_stats="off", out=str(run), overwrite=True))
    assert not (off / PICTURE_HEAD_FILE).exists() and "picture_head" not in read_json(off / "metrics.json")
    assert "picture" not in predict(off, [image], topk=1)[0][0]


def test_auto_is_on_for_the_texture_model_only() -> None:
    base = ClassifyConfig(data="some/folder")
    assert resolve_recipe(base).picture_stats == "on"
    assert resolve_recipe(replace(base, model="resnet")).picture_stats == "off"
    assert resolve_recipe(replace(base, model="resnet", picture_stats="on")).picture_stats == "on"
    assert resolve_recipe(ClassifyConfig(data="builtin")).picture_stats == "off"  # resnet on the built-in set


def test_resume_fits_the_picture_model_and_older_runs_stay_without_it(tmp_path: Path) -> None:
    import json

    from conftest import interrupted_at_epoch

    root = make_folder(tmp_path / "d", {"Baroque": 6, "Pop_Art": 6}, size=40)
    common = dict(data=str(root), size=16, epochs=2, batch_size=4, width=8, workers=0, progress=False, per_class=4,
                  compile="off")
    for name in ("new", "old"):
        with interrupted_at_epoch(2):
            train_classifier(ClassifyConfig(**common, out=str(tmp_path / name)))
        assert not (tmp_path / name / PICTURE_HEAD_FILE).exists()  # fitted after training only
    config = tmp_path / "old" / "config.json"
    info = json.loads(config.read_text())
    del info["config"]["picture_stats"]  # as written before --picture-stats existed
    config.write_text(json.dumps(info))
    (tmp_path / "old" / PICTURE_HEAD_FILE).write_bytes(b"a stale picture model")  # must not survive a run without
    train_classifier(ClassifyConfig(resume=str(tmp_path / "new"), progress=False))
    train_classifier(ClassifyConfig(resume=str(tmp_path / "old"), progress=False))
    assert (tmp_path / "new" / PICTURE_HEAD_FILE).is_file() and not (tmp_path / "old" / PICTURE_HEAD_FILE).exists()


def test_time_budget_keeps_at_most_half_for_the_picture_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.classify.train as train

    monkeypatch.setattr(train, "estimate_seconds", lambda cache: 400.0)
    cfg = ClassifyConfig(picture_stats="on", time_budget=600)
    with pytest.warns(UserWarning, match="more than half of --time-budget 600"):
        assert train._picture_reserve(cfg, None) == 300.0
    assert train._picture_reserve(replace(cfg, time_budget=1000), None) == 400.0
    assert train._picture_reserve(replace(cfg, picture_stats="off"), None) == 0.0
    assert train._picture_reserve(replace(cfg, time_budget=0), None) == 0.0


def test_hugging_face_data_gets_the_picture_model_by_default(tmp_path: Path) -> None:
    import io

    datasets = pytest.importorskip("datasets")
    from PIL import Image

    rng = np.random.default_rng(0)
    rows: dict[str, list] = {"image": [], "style": []}
    for i in range(30):
        flat = np.full((40, 40, 3), 60 + 4 * i, np.uint8)
        grain = np.clip(flat + rng.normal(0, 40, flat.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(grain if i % 2 else flat).save(buf, "PNG")
        rows["image"].append({"bytes": buf.getvalue(), "path": None})
        rows["style"].append(i % 2)
    features = datasets.Features({"image": datasets.Image(),
                                  "style": datasets.ClassLabel(names=["Color_Field_Painting", "Pointillism"])})
    path = tmp_path / "wikiart.parquet"
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))
    run = train_classifier(ClassifyConfig(data=str(path), size=16, epochs=1, batch_size=4, width=8, workers=0,
                                          progress=False, per_class=4, compile="off", out=str(tmp_path / "run")))
    config = read_json(run / "config.json")
    assert (config["model"]["arch"], config["config"]["picture_stats"]) == ("texture", "on")
    report = read_json(run / "metrics.json")
    assert (run / PICTURE_HEAD_FILE).is_file() and report["picture_head"]["picture_alone"]["balanced_accuracy"] == 1.0
