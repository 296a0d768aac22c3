"""Native-resolution crops: seeded training crops, the crop grid prediction averages, and one path for the test
report, evaluate and predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from artstyle.classify import ClassifyConfig, evaluate_classifier, load_classifier, predict, train_classifier
from artstyle.classify.crops import crop_scale, crop_transform, grid_crops, grid_offsets, predict_crops
from artstyle.models.classifier import build_classifier
from artstyle.runs import read_json
from conftest import make_folder


def test_training_crops_are_seeded_and_at_native_scale() -> None:
    img = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    t = crop_transform(16, 64, augment=True)
    torch.manual_seed(3)
    a = t(img)
    torch.manual_seed(3)
    assert torch.equal(a, t(img)) and a.shape == (3, 16, 16)
    lo, hi = crop_scale(16, 64)
    assert lo < (16 / 64) ** 2 < hi < 0.2  # about a 16 px side of the 64 px image, never the whole image
    assert crop_transform(16, 16, augment=False) is None  # cache == input: nothing to do, as before
    assert torch.equal(crop_transform(16, 64, augment=False)(img), img[:, 24:40, 24:40])  # validation: centre crop


def test_jitter_one_takes_plain_crops_never_resampled() -> None:
    img = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    torch.manual_seed(0)
    crop = crop_transform(16, 64, augment=True, jitter=1.0)(img)
    windows = [img[:, y:y + 16, x:x + 16] for y in range(49) for x in range(49)]
    # every pixel comes from one 16 px window of the image, possibly mirrored: no interpolation blurred it
    assert any(torch.equal(crop, w) or torch.equal(crop, w.flip(-1)) for w in windows)
    squares = crop_transform(16, 64, augment=True, jitter=1.5)
    assert squares.transforms[0].ratio == (1.0, 1.0)  # scale jitter never stretches the texture


def test_native_crop_of_the_cache_row_equals_the_crop_of_the_tensor(tmp_path: Path) -> None:
    from artstyle.classify.crops import NativeCrop
    from artstyle.data.cache import prepare_cache
    from artstyle.data.dataset import CachedImages

    cache = prepare_cache(str(make_folder(tmp_path / "f", {"a": 3, "b": 2}, size=40)), size=32, progress=False)
    crop = crop_transform(16, 32, augment=True, jitter=1.0)
    assert isinstance(crop, NativeCrop)  # classify train's default crop (--crop-jitter 1) copies only its pixels
    assert not isinstance(crop_transform(16, 32, augment=True, jitter=1.0, color_jitter=True), NativeCrop)
    ds = CachedImages(cache, "train", transform=crop)
    for i in range(len(ds)):
        torch.manual_seed(i)
        fast, label = ds[i]
        torch.manual_seed(i)
        whole = torch.from_numpy(np.ascontiguousarray(cache.images[ds.rows[i]].transpose(2, 0, 1)))
        assert fast.is_contiguous() and torch.equal(fast, crop(whole)) and label == ds.labels[i]
    img, flips = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8), set()
    for seed in range(8):  # the box and the flip it draws, spelt out: y then x, then a left-right mirror
        torch.manual_seed(seed)
        y, x, flip = int(torch.randint(0, 17, ())), int(torch.randint(0, 17, ())), bool(torch.rand(()) < 0.5)
        want = img[:, y:y + 16, x:x + 16].flip(-1) if flip else img[:, y:y + 16, x:x + 16]
        torch.manual_seed(seed)
        assert torch.equal(crop(img), want)
        flips.add(flip)
    assert flips == {True, False}
    with pytest.raises(ValueError, match="larger than the image"):
        NativeCrop(40)(np.zeros((32, 32, 3), np.uint8))


def test_grid_covers_the_image_and_one_crop_is_the_centre() -> None:
    images = np.arange(2 * 10 * 10 * 3, dtype=np.uint8).reshape(2, 10, 10, 3)
    crops = grid_crops(images, 4, 3)
    assert crops.shape == (2, 9, 4, 4, 3) and grid_offsets(10, 4, 3) == [0, 3, 6]
    assert np.array_equal(crops[:, 8], images[:, 6:10, 6:10])
    assert np.array_equal(grid_crops(images, 4, 1)[:, 0], images[:, 3:7, 3:7])
    with pytest.raises(ValueError):
        grid_offsets(8, 16, 1)


def test_multicrop_shapes_and_a_1x1_grid_is_the_plain_prediction() -> None:
    torch.manual_seed(0)
    model = build_classifier("resnet", 4, 16, width=8, pool="gem").eval()
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    probs, per_crop = predict_crops(model, images, 16, 1)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        plain = torch.softmax(model(x), 1).numpy()
    assert probs.shape == (5, 4) and per_crop.shape == (5, 1, 4) and np.allclose(probs, plain, atol=1e-6)
    big = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    probs, per_crop = predict_crops(model, big, 16, 3, batch_size=9)  # one image per batch
    assert per_crop.shape == (3, 9, 4) and np.allclose(probs, per_crop.mean(1)) and np.allclose(probs.sum(1), 1)


@pytest.mark.parametrize("pool", ["avg", "gem", "cov"])
def test_pools_train_and_take_any_input_size(pool: str) -> None:
    model = build_classifier("resnet", 3, 16, width=8, pool=pool)
    out = model(torch.randn(2, 3, 24, 24))
    out.sum().backward()
    assert out.shape == (2, 3) and model.eval().forward_features(torch.randn(1, 3, 16, 16)).shape == (1, model.feature_dim)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # precision auto on a CPU with native bf16 (AMX)
        mixed = model.train()(torch.randn(2, 3, 24, 24))
    mixed.float().sum().backward()
    assert mixed.shape == (2, 3) and torch.isfinite(mixed.float()).all()


def test_cache_larger_than_the_crop_trains_and_all_predictions_share_one_path(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", {"Baroque": 8, "Pop_Art": 8}, size=40)
    cfg = ClassifyConfig(data=str(root), size=16, cache_size=32, model="resnet", pool="cov", epochs=1, batch_size=4, width=8,
                         workers=0, progress=False, imbalance="none", out=str(tmp_path / "run"))
    run = train_classifier(cfg)
    config = read_json(run / "config.json")
    assert config["input"]["cache_size"] == 32 and config["input"]["tta"] == 3 and config["model"]["pool"] == "cov"
    report = read_json(run / "metrics.json")
    assert report["tta"] == 3
    model, info = load_classifier(run)
    assert (info["size"], info["cache_size"], info["tta"]) == (16, 32, 3)
    # evaluate on the same data and split reproduces the test report exactly: the same crops, the same average
    again = read_json(evaluate_classifier(run, str(root), "test", out=tmp_path / "ev") / "metrics.json")
    assert again["confusion_matrix"] == report["confusion_matrix"] and again["accuracy"] == report["accuracy"]
    # predict: the same decode (cache size, the run's policy), the same grid, each crop's vote listed
    image = sorted((root / "test" / "Pop_Art").iterdir())[0]
    preds, skipped = predict(run, [image], topk=2)
    assert not skipped and len(preds[0]["crops"]) == 9
    from artstyle.data.decode import decode_image

    probs, _ = predict_crops(model, decode_image(image.read_bytes(), 32)[None], 16, 3)
    assert preds[0]["top"][0]["probability"] == pytest.approx(float(probs.max()))
    assert json.dumps(preds)  # JSON-able for --json
    single, _ = predict(run, [image], topk=2, tta=1)
    assert len(single[0]["crops"]) == 1 and single[0]["crops"][0]["box"] == [8, 8, 16, 16]


def test_default_on_a_folder_trains_the_high_pass_texture_network(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", {"Baroque": 6, "Pop_Art": 6}, size=40)
    run = train_classifier(ClassifyConfig(data=str(root), size=16, epochs=1, batch_size=4, width=8, workers=0,
                                          progress=False, per_class=4, out=str(tmp_path / "run")))
    config = read_json(run / "config.json")
    assert (config["model"]["arch"], config["model"]["highpass"], config["model"]["peaks"]) == ("texture", True, False)
    assert (config["input"]["cache_size"], config["config"]["imbalance"]) == (64, "resample")  # --model/--imbalance auto
    model, info = load_classifier(run)
    assert model.stages[0][0][0].in_channels == 24 and info["tta"] == 5


def test_auto_recipe_follows_the_data(tmp_path: Path) -> None:
    from artstyle.classify import ClassifyConfig
    from artstyle.classify.config import resolved_tta
    from artstyle.classify.recipe import TEXTURE_CACHE_FACTOR, resolve_recipe
    from artstyle.constants import SYNTHETIC_MARKER

    real = resolve_recipe(ClassifyConfig(data=str(tmp_path), size=64))
    assert (real.model, real.cache_size) == ("texture", TEXTURE_CACHE_FACTOR * 64)  # native-scale crops
    assert (real.imbalance, real.keep) == ("resample", "last")  # its one-centre-crop validation ranks epochs poorly
    assert resolve_recipe(ClassifyConfig(data="builtin:0.1")).keep == "best"
    assert resolve_recipe(ClassifyConfig(data=str(tmp_path), keep="best")).keep == "best"  # an explicit choice
    default = resolve_recipe(ClassifyConfig(data=str(tmp_path)))
    assert (default.size, default.cache_size) == (64, 256)  # --size 0: 64 px crops of a 256 px cache
    assert resolved_tta(default, default.cache_size) == 5 and resolved_tta(real, 2 * 64) == 3
    assert resolve_recipe(ClassifyConfig(data="builtin:0.1")).size == 128  # whole images
    assert resolve_recipe(ClassifyConfig(data=str(tmp_path), size=128)).cache_size == 256  # capped: not 512
    assert resolve_recipe(ClassifyConfig(data=str(tmp_path), size=16)).cache_size == 64
    assert resolve_recipe(ClassifyConfig(data="builtin:0.1")).model == "resnet"
    assert resolve_recipe(ClassifyConfig(data="builtin:0.1")).imbalance == "crt"
    assert resolve_recipe(ClassifyConfig(data="builtin:0.1")).cache_size == 0  # whole images, as before
    painted = tmp_path / "painted"
    painted.mkdir()
    (painted / SYNTHETIC_MARKER).write_text("{}")
    assert resolve_recipe(ClassifyConfig(data=str(painted))).model == "resnet"  # `artstyle data synth` output
    chosen = resolve_recipe(ClassifyConfig(data=str(tmp_path), model="inclass"))
    assert (chosen.model, chosen.cache_size) == ("inclass", 0)  # an explicit choice is kept
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "meta.json").write_text('{"size": 96, "synthetic": false}')
    assert resolve_recipe(ClassifyConfig(cache=str(cache), size=48)).cache_size == 96  # the prepared cache's size
