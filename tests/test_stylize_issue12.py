"""Issue 12: the streaks' cause (the uncentred mean-Gram target), the Gram normaliser, the --w-adv discriminator,
rendering real non-square photos, and both style sources end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from artstyle.models.discriminator import PatchDiscriminator, hinge_d_loss
from artstyle.models.stylizer import Stylizer
from artstyle.runs import load_safetensors, read_jsonl
from artstyle.stylize import (StylizeConfig, StylizeTask, apply_view, gram, gram_scales, load_stylizer, random_views, render,
                              train_stylizer)
from conftest import resume_one_more_epoch, stylize_assets, tiny_stylize_task

CLASSES = {"Baroque": 10, "Pop_Art": 8, "Ukiyo_e": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return stylize_assets(tmp_path_factory.mktemp("stylize12"), CLASSES, TINY)


# ------------------------------------------------------------ the streaks' cause


def _fit_pixels_to_gram(target: torch.Tensor, start: torch.Tensor, centred: bool, steps: int = 150) -> torch.Tensor:
    """Optimise an image's pixels so that its (pixel-feature) Gram matrix meets ``target``; the image at the end."""
    x = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.02)
    for _ in range(steps):
        loss = (gram(x, centred) - target).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return x.detach()


def test_the_style_target_is_met_by_a_plain_image_only_when_centred() -> None:
    """The streaks' cause. A style holds a plain red and a plain blue image. Its target, the MEAN Gram matrix,
    uncentred contains the spread of the two palettes, which no single image has: optimising a (nearly) plain
    red image towards it paints a pattern of both colours into it (the streaks and the cast). Centred (each
    image's covariance), the target is met by the plain image as it is: it stays plain, and red."""
    red = torch.tensor([0.8, -0.8, -0.8])[None, :, None, None].repeat(1, 1, 16, 16)
    blue = torch.tensor([-0.8, -0.8, 0.8])[None, :, None, None].repeat(1, 1, 16, 16)
    gen = torch.Generator().manual_seed(0)
    start = red + 0.01 * torch.randn(red.shape, generator=gen)
    results = {}
    for centred in (False, True):
        target = (gram(red, centred) + gram(blue, centred)) / 2
        out = _fit_pixels_to_gram(target, start, centred)
        rows, cols = out.mean(3).std(2).mean(), out.mean(2).std(2).mean()  # row- and column-profile contrast
        results[centred] = (float(out.std((2, 3)).mean()), float(max(rows, cols)))
    assert results[False][0] > 0.15, results  # the uncentred target forces a pattern into a plain image
    assert results[True][0] < 0.05 and results[True][1] < 0.01, results  # the centred one leaves it plain


def test_gram_loss_normaliser_is_one_constant_per_layer() -> None:
    """A style of flat images has a near-zero target; dividing by each target's own norm made its term ~1e9. One
    constant per layer (the mean over styles) keeps every style's term on one scale."""
    grams = [torch.stack([torch.zeros(4, 4), torch.eye(4), 2 * torch.eye(4)])]
    scale = gram_scales(grams, np.array([0, 1, 2]))[0]
    assert torch.isclose(scale, torch.tensor((0 + 4 + 16) / 3))
    assert gram_scales([torch.zeros(2, 4, 4)], np.array([0, 1]))[0] > 0  # no division by zero


# ------------------------------------------------------------ --loss-jitter


def test_random_views_wash_out_a_pixel_pattern_and_keep_the_picture() -> None:
    """What --loss-jitter relies on: through a random sub-pixel shift and zoom, a pattern at the pixel grid's own
    period (what the stylizer learnt to fool its loss classifier with) loses most of its energy, while a smooth
    picture comes through nearly unchanged. The views are seeded, and the identity view returns the picture."""
    side = 32
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    checker = ((xx + yy) % 2 * 2 - 1).float()[None, None].repeat(8, 3, 1, 1)  # +-1, 2 px period
    smooth = torch.sin(xx / 6.0)[None, None].float().repeat(8, 3, 1, 1)
    theta = random_views(8, 0.15, side, torch.Generator().manual_seed(0))
    assert torch.equal(theta, random_views(8, 0.15, side, torch.Generator().manual_seed(0)))
    assert ((theta[:, 1, 1] >= 0.85) & (theta[:, 1, 1] <= 1)).all()
    assert apply_view(checker, theta).std((1, 2, 3)).max() < 0.5 * checker.std()  # every view washes it out
    assert apply_view(smooth, theta).std((1, 2, 3)).min() > 0.8 * smooth.std()  # a smooth picture keeps its contrast
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])[None].repeat(8, 1, 1)
    assert torch.allclose(apply_view(smooth, identity), smooth, atol=1e-5)


def test_loss_jitter_changes_what_the_classifier_sees_and_is_reproducible() -> None:
    """With --loss-jitter the loss terms are those of a jittered view (they differ from the exact pixels'); the views
    come from the generator passed in (validation scores the same views every epoch), whatever torch's global RNG
    holds; and the input and its re-rendering go through the same view (a model that returns its input has no
    content loss)."""
    torch.manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0])
    model = Stylizer(3, width=4, version=3).eval()

    def terms(jitter: float, seed: int, global_seed: int) -> dict:
        task = tiny_stylize_task(StylizeConfig(size=16, w_adv=0.0, loss_jitter=jitter), 3, None)
        torch.manual_seed(global_seed)  # a different global RNG state every call: only the generator may matter
        with torch.no_grad():
            return task.losses(model, images, labels, generator=torch.Generator().manual_seed(seed))[0]

    a, b, other, exact = terms(0.15, 5, 1), terms(0.15, 5, 2), terms(0.15, 6, 1), terms(0.0, 5, 1)
    assert torch.equal(a["gram"], b["gram"]) and torch.equal(a["ce"], b["ce"])
    assert not torch.allclose(a["gram"], other["gram"])  # another generator seed: other targets and views
    assert not torch.allclose(a["gram"], exact["gram"])

    class Same(torch.nn.Module):  # re-renders nothing: the output is its input
        style_source = "learned"

        def forward(self, x: torch.Tensor, target: torch.Tensor, own: torch.Tensor | None = None,
                    cycle: bool = False) -> dict:
            return {"out": x, "recon": x, "code": x.mean((2, 3))}

    task = tiny_stylize_task(StylizeConfig(size=16, w_adv=0.0, loss_jitter=0.3), 3, None)
    with torch.no_grad():
        same, _ = task.losses(Same(), images, labels, generator=torch.Generator().manual_seed(5))
    assert float(same["content"].abs().max()) < 1e-6


def test_loss_jitter_is_checked_and_older_runs_resume_without_it(tmp_path: Path) -> None:
    import json

    from artstyle.errors import ArtstyleError
    from artstyle.stylize.train import _checked_config

    for bad in (1.0, -0.1):
        with pytest.raises(ArtstyleError, match="--loss-jitter"):
            _checked_config(StylizeConfig(loss_jitter=bad))
    run = tmp_path / "old"
    run.mkdir()  # a run from before --loss-jitter: its config.json has no such key, and it trained on exact pixels
    (run / "config.json").write_text(json.dumps({"config": {"size": 32}, "model": {"version": 3},
                                                 "classifier": {"run": "clf"}}))
    assert _checked_config(StylizeConfig(resume=str(run))).loss_jitter == 0.0
    assert _checked_config(StylizeConfig(resume=str(run))).w_adv == 0.0  # and before --w-adv: no discriminator
    old = _checked_config(StylizeConfig(resume=str(run)))  # before --detail-gain, --judge-view and --pixel-head
    assert old.detail_gain is False and old.judge_view == "network" and old.pixel_head is False
    new = StylizeConfig()  # a new run's defaults
    assert new.loss_jitter == 0.3 and new.w_adv == 0.5 and new.detail_gain is True and new.judge_view == "recipe"


# ------------------------------------------------------------ --w-adv


def test_discriminator_sees_real_and_generated_images_and_enters_only_above_zero() -> None:
    torch.manual_seed(0)
    k = 3
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0])
    model = Stylizer(k, width=8, blocks=1)
    seen: list[torch.Tensor] = []
    disc = PatchDiscriminator(k, width=8)
    disc.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach().clone()))
    before = {n: p.detach().clone() for n, p in disc.named_parameters()}

    off = tiny_stylize_task(StylizeConfig(w_adv=0.0), k, disc)
    torch.manual_seed(1)
    loss_off, logs_off = off.training_loss(model, (images, labels))
    assert not seen and "adv" not in logs_off and off.disc is None  # weight 0: no discriminator at all

    on = tiny_stylize_task(StylizeConfig(w_adv=0.5), k, disc)
    torch.manual_seed(1)  # the same targets as above
    loss_on, logs_on = on.training_loss(model, (images, labels))
    real = images.float() / 127.5 - 1
    assert len(seen) == 3  # the discriminator's step (real, generated), then the generator's term
    assert torch.allclose(seen[0], real)  # real images ...
    assert not torch.allclose(seen[1], real) and seen[1].shape == real.shape  # ... and the re-renderings
    assert torch.allclose(seen[2], seen[1], atol=1e-6)
    assert {"adv", "d_loss"} <= set(logs_on)
    assert torch.isclose(loss_on, loss_off + 0.5 * logs_on["adv"], atol=1e-4)
    assert any(not torch.equal(before[n], p) for n, p in disc.named_parameters())  # it trained one step
    d = hinge_d_loss(torch.full((2, 1, 2, 2), 2.0), torch.full((2, 1, 2, 2), -2.0))
    assert float(d) == 0.0  # a confident, correct discriminator has no hinge loss


def test_size_multiple_follows_the_network_the_run_trains(tmp_path: Path) -> None:
    import json

    from artstyle.errors import ArtstyleError
    from artstyle.stylize.train import _checked_config, _size_multiple

    assert _size_multiple(StylizeConfig()) == 8  # a new run trains version 3 (1/8 grid)
    for version, multiple in ((None, 4), (2, 4), (3, 8)):  # a resumed run keeps its own network's multiple
        run = tmp_path / f"v{version}"
        run.mkdir()
        model = {} if version is None else {"version": version}
        (run / "config.json").write_text(json.dumps({"model": model}))
        assert _size_multiple(StylizeConfig(resume=str(run))) == multiple
    with pytest.raises(ArtstyleError, match="--crop-size 12: choose a multiple of 8"):
        _checked_config(StylizeConfig(size=32, crop_size=12))


def test_adversarial_loss_refuses_images_too_small_for_the_discriminator() -> None:
    from artstyle.errors import ArtstyleError
    from artstyle.stylize.train import _checked_config

    with pytest.raises(ArtstyleError, match="--w-adv 0.1.*--crop-size 8"):
        _checked_config(StylizeConfig(size=32, crop_size=8, w_adv=0.1))
    assert _checked_config(StylizeConfig(size=32, crop_size=8, w_adv=0.0)).crop_size == 8
    assert PatchDiscriminator(3, 8)(torch.zeros(1, 3, 16, 16), torch.tensor([0])).shape == (1, 1, 2, 2)


def test_adversarial_run_on_crops_saves_and_resumes_its_discriminator(assets: dict, tmp_path: Path) -> None:
    """--w-adv with --crop-size: trains on 16 px crops of the 32 px images, saves discriminator.safetensors, and a
    resumed run reloads and keeps training it. The model still renders whole images."""
    base = dict(data=str(assets["data"]), cache=str(assets["cache"].root), max_steps_per_epoch=2, crop_size=16,
                classifier=str(assets["clf"]), w_adv=0.1, out=str(tmp_path / "adv"), **TINY)
    run = train_stylizer(StylizeConfig(epochs=1, **base))
    saved = load_safetensors(run / "discriminator.safetensors")
    assert saved and "train_adv" in read_jsonl(run / "metrics.jsonl")[0]
    from artstyle.stylize import stylize_arrays

    model, info = load_stylizer(run)
    x = assets["cache"].images[assets["cache"].indices("test")[:2]]
    assert stylize_arrays(model, x, np.array([0, 1]), device="cpu").shape == x.shape == (2, 32, 32, 3)
    with pytest.raises(Exception, match="--crop-size 18"):
        train_stylizer(StylizeConfig(epochs=1, **{**base, "crop_size": 18, "out": str(tmp_path / "bad")}))
    resume_one_more_epoch(run)
    assert len(read_jsonl(run / "metrics.jsonl")) == 2
    assert any(not torch.equal(saved[k], v) for k, v in load_safetensors(run / "discriminator.safetensors").items())


def test_a_discriminator_behind_the_stylizer_resumes_and_says_so(assets: dict, tmp_path: Path, capsys) -> None:
    """A kill between the engine's checkpoint and the discriminator's write leaves the discriminator one epoch
    behind: --resume loads it with its Adam state, and says the run will not match an uninterrupted one."""
    from safetensors.torch import save_file

    from artstyle.stylize.train import DISC_STATE_FILE, _discriminator, _resume_discriminator

    run = train_stylizer(StylizeConfig(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=1,
                                       max_steps_per_epoch=2, classifier=str(assets["clf"]), w_adv=0.2,
                                       out=str(tmp_path / "adv"), **TINY))
    tensors = load_safetensors(run / DISC_STATE_FILE)
    assert any(k.startswith("adam.") and k.endswith(".exp_avg") for k in tensors)
    disc = PatchDiscriminator(3, width=8)
    state = _resume_discriminator(disc, run)
    assert "warning" not in capsys.readouterr().out  # the same epoch as the stylizer's checkpoint
    assert all(torch.equal(v, tensors[f"model.{k}"]) for k, v in disc.state_dict().items())
    assert {len(s) for s in state.values()} == {3}  # step, exp_avg, exp_avg_sq for every parameter
    save_file(tensors, str(run / DISC_STATE_FILE), metadata={"epoch": "0"})  # as if saved one epoch earlier
    _resume_discriminator(PatchDiscriminator(3, width=8), run)
    assert "after epoch 0, the stylizer's checkpoint is from epoch 1" in capsys.readouterr().out
    (run / DISC_STATE_FILE).unlink()  # a run saved before the Adam state was: its weights still load
    old, state = _discriminator(StylizeConfig(resume=str(run), w_adv=0.2, width=8), run, 3)
    weights = load_safetensors(run / "discriminator.safetensors")
    assert state is None and all(torch.equal(v, weights[k]) for k, v in old.state_dict().items())


def test_adversarial_run_under_torchrun_writes_one_loadable_run(assets: dict, tmp_path: Path) -> None:
    """torchrun (what ``accelerate launch`` runs) with 2 gloo processes and the discriminator: the processes keep
    one discriminator (artstyle.dist; tests/test_dist.py) and write one run, with its weights."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:  # a free port: a fixed one may be taken by another run on this machine
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
           "-m", "artstyle.cli", "stylize", "train", "--data", str(assets["data"]), "--cache",
           str(assets["cache"].root), "--classifier", str(assets["clf"]), "--size", "32", "--width", "8",
           "--epochs", "1", "--batch-size", "4", "--workers", "0", "--no-progress", "--max-steps-per-epoch", "2",
           "--w-adv", "0.2", "--out", str(out), "--time-budget", "600"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "train_d_loss" in read_jsonl(out / "metrics.jsonl")[0]
    assert load_safetensors(out / "discriminator.safetensors")
    model, info = load_stylizer(out)
    assert info["config"]["config"]["w_adv"] == 0.2


# ------------------------------------------------------------ real photos, both style sources


@pytest.mark.parametrize("source", ["learned", "mean-latent"])
def test_both_style_sources_train_save_load_and_render_a_real_photo(source: str, assets: dict,
                                                                    tmp_path: Path) -> None:
    """A photo-sized image, 301 x 207 (neither square nor a multiple of 4), renders in every style and keeps its
    aspect ratio. (scikit-image's astronaut would do, but it is not a test dependency: a noisy gradient stands in.)"""
    from PIL import Image

    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 301)[None, :, None] * np.array([1.0, 0.6, 0.3])
    pixels = np.clip(ramp + rng.normal(0, 20, (207, 301, 3)), 0, 255).astype(np.uint8)  # 207 rows x 301 columns
    Image.fromarray(pixels).save(photo)
    run = train_stylizer(StylizeConfig(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=1,
                                       max_steps_per_epoch=2, style_source=source, classifier=str(assets["clf"]),
                                       out=str(tmp_path / source), **TINY))
    model, info = load_stylizer(run)
    assert model.style_source == source
    result = render(run, [photo], styles="all", out=tmp_path / "renders")
    assert len(result["files"]) == len(CLASSES)
    for f in result["files"]:
        w, h = Image.open(f).size
        assert abs(w / h - 301 / 207) < 0.02 and min(w, h) >= info["size"], (f, w, h)
    # The Python API (Studio.render, the web app) takes the same path: same aspect, same pixels as the CLI's PNGs.
    from artstyle.api.stylizer import Stylizer as ApiStylizer

    api = ApiStylizer(run, device="cpu").render(photo, ["Pop_Art"])
    assert api["renders"].shape[1:] == api["image"].shape and api["image"].shape[:2] == (info["size"], 47)
    png = next(f for f in result["files"] if "Pop_Art" in Path(f).name)
    assert np.array_equal(api["renders"][0], np.asarray(Image.open(png).convert("RGB")))
    half = ApiStylizer(run, device="cpu").render(photo, ["Pop_Art"], strength=0.5)["renders"]
    assert half.shape == api["renders"].shape
    stylizer = ApiStylizer(run, device="cpu")  # the web app's grid.png of a landscape photo: square cells, no crash
    assert stylizer.grid(api).shape[1] > 2 * max(api["image"].shape[:2])


def test_a_crop_trained_classifier_sees_whole_images_at_its_cache_scale() -> None:
    from artstyle.stylize.views import whole_image_size

    def info(arch: str, size: int, cache_size: int) -> dict:
        return {"size": size, "cache_size": cache_size, "config": {"model": {"arch": arch}}}

    assert whole_image_size(info("texture", 64, 256)) == 256  # learnt the pixel scale of the 256 px cache
    assert whole_image_size(info("resnet", 128, 128)) == 128  # whole images: as trained
    assert whole_image_size(info("inclass", 64, 256)) == 64  # a dense head takes only its input size


def test_the_stylizer_keeps_its_latest_weights_not_its_lowest_validation_loss(tmp_path: Path) -> None:
    """The validation loss was lowest while the stylizer still returned its input (the style ramp's first epoch):
    selecting by it kept the least-stylized weights. A task with ``keep = "last"`` (the stylize task) keeps the
    latest epoch's, while the rising loss still drives --patience."""
    from artstyle.engine import fit
    from artstyle.settings import TrainSettings

    class Rising:  # validation loss 1, 2, 3, ... as style acts
        monitor, mode, keep = "loss", "min", "last"

        def __init__(self) -> None:
            self.calls = 0

        def train_mode(self, model: torch.nn.Module) -> None:
            model.train()

        def training_loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict]:
            return model(batch[0].float()).pow(2).mean(), {}

        def evaluate(self, model: torch.nn.Module, loader: Any, accelerator: Any) -> dict[str, float]:
            self.calls += 1
            return {"loss": float(self.calls)}

    assert StylizeTask.keep == "last" and StylizeTask.mode == "min"
    data = torch.utils.data.TensorDataset(torch.randn(8, 3), torch.zeros(8))
    settings = TrainSettings(epochs=6, batch_size=4, workers=0, progress=False, patience=2, lr=1e-2)
    summary = fit(torch.nn.Linear(3, 1), Rising(), data, data, tmp_path, settings)
    assert summary["epochs_run"] == 3 and summary["best_epoch"] == 1 and summary["weights"] == "last"  # patience
    best, last = load_safetensors(tmp_path / "best.safetensors"), load_safetensors(tmp_path / "last.safetensors")
    assert all(torch.equal(v, last[k]) for k, v in best.items())


def test_an_untrained_stylizer_adds_no_pattern_of_the_pixel_shuffle_period() -> None:
    """ICNR: the sub-pixel kernels of both pixel shuffles start equal, so an untrained version-3 stylizer adds no
    fixed pattern of their periods (4 and 8 px) to a smooth ramp; before, much of its change was such a pattern."""
    torch.manual_seed(0)
    model = Stylizer(5, width=8, version=3).eval()
    yy, xx = torch.meshgrid(torch.linspace(-0.8, 0.8, 64), torch.linspace(-0.8, 0.8, 64), indexing="ij")
    x = torch.stack([yy, xx, 0.3 * yy + 0.2 * xx])[None]
    with torch.no_grad():
        change = (model(x, torch.tensor([2])) - x)[0]
    for period in (4, 8):  # the last shuffle's 4 x 4 cells, and the 2 x 2 of the one before at 1/4 resolution
        n = 64 // period
        phases = change.reshape(3, n, period, n, period).mean((1, 3)).reshape(3, -1)  # mean of each position
        assert change.std() > 1e-3 and phases.std(1).max() < 0.1 * change.std(), period  # before: 0.6 and 0.8
