"""Autoencoder model, losses and metrics, `embed train` run directories, and embeddings export of every kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from artstyle.data.cache import prepare_cache
from artstyle.embed import (EMBEDDERS, EmbedTrainConfig, color_histogram, export_embeddings, image_scores,
                            load_autoencoder, reconstruction_loss, reconstruction_metrics, train_autoencoder)
from artstyle.figures.embed import plot_learning_curves
from artstyle.metrics import psnr, ssim
from artstyle.embeddings import load_embeddings
from artstyle.errors import ArtstyleError
from artstyle.models.autoencoder import AUTOENCODERS, build_autoencoder
from artstyle.runs import read_json, read_jsonl
from conftest import make_folder

FAST = dict(size=32, epochs=2, batch_size=8, workers=0, progress=False, width=8, latent_dim=16,
            max_steps_per_epoch=3)  # --pca-samples: the default, every training image


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> None:
    """One torch thread: on a shared, busy CPU two threads wait on each other and run 10-100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two classes, train/test at 32 px (the test split doubles as validation)."""
    return make_folder(tmp_path / "paintings", {"Baroque": 12, "Pop_Art": 8}, size=32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One tiny `embed train` run shared by the tests that only read it: ``(run, data folder)``."""
    root = tmp_path_factory.mktemp("embed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARTSTYLE_CACHE", str(root / "cache"))
        mp.setenv("ARTSTYLE_RUNS", str(root / "runs"))
        data = make_folder(root / "paintings", {"Baroque": 12, "Pop_Art": 8}, size=32)
        run = train_autoencoder(EmbedTrainConfig(data=str(data), **FAST))
    return run, data


@pytest.mark.parametrize("size", [32, 64])
def test_autoencoder_shapes(size: int) -> None:
    model = build_autoencoder("conv", latent_dim=24, img_size=size, width=8)
    x = torch.rand(3, 3, size, size) * 2 - 1
    z = model.encode(x)
    assert z.shape == (3, 24)
    recon = model.decode(z)
    assert recon.shape == (3, 3, size, size) and recon.abs().max() <= 1
    assert model(x).shape == x.shape
    with pytest.raises(ValueError):
        model.encode(torch.zeros(1, 3, size + 16, size + 16))
    with pytest.raises(ValueError):
        build_autoencoder("conv", img_size=40)
    assert set(AUTOENCODERS) == {"conv", "spatial", "grid", "grid-fine"}


@pytest.mark.parametrize("arch, channels", [("spatial", [8, 16, 32, 32]), ("grid", [8, 16, 32]),
                                            ("grid-fine", [8, 16, 32])])
def test_patch_autoencoders_shapes_crops_and_linear_start(arch: str, channels: list[int]) -> None:
    torch.manual_seed(0)
    model = build_autoencoder(arch, latent_dim=64, img_size=32, width=8)
    assert (model.grid, model.k, model.stride) == (2, 16, 16)  # 64 numbers = 16 channels x 2 x 2
    x = torch.nn.functional.interpolate(torch.rand(6, 3, 4, 4) * 2 - 1, size=32, mode="bilinear")
    assert model.encode(x).shape == (6, 64) and model.decode(model.encode(x)).shape == x.shape
    assert model(x[..., :16, :16]).shape == (6, 3, 16, 16)  # fully convolutional: trains on crops
    assert [f.shape[1] for f in model.features(x)] == channels
    with pytest.raises(ValueError):
        model.encode(torch.zeros(1, 3, 24, 24))
    # the non-linear paths start silent, so after init_linear the model *is* patch PCA
    explained = model.init_linear(x)
    model.eval()
    patches = torch.nn.functional.unfold(x, 16, stride=16).transpose(1, 2).reshape(-1, 768)
    centred = patches - patches.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    pca = (centred @ vh[:16].T @ vh[:16] + patches.mean(0)).clamp(-1, 1)
    ours = torch.nn.functional.unfold(model(x), 16, stride=16).transpose(1, 2).reshape(-1, 768)
    assert 0 < explained <= 1 and torch.allclose(ours, pca, atol=1e-4)


def _one_step_then_gradients(model: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gradients of the reconstruction loss after one Adam step from the patch-PCA start."""
    model.init_linear(x)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    for _ in range(2):
        opt.zero_grad()
        reconstruction_loss(model(x), x, "mse").mean().backward()
        if not opt.state:
            opt.step()
    return {n: p.grad for n, p in model.named_parameters() if p.requires_grad}


def test_grid_nonlinear_path_gets_gradients_where_spatial_gets_none() -> None:
    """Issue 17's cause: in ``spatial`` the gradient has to pass two zero layers in a row (output layer, then each
    residual block's last conv), so after a step its residual blocks still learn nothing; ``grid`` has one."""
    torch.manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(8, 3, 4, 4) * 2 - 1, size=32, mode="bilinear")
    spatial = _one_step_then_gradients(build_autoencoder("spatial", latent_dim=64, img_size=32, width=8), x)
    assert spatial["decoder.1.body.0.0.weight"].abs().max() == 0  # a decoder residual block: still silent
    for arch in ("grid", "grid-fine"):  # grid-fine: its second decoder path learns as well
        grads = _one_step_then_gradients(build_autoencoder(arch, latent_dim=64, img_size=32, width=8), x)
        silent = [n for n, g in grads.items() if g is None or g.abs().max() == 0]
        assert not silent, (arch, silent)
        assert not any(n.startswith(("lin_", "mean_patch")) for n in grads)  # the PCA path stays frozen
    assert any(n.startswith("fine.") for n in grads)


@pytest.mark.parametrize("width", [1, 3, 8])
def test_grid_fine_draws_finer_blocks_than_the_grid(width: int) -> None:
    """``grid-fine``'s second path upsamples the grid twice: each P/4 x P/4 block gets its own correction."""
    model = build_autoencoder("grid-fine", latent_dim=64, img_size=32, width=width)
    assert (model.stride, model.fine.patch) == (16, 4)
    assert model(torch.rand(2, 3, 32, 32) * 2 - 1).shape == (2, 3, 32, 32)
    assert build_autoencoder("grid-fine", latent_dim=2, img_size=8, width=width).fine.patch == 2  # P = 8


def test_grid_training_improves_on_its_patch_pca_start() -> None:
    """A few steps on smooth toy images lower the loss below the patch-PCA start (the linear path is frozen)."""
    torch.manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(64, 3, 6, 6) * 2 - 1, size=32, mode="bicubic").clamp(-1, 1)
    model = build_autoencoder("grid", latent_dim=16, img_size=32, width=8)
    model.init_linear(x)
    with torch.no_grad():
        start = float(reconstruction_loss(model(x), x, "mse").mean())
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(30):
        loss = reconstruction_loss(model(x), x, "mse").mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = float(reconstruction_loss(model(x), x, "mse").mean())
    assert final < 0.8 * start, (start, final)


def _discs(n: int, seed: int, size: int = 8, radius: float = 1.5) -> torch.Tensor:
    """Antialiased white discs on black at uniform random centres: ``(n, 3, size, size)`` in [-1, 1].

    A 2-d manifold that is far from flat: two discs apart share no pixel, so no 2-d linear subspace holds it."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=g) * (size - 2 * radius - 2) + radius + 1
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    dist = ((xx - centre[:, 0, None, None]) ** 2 + (yy - centre[:, 1, None, None]) ** 2).sqrt()
    return ((radius + 0.5 - dist).clamp(0, 1)[:, None].repeat(1, 3, 1, 1)) * 2 - 1


@pytest.mark.parametrize("arch", ["spatial", "grid"])
def test_autoencoder_beats_pca_on_a_nonlinear_manifold(arch: str) -> None:
    """Discs at (x, y) with a 2-d latent: PCA-2 blurs them, a tiny autoencoder learns the positions."""
    torch.manual_seed(0)
    train, test = _discs(512, seed=0), _discs(128, seed=1)
    mean = train.flatten(1).mean(0)
    comps = torch.linalg.svd(train.flatten(1) - mean, full_matrices=False)[2][:2]  # PCA-2
    pca_rec = ((test.flatten(1) - mean) @ comps.T @ comps + mean).view_as(test).clamp(-1, 1)
    model = build_autoencoder(arch, latent_dim=2, img_size=8, width=8)
    model.init_linear(train)  # starts as PCA-2 (one 8x8 patch per image)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(60):
        batch = train[torch.randint(0, len(train), (64,))]
        loss = reconstruction_loss(model(batch), batch, "mse").mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        ae_psnr = float(image_scores(model(test), test)["psnr"].mean())
    pca_psnr = float(image_scores(pca_rec, test)["psnr"].mean())
    assert ae_psnr > pca_psnr + 3, (ae_psnr, pca_psnr)


def test_optimisation_lowers_reconstruction_loss() -> None:
    torch.manual_seed(0)
    model = build_autoencoder("conv", latent_dim=32, img_size=32, width=8)
    # smooth images (random low-frequency patterns), which a 32-d code can represent, unlike white noise
    x = torch.nn.functional.interpolate(torch.rand(8, 3, 4, 4) * 2 - 1, size=32, mode="bilinear", align_corners=False)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()  # BatchNorm in batch-statistics mode throughout: the loss being optimised is the one measured
    losses = []
    for _ in range(30):
        loss = reconstruction_loss(model(x), x, "mse").mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        final = float(reconstruction_loss(model(x), x, "mse").mean())
    assert final < 0.5 * losses[0], losses


def test_losses_and_metrics() -> None:
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    same = image_scores(x, x, "l1+ssim")
    assert torch.allclose(same["ssim"], torch.ones(4), atol=1e-5) and (same["psnr"] == 100).all()
    assert torch.allclose(same["loss"], torch.zeros(4), atol=1e-5)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(-1, 1)
    s = image_scores(noisy, x, "mse")
    assert (s["ssim"] < 0.99).all() and (s["psnr"] < 30).all()
    # PSNR on [0, 1]: 10 log10(1 / mse)
    assert torch.allclose(s["psnr"], -10 * torch.log10(s["mse"]), atol=1e-4)
    assert torch.allclose(psnr(torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.1)), torch.tensor([20.0]))
    # psnr: minus each image's PSNR (up to the 50 dB floor), so its mean is minus what validation averages
    assert torch.allclose(reconstruction_loss(noisy, x, "psnr"), -s["psnr"], atol=0.05)
    assert torch.allclose(reconstruction_loss(x, x, "psnr"), torch.full((4,), -50.0))
    # every loss is differentiable, including the SSIM term
    for kind in ("mse", "l1", "l1+ssim", "psnr"):
        y = noisy.clone().requires_grad_(True)
        reconstruction_loss(y, x, kind).mean().backward()
        assert y.grad is not None and y.grad.abs().sum() > 0, kind
    assert ssim(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)).shape == (2,)  # window shrinks for tiny images
    with pytest.raises(ArtstyleError, match="--loss"):
        reconstruction_loss(x, x, "huber")


def test_train_writes_complete_run_and_reloads(trained: tuple[Path, Path]) -> None:
    run, data = trained
    for name in ("config.json", "classes.json", "metrics.jsonl", "metrics.json", "best.safetensors",
                 "last.safetensors", "figures/recon_epoch1.png", "figures/recon_epoch2.png",
                 "figures/reconstructions.png", "figures/pca_vs_ae.png", "figures/learning_curves.png"):
        assert (run / name).is_file(), name
    assert (run / "figures" / "reconstructions.png").read_bytes() == (run / "figures" / "recon_epoch2.png").read_bytes()
    cfg = read_json(run / "config.json")
    assert cfg["model"] == {"arch": "grid", "latent_dim": 16, "img_size": 32, "width": 8, "blocks": 2}
    assert read_json(run / "classes.json")["classes"] == ["Baroque", "Pop_Art"]
    records = read_jsonl(run / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]
    assert all({"train_loss", "val_loss", "val_psnr", "val_ssim"} <= set(r) for r in records)
    m = read_json(run / "metrics.json")
    cache = prepare_cache(str(data), size=32, progress=False)
    assert m["latent_dim"] == 16 and m["synthetic"] is False and m["split"] == "val"  # val is carved from train
    assert m["n_images"] == len(cache.indices("val")) > 0
    for key in ("autoencoder", "pca_baseline"):
        assert 0 < m[key]["psnr"] < 100 and -1 <= m[key]["ssim"] <= 1, key
    assert m["pca_baseline"]["components"] == 16 and m["pca_baseline"]["fit_images"] == len(cache.indices("train"))
    assert m["pca_baseline"]["train_images"] == len(cache.indices("train")) and EmbedTrainConfig().pca_samples == 0
    assert 0 < m["linear_init"]["psnr"] < 100 and m["linear_init"]["fit_images"] == len(cache.indices("train"))
    # the reloaded best checkpoint reproduces the best epoch's val PSNR and the saved metrics
    model, info = load_autoencoder(run)
    assert not model.training and info["size"] == 32 and info["latent_dim"] == 16
    again = reconstruction_metrics(model, cache.images, "mse", cache.indices("val"))
    assert abs(again["psnr"] - m["autoencoder"]["psnr"]) < 1e-3
    assert abs(again["psnr"] - max(r["val_psnr"] for r in records)) < 0.05


def test_train_via_cli_and_errors(folder: Path) -> None:
    from typer.testing import CliRunner

    from artstyle.cli import build_app

    args = ["embed", "train", "--data", str(folder), "--size", "32", "--epochs", "1", "--batch-size", "8",
            "--workers", "0", "--no-progress", "--width", "8", "--latent-dim", "8", "--max-steps-per-epoch", "2",
            "--pca-samples", "10", "--name", "cli", "--refine-steps", "2"]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    assert "PCA (8 components)" in result.output and "PSNR" in result.output
    assert "refined latents (2 steps)" in result.output
    run = Path(result.output.strip().splitlines()[-1].removeprefix("run: "))
    assert run.name.endswith("-cli") and (run / "metrics.json").is_file()
    refined = json.loads((run / "metrics.json").read_text())["autoencoder_refined"]
    assert refined["steps"] == 2 and refined["psnr"] > 0
    with pytest.raises(ArtstyleError, match="--size 40"):
        train_autoencoder(EmbedTrainConfig(data=str(folder), **{**FAST, "size": 40}))
    with pytest.raises(ArtstyleError, match="--train-crop 16: choose a multiple of 32"):  # latent 16 at 32 px: one 32 px cell
        train_autoencoder(EmbedTrainConfig(data=str(folder), **FAST, train_crop=16))
    for bad in (1, -1):
        with pytest.raises(ArtstyleError, match=f"--pca-samples {bad}: the PCA baseline needs at least 2 images"):
            train_autoencoder(EmbedTrainConfig(data=str(folder), **FAST, pca_samples=bad))
    with pytest.raises(ArtstyleError, match="--train-crop 16 needs --arch grid, grid-fine or spatial"):
        train_autoencoder(EmbedTrainConfig(data=str(folder), **{**FAST, "arch": "conv"}, train_crop=16))
    with pytest.raises(ArtstyleError, match="--blocks 3: .* \\(--arch conv has a fixed depth\\)"):
        train_autoencoder(EmbedTrainConfig(data=str(folder), **{**FAST, "arch": "conv"}, blocks=3))
    with pytest.raises(ArtstyleError, match="--blocks -1: choose 0 or more"):
        train_autoencoder(EmbedTrainConfig(data=str(folder), **FAST, blocks=-1))
    with pytest.raises(ArtstyleError, match="--refine-steps -1: choose 0"):
        train_autoencoder(EmbedTrainConfig(data=str(folder), **FAST, refine_steps=-1))
    for bad in (-1, 16):  # --size 32: up to 15 px
        with pytest.raises(ArtstyleError, match=f"--shift {bad}: choose 0 \\(off\\) up to 15 px"):
            train_autoencoder(EmbedTrainConfig(data=str(folder), **FAST, shift=bad))
    with pytest.raises(ArtstyleError, match="not an `artstyle embed train` run"):
        _fake_classifier_run(folder.parent)


def test_shift_moves_the_image_and_fills_the_border_with_its_mirror() -> None:
    from artstyle.embed.train import _train_transform

    assert _train_transform(EmbedTrainConfig(size=32, augment=False)) is None  # off by default
    image = torch.arange(3 * 32 * 32, dtype=torch.int32).view(3, 32, 32)
    shift = _train_transform(EmbedTrainConfig(size=32, augment=False, shift=4))
    torch.manual_seed(0)
    outs = [shift(image) for _ in range(20)]
    assert all(out.shape == image.shape for out in outs)
    assert sum(not torch.equal(out, image) for out in outs) >= 15  # 81 offsets, one of them the identity
    for out in outs:  # every output is the reflect-padded image, cropped somewhere within 4 px
        padded = torch.nn.functional.pad(image[None].float(), (4, 4, 4, 4), mode="reflect")[0].to(image.dtype)
        assert any(torch.equal(out, padded[:, dy:dy + 32, dx:dx + 32]) for dy in range(9) for dx in range(9))


def test_early_stopping_on_validation_psnr(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.embed as embed

    psnrs = iter([20.0, 19.0, 18.0, 25.0, 26.0])  # peaks at epoch 1, so patience 2 stops after epoch 3

    def psnr_down(self, model, loader, accelerator):  # noqa: ANN001, ANN202
        value = next(psnrs)
        return {"loss": 0.1, "mse": 0.01, "psnr": value, "ssim": value / 100}

    monkeypatch.setattr(embed.AutoencoderTask, "evaluate", psnr_down)
    run = train_autoencoder(EmbedTrainConfig(data=str(folder), **{**FAST, "epochs": 5, "max_steps_per_epoch": 1},
                                             patience=2))
    assert [r["epoch"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3]
    training = read_json(run / "metrics.json")["training"]
    assert training["best_epoch"] == 1 and training["monitor"] == "psnr"
    assert training["stopped"].startswith("early stop")
    assert not (run / "figures" / "recon_epoch4.png").exists()


def _fake_classifier_run(root: Path) -> None:
    from artstyle.runs import write_json

    run = root / "clf"
    write_json(run / "config.json", {"model": {"arch": "resnet", "num_classes": 2, "img_size": 32}})
    load_autoencoder(run)


def test_learning_curves_plot() -> None:
    records = [{"epoch": 1, "train_loss": 0.1, "val_loss": 0.09, "val_psnr": 12.0},
               {"epoch": 2, "event": "non-finite loss"},
               {"epoch": 2, "train_loss": 0.05, "val_loss": 0.06, "val_psnr": 14.0}]
    fig = plot_learning_curves(records, synthetic=True)
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    assert sorted(line.get_label() for line in lines) == ["train loss", "val PSNR (dB)", "val loss"]
    psnr_line = next(line for line in lines if line.get_label().startswith("val PSNR"))
    assert list(psnr_line.get_ydata()) == [12.0, 14.0]
    assert any("SYNTHETIC" in t.get_text() for t in fig.texts)


def _check_common(path: Path, folder: Path, kind: str, dim: int, split: str = "all") -> None:
    emb = load_embeddings(path)
    cache = prepare_cache(str(folder), size=32, progress=False)
    rows = cache.indices(split)
    assert emb.kind == kind and emb.vectors.shape == (len(rows), dim) and emb.vectors.dtype == np.float32
    assert emb.classes == sorted(emb.classes) == cache.classes == ["Baroque", "Pop_Art"]
    assert emb.thumbs is not None and emb.thumbs.shape == (len(rows), 32, 32, 3) and emb.thumbs.dtype == np.uint8
    assert emb.synthetic is False
    # labels match the class folder named in each path, and splits match the cache
    names = [p.replace("\\", "/").split("/")[-2] for p in emb.paths]
    assert [emb.classes[i] for i in emb.labels] == names
    assert list(emb.splits) == list(cache.splits[rows])
    assert np.array_equal(emb.thumbs, cache.images[rows])  # 32 px cache: thumbnails are the images


def test_export_every_kind(trained: tuple[Path, Path], tmp_path: Path) -> None:
    run, folder = trained
    assert set(EMBEDDERS) == {"ae", "ae-refined", "ae-style", "classifier", "pixels", "color-hist"}
    path = export_embeddings(str(folder), "ae", run=run, progress=False)
    assert path == run / "embeddings-ae.npz"
    _check_common(path, folder, "ae", 16)
    model, _ = load_autoencoder(run)
    cache = prepare_cache(str(folder), size=32, progress=False)
    with torch.no_grad():
        first = model.encode(torch.from_numpy(np.array(cache.images[:2])).permute(0, 3, 1, 2).float() / 127.5 - 1)
    assert np.allclose(load_embeddings(path).vectors[:2], first.numpy(), atol=1e-4)
    from artstyle.embed.embedders import REFINED_EXPORT_STEPS
    from artstyle.embed.refine import refine_latents

    refined = export_embeddings(str(folder), "ae-refined", run=run, progress=False)
    _check_common(refined, folder, "ae-refined", 16)
    x = torch.from_numpy(np.array(cache.images[:2])).permute(0, 3, 1, 2).float() / 127.5 - 1
    expected = refine_latents(model, x, REFINED_EXPORT_STEPS)  # each image's code depends on that image alone
    atol = 1e-4 if not torch.cuda.is_available() else 5e-2  # the export runs on a GPU where there is one (TF32)
    assert np.allclose(load_embeddings(refined).vectors[:2], expected.numpy(), atol=atol)
    assert not np.allclose(expected.numpy(), first.numpy(), atol=1e-4)  # refinement moved the codes

    pix = export_embeddings(str(folder), "pixels", split="test", size=32, out=tmp_path / "pix.npz", progress=False)
    _check_common(pix, folder, "pixels", 768, split="test")
    v = load_embeddings(pix).vectors
    assert v.min() >= 0 and v.max() <= 1

    hist = export_embeddings(str(folder), "color-hist", size=32, progress=False)
    assert hist.name == "embeddings.npz" and hist.parent.name.endswith("-color-hist")
    _check_common(hist, folder, "color-hist", 512)
    assert np.allclose(load_embeddings(hist).vectors.sum(1), 1, atol=1e-5)


def test_export_classifier_features(folder: Path) -> None:
    from artstyle.classify import ClassifyConfig, load_classifier, train_classifier

    clf = train_classifier(ClassifyConfig(data=str(folder), size=32, epochs=1, batch_size=8, workers=0, progress=False,
                                          width=8, max_steps_per_epoch=1))
    model, _ = load_classifier(clf)
    dim = model.forward_features(torch.zeros(1, 3, 32, 32)).shape[1]
    path = export_embeddings(str(folder), "classifier", run=clf, progress=False)
    assert path == clf / "embeddings-classifier.npz"
    _check_common(path, folder, "classifier", dim)
    with pytest.raises(ArtstyleError, match="--size 64 does not match"):
        export_embeddings(str(folder), "classifier", run=clf, size=64, progress=False)


def test_color_histogram() -> None:
    img = np.zeros((2, 4, 4, 3), np.uint8)
    img[0] = 255  # all white -> last bin
    img[1, :2] = (0, 0, 0)
    img[1, 2:] = (255, 0, 31)  # bins r=7, g=0, b=0 -> 7*64
    h = color_histogram(img)
    assert h.shape == (2, 512) and h.dtype == np.float32
    assert h[0, 511] == 1 and h[1, 0] == 0.5 and h[1, 7 * 64] == 0.5
    assert np.allclose(h.sum(1), 1)


def test_export_errors(folder: Path, capsys: pytest.CaptureFixture) -> None:
    from artstyle.cli import main

    with pytest.raises(ArtstyleError, match="--kind ae needs --run"):
        export_embeddings(str(folder), "ae", progress=False)
    with pytest.raises(ArtstyleError, match="--kind 'vgg' is not one of: ae, ae-refined, ae-style, classifier, pixels, color-hist"):
        export_embeddings(str(folder), "vgg", progress=False)
    with pytest.raises(ArtstyleError, match="--split"):
        export_embeddings(str(folder), "pixels", split="holdout", progress=False)
    with pytest.raises(ArtstyleError, match="does not exist"):
        export_embeddings(str(folder), "ae", run=folder / "nope", progress=False)
    with pytest.raises(SystemExit) as exc:
        main(["embed", "export", "--data", str(folder), "--kind", "ae", "--no-progress"])
    assert exc.value.code == 2 and "--kind ae needs --run" in capsys.readouterr().err


def test_style_embedding_shape_and_flip_invariance(trained: tuple[Path, Path], tmp_path: Path) -> None:
    from artstyle.embed.style_stats import crops_and_mirrors, pooled_style

    run, folder = trained
    path = export_embeddings(str(folder), "ae-style", run=run, split="test", out=tmp_path / "style.npz",
                             progress=False)
    emb = load_embeddings(path)
    model, _ = load_autoencoder(run)
    channels = [f.shape[1] for f in model.features(torch.zeros(1, 3, 32, 32))[:3]]
    assert emb.kind == "ae-style" and emb.vectors.shape == (len(emb), 2 * sum(channels)) == (len(emb), 112)
    stds = np.concatenate([emb.vectors[:, 2 * sum(channels[:i]) + c:2 * sum(channels[:i + 1])]
                           for i, c in enumerate(channels)], axis=1)  # per level: C means, then C stds
    assert np.isfinite(emb.vectors).all() and (stds >= 0).all()
    # the export decodes at 2x the run's 32 px and pools a 2x2 grid of 32 px crops and their mirrors
    assert crops_and_mirrors(torch.zeros(3, 3, 64, 64), 32).shape == (3, 8, 3, 32, 32)
    cache = prepare_cache(str(folder), size=64, progress=False)
    rows = cache.indices("test")
    x = torch.from_numpy(np.array(cache.images[rows])).permute(0, 3, 1, 2).float() / 127.5 - 1
    style, flipped = pooled_style(model, x, 32), pooled_style(model, x.flip(-1), 32)
    assert len(rows) >= 2 and np.allclose(emb.vectors, style.numpy(), atol=1e-4)
    assert torch.allclose(style, flipped, atol=1e-5)  # a horizontally flipped image: the same style vector
    # ... while other images get other vectors: invariance is not a constant
    others = torch.cdist(style, style) + torch.eye(len(rows)) * 1e9
    assert others.min() > 100 * (style - flipped).norm(dim=1).max()
    with pytest.raises(ArtstyleError, match="multiple of 32"):
        export_embeddings(str(folder), "ae-style", run=run, size=48, progress=False)


def test_pca_baseline_fits_every_training_image_unless_told_otherwise() -> None:
    """A PCA fitted on a subsample is a weaker baseline (1 dB on the full built-in set): the default takes all rows,
    ``max_samples`` a subsample, and the memory budget caps both."""
    from types import SimpleNamespace

    from artstyle.embed.measure import fit_pca, pca_sample_cap

    assert pca_sample_cap(64) == (1 << 30) // (4 * 64 * 64 * 3) and pca_sample_cap(64, 500) == 500
    assert pca_sample_cap(64, 10 ** 6) == pca_sample_cap(64) and pca_sample_cap(8, 0, memory_budget=1) == 2
    images = np.random.default_rng(0).integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    cache = SimpleNamespace(size=8, images=images)
    rows = np.arange(5, 40)
    assert fit_pca(cache, rows, 4).n_samples_ == 35
    assert fit_pca(cache, rows, 4, max_samples=10).n_samples_ == 10
    assert fit_pca(cache, rows, 4, max_samples=1000).n_samples_ == 35  # more than there are: all of them
    assert fit_pca(cache, rows, 4, memory_budget=4 * 8 * 8 * 3 * 12).n_samples_ == 12


def test_grid_fine_trains_saves_and_reloads(folder: Path) -> None:
    run = train_autoencoder(EmbedTrainConfig(data=str(folder), **{**FAST, "epochs": 1}, arch="grid-fine", blocks=3))
    model, info = load_autoencoder(run)
    assert model.fine is not None and read_json(run / "config.json")["model"]["arch"] == "grid-fine"
    assert len(model.decoder) == 3 + 2 and len(model.enc_blocks) == 3 + 2  # conv, 3 blocks, activation
    assert read_json(run / "config.json")["model"]["blocks"] == 3
    config = read_json(run / "config.json")
    config["config"]["rotate"] = True  # a setting from another version of artstyle
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtstyleError, match=r"settings this version of artstyle lacks \(rotate\)"):
        train_autoencoder(EmbedTrainConfig(resume=str(run), progress=False))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert model(x).shape == x.shape and info["latent_dim"] == 16


def test_report_says_when_pca_saw_a_subsample() -> None:
    from artstyle.report.sections.embed import _fit_images

    assert _fit_images({"fit_images": 3431, "train_images": 3431}) == "all 3,431 training images"
    assert _fit_images({"fit_images": 600, "train_images": 3431}) == "600 of the 3,431 training images (a subsample)"
    assert _fit_images({"fit_images": 600}) == "600 training images"  # runs from before train_images
    assert _fit_images({}) == "training images"
