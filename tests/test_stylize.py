"""The style-conditioned stylizer: model, objective, render grid, evaluation baselines, CLI, reload, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artstyle.classify import (ClassifyConfig, evaluate_on_cache, load_classifier, map_classes, predict_arrays,
                               train_classifier)
from artstyle.data.dataset import CachedImages
from artstyle.errors import ArtstyleError
from artstyle.metrics import PSNR_CAP
from artstyle.metrics import psnr_uint8 as psnr
from artstyle.metrics import ssim_uint8 as ssim
from artstyle.models.stylizer import Stylizer
from artstyle.runs import load_safetensors, read_json, read_jsonl
from artstyle.stylize import (StylizeConfig, StylizeTask, evaluate_pairs, load_stylizer, mean_codes, render,
                              resolve_styles, sample_pairs, style_grams, stylize_arrays, train_stylizer)
from conftest import interrupted_at_epoch, stylize_assets

CLASSES = {"Baroque": 12, "Pop_Art": 8, "Ukiyo_e": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny image folder, its 32 px cache, a loss classifier and an independently trained judge (once)."""
    a = stylize_assets(tmp_path_factory.mktemp("stylize"), CLASSES, TINY)
    data, cache, clf, root = a["data"], a["cache"], a["clf"], a["root"]
    judge = train_classifier(ClassifyConfig(out=str(root / "judge"), seed=1, **a["base"]))
    run = train_stylizer(StylizeConfig(data=str(data), cache=str(cache.root), epochs=2, max_steps_per_epoch=3, lr=3e-3,
                                       classifier=str(clf), judge=str(judge), eval_pairs=30, out=str(root / "sty"),
                                       style_ramp=0, **TINY))
    return {"data": data, "cache": cache, "clf": clf, "judge": judge, "run": run, "root": root}


def _batch(cache, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    ds = CachedImages(cache, "train")
    items = [ds[i] for i in np.linspace(0, len(ds) - 1, n).astype(int)]
    return torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])


@pytest.mark.parametrize("source", ["learned", "mean-latent"])
def test_shapes(source: str) -> None:
    model = Stylizer(num_styles=5, style_source=source, width=8, blocks=1).eval()  # eval: clamped to [-1, 1]
    x, t = torch.rand(4, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 4])
    content, code = model.encode(x)
    assert content.shape == (4, 32, 4, 4) and code.shape == (4, 32)  # version 3: the content grid is 1/8 of the side
    out = model(x, t)
    assert out.shape == x.shape and out.abs().max() <= 1
    res = model(x, t, own=torch.tensor([1, 1, 0, 3]))
    assert res["out"].shape == res["recon"].shape == x.shape and res["code"].shape == (4, 32)
    assert torch.allclose(res["out"], out, atol=1e-5)  # the paired pass re-renders like the plain one
    assert model.style_means.shape == (5, 32)
    with pytest.raises(ArtstyleError, match="divisible by 8"):
        model(torch.zeros(1, 3, 30, 30), t[:1])


@pytest.mark.parametrize("source", ["learned", "mean-latent"])
def test_style_input_changes_output(source: str) -> None:
    torch.manual_seed(0)
    model = Stylizer(num_styles=3, style_source=source, width=8, blocks=1).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    # The AdaIN heads start at zero, so an untrained model ignores the style: the wiring is what is tested
    # here, by giving the heads weights (and distinct mean codes), as training would.
    same = (model(x, torch.tensor([0])) - model(x, torch.tensor([1]))).abs().max()
    assert same < 1e-6
    for m in model.modules():
        if m.__class__.__name__ == "AdaIN":
            torch.nn.init.normal_(m.affine.weight, std=0.2)
    model.set_style_means(torch.randn(3, model.code_dim), torch.ones(3, dtype=torch.bool))
    outs = [model(x, torch.tensor([k])) for k in range(3)]
    assert (outs[0] - outs[1]).abs().mean() > 1e-2 and (outs[1] - outs[2]).abs().mean() > 1e-2
    assert torch.equal(model(x, torch.tensor([1])), outs[1])  # deterministic for a fixed (image, style)


def test_trained_run_outputs_depend_on_style(assets: dict) -> None:
    model, info = load_stylizer(assets["run"])
    x = assets["cache"].images[assets["cache"].indices("test")[:2]]
    per_style = [stylize_arrays(model, x, np.full(len(x), k)) for k in range(len(info["classes"]))]
    diffs = [np.abs(per_style[a].astype(int) - per_style[b].astype(int)).mean() for a, b in ((0, 1), (1, 2), (0, 2))]
    assert min(diffs) > 0.05, diffs  # grey levels out of 255, averaged over pixels (an untrained model: 0)


def test_few_steps_lower_the_loss(assets: dict) -> None:
    cache = assets["cache"]
    clf, clf_info = load_classifier(assets["clf"])
    counts = cache.counts("train")
    rows = cache.indices("train")
    grams = style_grams(clf, clf_info["size"], cache.images[rows], cache.labels[rows], len(cache.classes))
    cfg = StylizeConfig(style_ramp=0, **TINY)
    task = StylizeTask(cfg, clf, clf_info["size"], map_classes(clf_info["classes"], cache.classes),
                       np.flatnonzero(counts > 0), grams)
    torch.manual_seed(0)
    model = Stylizer(len(cache.classes), "learned", width=8, blocks=1)
    batch = _batch(cache)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # the same target styles every time
        return task.training_loss(model, batch)[0]

    with torch.no_grad():
        before = float(loss())
    for _ in range(12):
        opt.zero_grad()
        loss().backward()
        opt.step()
    with torch.no_grad():
        after = float(loss())
    assert after < 0.9 * before, (before, after)


def test_objective_weights_own_style_reconstruction_and_frozen_classifier() -> None:
    from artstyle.engine import to_float
    from artstyle.models.classifier import build_classifier

    torch.manual_seed(0)
    clf = build_classifier("resnet", 3, img_size=32, width=8)
    model = Stylizer(3, "learned", width=8, blocks=1)
    images, labels = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8), torch.tensor([0, 1, 2, 0])
    grams = [torch.rand(3, m.shape[1], m.shape[1]) for m in clf.feature_maps(torch.zeros(1, 3, 32, 32))]

    def task(**weights: float) -> StylizeTask:
        return StylizeTask(StylizeConfig(**TINY, **weights), clf, 32, np.arange(3), np.arange(3), grams)

    def terms(**weights: float) -> dict[str, torch.Tensor]:
        torch.manual_seed(1)  # the same target styles every time
        return task(**weights).losses(model, images, labels)[0]

    t = terms(w_rec=1.0, w_style=0.5, w_gram=1.0, w_content=0.5)
    torch.testing.assert_close(t["loss"], t["rec"] + 0.5 * t["ce"] + t["gram"] + 0.5 * t["content"])
    x = to_float(images)
    with torch.no_grad():  # the reconstruction term compares the image with its re-rendering in its OWN style
        torch.testing.assert_close(t["rec"], (model(x, labels) - x).abs().mean((1, 2, 3)))
    other = terms(w_rec=2.0, w_style=0.0, w_gram=3.0, w_content=0.0)
    assert "content" not in other
    torch.testing.assert_close(other["loss"], 2 * t["rec"] + 3 * t["gram"])
    torch.testing.assert_close(terms(w_rec=0.0, w_style=1.0, w_gram=0.0, w_content=0.0)["loss"], t["ce"])
    before = {k: v.clone() for k, v in clf.state_dict().items()}
    task(w_gram=1.0, w_content=0.5).training_loss(model, (images, labels))[0].backward()
    assert not clf.training and all(p.grad is None for p in clf.parameters())  # frozen: no gradients, no BN updates
    assert all(torch.equal(v, clf.state_dict()[k]) for k, v in before.items())
    assert model.to_rgb.weight.grad.abs().sum() > 0  # while the stylizer trains


def test_targets_are_other_training_styles() -> None:
    model_free = StylizeTask.__new__(StylizeTask)
    model_free.allowed = torch.tensor([0, 2, 3])  # style 1 has no training images
    labels = torch.tensor([0, 2, 3] * 200)
    torch.manual_seed(0)
    t = model_free.draw_targets(labels)
    assert not (t == labels).any() and not (t == 1).any()
    assert set(t[labels == 0].tolist()) == {2, 3} and set(t[labels == 3].tolist()) == {0, 2}
    torch.manual_seed(0)
    assert torch.equal(model_free.draw_targets(labels), t)  # seeded by torch's RNG (exact resume)


def test_render_grid_dimensions_and_files(assets: dict, tmp_path: Path) -> None:
    data = assets["data"]
    a, b = data / "test" / "Baroque" / "0.png", data / "test" / "Ukiyo_e" / "1.png"
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    result = render(assets["run"], [a, bad, b], styles="pop art,ukiyo-e", out=tmp_path / "r")
    assert result["styles"] == ["Pop_Art", "Ukiyo_e"] and [s["path"] for s in result["skipped"]] == [str(bad)]
    lay = result["layout"]
    grid = np.asarray(Image.open(result["grid"]).convert("RGB"))
    S, pad = 32, 2
    assert lay["rows"] == 2 and lay["cols"] == 1 + 2 and lay["cell"] == S
    assert grid.shape == (lay["header"] + 2 * (S + pad) + pad + lay["footer"], 3 * (S + pad) + pad, 3)
    assert lay["header"] > 0 and lay["footer"] == 0  # data is not synthetic: no stamp

    def cell(r: int, c: int) -> np.ndarray:
        y, x = lay["header"] + pad + r * (S + pad), pad + c * (S + pad)
        return grid[y:y + S, x:x + S]

    from artstyle.data.decode import decode_image

    assert np.array_equal(cell(1, 0), decode_image(b.read_bytes(), S))  # original first, inputs as rows
    single = np.asarray(Image.open(tmp_path / "r" / "1__Ukiyo_e.png").convert("RGB"))
    assert np.array_equal(cell(1, 2), single)  # then one column per target style
    assert sorted(p.name for p in (tmp_path / "r").glob("*__*.png")) == [
        "0__Pop_Art.png", "0__Ukiyo_e.png", "1__Pop_Art.png", "1__Ukiyo_e.png"]
    everything = render(assets["run"], [a], styles="all", out=tmp_path / "all")
    assert everything["layout"]["cols"] == 1 + len(CLASSES)
    with pytest.raises(ArtstyleError, match="Known styles: Baroque, Pop_Art, Ukiyo_e"):
        render(assets["run"], [a], styles="Baroque,Cubism", out=tmp_path / "x")
    with pytest.raises(ArtstyleError, match="no readable image"):
        render(assets["run"], [bad], out=tmp_path / "y")


def test_resolve_styles_aliases() -> None:
    classes = ["Art_Nouveau_Modern", "Baroque", "Post_Impressionism", "my_style"]
    assert resolve_styles("Art_Nouveau, post-impressionism,BAROQUE,my style", classes) == [0, 2, 1, 3]
    assert resolve_styles("all", classes) == [0, 1, 2, 3] and resolve_styles(["Baroque", "baroque"], classes) == [1]


def test_image_metrics() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    assert (ssim(a, a) == 1.0).all() and (psnr(a, a) == PSNR_CAP).all()
    assert (ssim(a, b) < 0.99).all() and (ssim(a, b) > ssim(a, rng.integers(0, 256, a.shape, dtype=np.uint8))).all()
    mse = ((a.astype(float) - b) ** 2).reshape(3, -1).mean(1)
    assert np.allclose(psnr(a, b), 10 * np.log10(255 ** 2 / mse))
    # SSIM of a constant shift of a constant image: only the luminance term, known in closed form.
    c = np.full((1, 16, 16, 3), 100, np.uint8)
    c1 = (0.01 * 255) ** 2
    assert np.isclose(ssim(c, c + 20)[0], (2 * 100 * 120 + c1) / (100 ** 2 + 120 ** 2 + c1))


def test_sample_pairs_mismatched_seeded() -> None:
    labels = np.array([0, 0, 1, 2, 2, 2])
    img, tgt = sample_pairs(labels, [0, 1, 2], n_pairs=8, seed=3)
    assert len(img) == 8 and not (labels[img] == tgt).any()
    assert len(set(zip(img.tolist(), tgt.tolist()))) == 8  # without replacement
    again = sample_pairs(labels, [0, 1, 2], n_pairs=8, seed=3)
    assert np.array_equal(again[0], img) and np.array_equal(again[1], tgt)
    every = sample_pairs(labels, [0, 1, 2], n_pairs=100)
    assert len(every[0]) == 12  # all 6 * 2 mismatched pairs


def test_identity_baseline_is_exact(assets: dict) -> None:
    cache = assets["cache"]
    model, info = load_stylizer(assets["run"])
    judge, jinfo = load_classifier(assets["judge"], picture=False)  # as stylize evaluate loads it
    rows = cache.indices("test")
    true = map_classes(info["classes"], cache.classes)[cache.labels[rows]]
    images = cache.images[rows]
    # Matched pairs (target = true style, each test image once): the identity "hit rate" is the judge's
    # accuracy, as computed independently by the classifier evaluation.
    matched = evaluate_pairs(model, info, judge, jinfo, images, true, true)["methods"]
    accuracy = evaluate_on_cache(judge, jinfo["classes"], cache, "test", cache.counts("train"))["accuracy"]
    assert matched["identity"]["hit_rate"] == accuracy
    ident = matched["identity"]
    assert ident["ssim"] == 1.0 and ident["psnr"] == PSNR_CAP and ident["judge_feature_distance"] == 0.0
    # Mismatched pairs: the identity hits exactly where the judge mistakes the input for the target style.
    img, tgt = sample_pairs(true, range(len(info["classes"])), 20, seed=0)
    res = evaluate_pairs(model, info, judge, jinfo, images[img], true[img], tgt)["methods"]
    to_judge = map_classes(jinfo["classes"], info["classes"])
    expected = float((predict_arrays(judge, images[img]).argmax(1) == to_judge[tgt]).mean())
    assert res["identity"]["hit_rate"] == expected
    assert res["identity"]["ssim"] == 1.0 and res["stylizer"]["ssim"] < 1.0 and res["blend"]["ssim"] < 1.0
    # The report written at the end of training says the same.
    ev = read_json(assets["run"] / "metrics.json")["evaluation"]
    assert ev["methods"]["identity"]["ssim"] == 1.0 and ev["methods"]["identity"]["psnr"] == PSNR_CAP
    assert ev["pairs"] == len(rows) * (len(CLASSES) - 1) < 30  # fewer possible pairs than asked: all of them
    assert set(ev["methods"]) == {"stylizer", "identity", "blend", "reconstruction"}
    assert (assets["run"] / "figures" / "evaluation_grid.png").is_file() and "| identity" in ev["table_markdown"]
    assert 0 <= ev["methods"]["stylizer"]["hit_rate"] <= 1 and ev["methods"]["stylizer"]["psnr"] < PSNR_CAP


def test_overlay_is_the_input_at_zero_and_the_painting_at_one() -> None:
    from artstyle.stylize.frontier import overlay

    a, b = np.full((2, 4, 4, 3), 10, np.uint8), np.full((2, 4, 4, 3), 201, np.uint8)
    assert np.array_equal(overlay(a, b, 0.0), a) and np.array_equal(overlay(a, b, 1.0), b)
    assert (overlay(a, b, 0.5) == 106).all()  # 105.5 rounds to even
    with pytest.raises(ValueError, match="alpha 1.5"):
        overlay(a, b, 1.5)


def test_overlay_frontier_scores_the_evaluations_own_pairs(assets: dict, tmp_path: Path) -> None:
    from artstyle.figures import save_figure
    from artstyle.figures.stylize import plot_frontier
    from artstyle.stylize.frontier import overlay_frontier, target_paintings

    cache, classes = assets["cache"], load_stylizer(assets["run"])[1]["classes"]
    targets = np.array([0, 2, 1, 2])
    paintings = target_paintings(cache, classes, targets, seed=3)
    train = cache.indices("train")
    styles = map_classes(classes, cache.classes)[cache.labels[train]]
    for painting, t in zip(paintings, targets):  # each is a training image of its target style
        assert any(np.array_equal(painting, cache.images[r]) for r in train[styles == t])
    ev = read_json(assets["run"] / "metrics.json")["evaluation"]
    result = overlay_frontier(assets["run"], assets["judge"], pairs=ev["pairs"], seed=ev["seed"], cache=cache,
                              alphas=(0.0, 0.5, 1.0))
    first, mid, last = result["points"]
    assert result["pairs"] == ev["pairs"] and [p["alpha"] for p in result["points"]] == [0.0, 0.5, 1.0]
    # alpha 0 is the identity on the same pairs: the evaluation's identity row, exactly
    assert first["ssim"] == 1.0 and first["hit_rate"] == ev["methods"]["identity"]["hit_rate"]
    assert last["ssim"] < mid["ssim"] < 1.0 and all(0 <= p["hit_rate"] <= 1 for p in result["points"])
    fig = plot_frontier(result["points"], {"tiny": (0.4, 0.3)}, target=(0.5, 0.7), synthetic=False)
    assert save_figure(fig, tmp_path / "frontier.png").stat().st_size > 0


def test_judge_must_differ_from_loss_classifier(assets: dict) -> None:
    from artstyle.stylize import evaluate_stylizer

    with pytest.raises(ArtstyleError, match="independently trained"):
        evaluate_stylizer(assets["run"], assets["clf"], cache=assets["cache"], pairs=5)


def test_cli_train_render_reload(assets: dict, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from artstyle.commands.stylize import app

    run = tmp_path / "cli-run"
    args = ["train", "--data", str(assets["data"]), "--cache", str(assets["cache"].root), "--size", "32",
            "--epochs", "2",
            "--max-steps-per-epoch", "2", "--batch-size", "8", "--workers", "0", "--no-progress", "--width", "8",
            "--style-source", "mean-latent", "--classifier", str(assets["clf"]), "--judge", str(assets["judge"]),
            "--eval-pairs", "10", "--out", str(run)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, (res.output, res.exception)
    assert "| identity (output = input) | " in res.output and f"run: {run}" in res.output
    for name in ("config.json", "classes.json", "metrics.jsonl", "best.safetensors", "metrics.json",
                 "style_stats.safetensors", "evaluation.md", "figures/evaluation_grid.png"):
        assert (run / name).is_file(), name
    assert [r["epoch"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2]
    cfg = read_json(run / "config.json")
    assert cfg["classifier"]["run"] == str(assets["clf"]) and cfg["model"]["style_source"] == "mean-latent"
    model, info = load_stylizer(run)
    state = load_safetensors(run / "best.safetensors")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    last = load_safetensors(run / "last.safetensors")  # best = the latest epoch's weights, not the lowest val loss
    assert all(torch.equal(v, last[k]) for k, v in state.items())
    # The mean codes saved with the weights are the exact means over the training images for those weights.
    means, seen = mean_codes(model, CachedImages(assets["cache"], "train"))
    assert seen.all() and torch.allclose(model.style_means, means, atol=1e-5) and means.abs().sum() > 0
    data = assets["data"]
    out = tmp_path / "renders"
    res = CliRunner().invoke(app, ["render", str(run), "--images", str(data / "test" / "Pop_Art" / "0.png"),
                                   str(data / "test" / "Baroque"), "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.exception)
    n_inputs = 1 + len(list((data / "test" / "Baroque").iterdir()))
    grid = Image.open(out / "grid.png")
    assert grid.size[0] == (1 + len(CLASSES)) * 34 + 2 and len(list(out.glob("*__*.png"))) == n_inputs * len(CLASSES)
    res = CliRunner().invoke(app, ["render", str(run), "--images", str(data / "test" / "Pop_Art" / "0.png"),
                                   "--styles", "Cubism"])
    assert res.exit_code != 0 and "Known styles" in str(res.exception)


def test_resume_matches_uninterrupted_run(assets: dict, tmp_path: Path) -> None:
    """With the --w-adv discriminator (its weights and Adam state come back from discriminator_state.safetensors):
    the stylizer and the discriminator end bit-identical to an uninterrupted run's."""
    cfg = dict(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=2, max_steps_per_epoch=2,
               style_source="mean-latent", classifier=str(assets["clf"]), w_adv=0.2, **TINY)
    full = train_stylizer(StylizeConfig(out=str(tmp_path / "full"), **cfg))
    with interrupted_at_epoch(2):
        train_stylizer(StylizeConfig(out=str(tmp_path / "cut"), **cfg))
    train_stylizer(StylizeConfig(resume=str(tmp_path / "cut"), progress=False))
    for name in ("last.safetensors", "discriminator_state.safetensors"):
        a, b = load_safetensors(full / name), load_safetensors(tmp_path / "cut" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_classifier_and_judge_trained_when_missing(assets: dict, tmp_path: Path) -> None:
    run = train_stylizer(StylizeConfig(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=1,
                                       max_steps_per_epoch=2, classifier_epochs=1, judge="auto", eval_pairs=10,
                                       out=str(tmp_path / "auto"), **TINY))
    cfg = read_json(run / "config.json")
    assert cfg["classifier"] == {"run": str(run / "classifier"), "trained_here": True,
                                 "classes": ["Baroque", "Pop_Art", "Ukiyo_e"]}
    assert cfg["judge"] == {"run": str(run / "judge"), "trained_here": True}
    # The judge is independent of the loss classifier: another architecture and another seed.
    assert read_json(run / "judge" / "config.json")["model"]["arch"] == "simple-cnn"
    seeds = [read_json(run / sub / "config.json")["config"]["seed"] for sub in ("judge", "classifier")]
    assert seeds[0] != seeds[1]
    assert read_json(run / "metrics.json")["evaluation"]["judge"] == str(run / "judge")


# ------------------------------------------------------------ colour, streaks (issue 12) and --init-from

CARD_PALETTE = torch.tensor([[1.0, -1, -1], [-1, -1, 1], [-1, 1, -1], [1, 1, -1]]) * 0.8  # red, blue, green, yellow


def _cards(n: int, gen: torch.Generator, size: int = 16) -> torch.Tensor:
    """``(n, 3, size, size)`` images in [-1, 1]: two-colour cards (one palette colour on the left half, one on
    the right) and, for about half of them, smooth colour fields instead."""
    left = CARD_PALETTE[torch.randint(0, 4, (n,), generator=gen)]
    right = CARD_PALETTE[torch.randint(0, 4, (n,), generator=gen)]
    x = left[:, :, None, None].repeat(1, 1, size, size)
    x[..., size // 2:] = right[:, :, None, None]
    smooth = torch.nn.functional.interpolate(torch.rand(n, 3, 2, 2, generator=gen) * 1.6 - 0.8, size=(size, size),
                                             mode="bilinear", align_corners=True)
    pick = torch.rand(n, generator=gen) < 0.5
    x[pick] = smooth[pick]
    return x


def test_decoder_keeps_each_images_colour_at_identity_modulation() -> None:
    """With the style modulation at identity (the AdaIN heads at zero, as initialised), a version-2 decoder still
    sees each image's colour. Version 1 instance-normalised the content, so two plain images of different
    colours decoded to the SAME output: the colour could only come from the style vector (issue 12's cause)."""
    torch.manual_seed(0)
    red, blue = (CARD_PALETTE[i][None, :, None, None].repeat(1, 1, 16, 16) for i in (0, 1))
    x, t = torch.cat([red, blue]), torch.tensor([0, 0])
    with torch.no_grad():
        old = Stylizer(2, "learned", width=8, blocks=1, version=1).eval()(x, t)
        new = Stylizer(2, "learned", width=8, blocks=1, version=2).eval()(x, t)
        grid = Stylizer(2, "learned", width=8, blocks=1).eval()(x, t)  # version 3: the input plus a change
    assert torch.allclose(old[0], old[1], atol=1e-5)  # version 1: the colour is gone before the decoder
    assert (new[0] - new[1]).abs().mean() > 1e-3
    assert (grid[0] - grid[1]).abs().mean() > 0.5


@pytest.mark.parametrize("version", [2, 3])
def test_own_style_rendering_keeps_a_red_blue_card_red_and_blue(version: int) -> None:
    """A few hundred steps of own-style reconstruction on two-colour cards: a red|blue card rendered in its own
    style comes back red on the left and blue on the right (version 1 came back in one average palette)."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = Stylizer(2, "learned", width=8, blocks=1, version=version)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(200):
        x, own = _cards(8, gen), torch.randint(0, 2, (8,), generator=gen)
        loss = (model(x, 1 - own, own=own)["recon"] - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    card = CARD_PALETTE[0][None, :, None, None].repeat(2, 1, 16, 16)
    card[..., 8:] = CARD_PALETTE[1][:, None, None]
    with torch.no_grad():
        out = model.eval()(card, torch.tensor([0, 1]))  # in either style: both were trained as "own"
    left, right = out[..., :8].mean((2, 3)), out[..., 8:].mean((2, 3))
    assert (left[:, 0] > 0.4).all() and (left[:, 1:] < -0.4).all(), left  # red
    assert (right[:, 2] > 0.4).all() and (right[:, :2] < -0.4).all(), right  # blue


def _profile_contrast(images: np.ndarray) -> float:
    """Largest std (grey levels) of the row-mean or column-mean grey profile of uint8 ``(N, S, S, 3)``."""
    grey = images.astype(float).mean(-1)
    return max(float(grey.mean(2).std(1).max()), float(grey.mean(1).std(1).max()))


def _faint_step(n: int, size: int, step: float = 1.0) -> np.ndarray:
    """A flat grey image whose left half is ``step`` grey levels lighter: a column pattern of contrast 0.5."""
    x = np.full((size, size, 3), 128.0)
    x[:, :size // 2] += step
    return x.astype(np.uint8)[None].repeat(n, 0)


def test_outputs_add_no_row_or_column_pattern(assets: dict) -> None:
    """A 1-grey-level step in a flat image stays faint in every style. Version 1 instance-normalised every
    decoder stage, which blows any weak variation up to unit variance: the step came back as full-contrast
    columns (the streaks of issue 12: 18 grey levels untrained, ~40 in trained runs)."""
    model, info = load_stylizer(assets["run"])
    k = len(info["classes"])
    x = _faint_step(k, 32)
    assert _profile_contrast(stylize_arrays(model, x, np.arange(k))) < 5.0
    torch.manual_seed(0)
    old = Stylizer(k, "learned", width=8, blocks=1, version=1).eval()
    assert _profile_contrast(stylize_arrays(old, x, np.arange(k))) > 10.0  # what the test guards against


def test_old_version_1_runs_still_load_and_render(assets: dict, tmp_path: Path) -> None:
    """A run written before ``model.version`` existed rebuilds the version-1 network and renders."""
    import shutil

    from artstyle.runs import save_safetensors, write_json

    old = tmp_path / "old"
    shutil.copytree(assets["run"], old)
    cfg = read_json(old / "config.json")
    cfg["model"].pop("version", None)
    write_json(old / "config.json", cfg)
    v1 = Stylizer(cfg["model"]["num_styles"], cfg["model"]["style_source"], cfg["model"]["width"],
                  cfg["model"]["blocks"], version=1)
    save_safetensors(old / "best.safetensors", v1.state_dict())
    model, info = load_stylizer(old)
    assert model.version == 1 and read_json(assets["run"] / "config.json")["model"]["version"] == 3
    x = assets["cache"].images[assets["cache"].indices("test")[:2]]
    assert stylize_arrays(model, x, np.array([0, 1])).shape == x.shape


def test_init_from_loads_matching_autoencoder_weights_and_names_the_rest(assets: dict, tmp_path: Path) -> None:
    from artstyle.embed import EmbedTrainConfig, train_autoencoder
    from artstyle.stylize.train import init_from_autoencoder

    ae_run = train_autoencoder(EmbedTrainConfig(data=str(assets["data"]), cache=str(assets["cache"].root),
                                                arch="spatial", latent_dim=64, epochs=1, max_steps_per_epoch=2,
                                                pca_samples=8, out=str(tmp_path / "ae"), **TINY))
    ae = load_safetensors(ae_run / "best.safetensors")
    model = Stylizer(len(CLASSES), "learned", width=8, blocks=1, version=2)
    result = init_from_autoencoder(model, ae_run, progress=False)
    state = model.state_dict()
    assert "encoder.0.0.weight" in result["loaded"] and "encoder.2.1.body.1.weight" in result["loaded"]
    assert all(torch.equal(state[k], ae[k]) for k in result["loaded"])
    assert any(s.startswith("lin_enc.weight") for s in result["skipped"])  # the autoencoder's own parts
    assert set(result["loaded"]) | set(result["not_loaded"]) == set(state)
    assert "embedding.weight" in result["not_loaded"]
    with pytest.raises(ArtstyleError, match="no weight of that autoencoder matches"):
        init_from_autoencoder(Stylizer(len(CLASSES), "learned", width=8, version=1), ae_run, progress=False)
    with pytest.raises(ArtstyleError, match="use a grid or grid-fine autoencoder"):  # the default (version 3) takes grid runs
        init_from_autoencoder(Stylizer(len(CLASSES), "learned", width=8), ae_run, progress=False)
    grid_run = train_autoencoder(EmbedTrainConfig(data=str(assets["data"]), cache=str(assets["cache"].root),
                                                  arch="grid", latent_dim=64, epochs=1, max_steps_per_epoch=2,
                                                  pca_samples=8, out=str(tmp_path / "grid"), **TINY))
    grid = load_safetensors(grid_run / "best.safetensors")
    model = Stylizer(len(CLASSES), "learned", width=8, blocks=1)
    result = init_from_autoencoder(model, grid_run, progress=False)
    state = model.state_dict()
    assert {"encoder.0.0.weight", "encoder.1.0.weight"} <= set(result["loaded"])  # its first two stages
    assert all(torch.equal(state[k], grid[k]) for k in result["loaded"])
    run = train_stylizer(StylizeConfig(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=1,
                                       max_steps_per_epoch=1, classifier=str(assets["clf"]), init_from=str(grid_run),
                                       out=str(tmp_path / "sty"), **TINY))
    recorded = read_json(run / "config.json")["init_from"]
    assert recorded["loaded"] == result["loaded"] and recorded["skipped"] == result["skipped"]
