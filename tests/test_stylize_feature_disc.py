"""Issue 12: a discriminator on the frozen loss classifier's feature maps (``stylize train --adv-input classifier``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artstyle.errors import ArtstyleError
from artstyle.models.discriminator import FeatureDiscriminator, build_discriminator
from artstyle.models.stylizer import Stylizer
from artstyle.runs import load_safetensors, read_jsonl
from artstyle.stylize import StylizeConfig, load_stylizer, train_stylizer
from conftest import resume_one_more_epoch, stylize_assets, tiny_stylize_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

K = 3
CLASSES = {"Baroque": 10, "Pop_Art": 8, "Ukiyo_e": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)


def test_heads_score_every_map_for_the_style_asked_for() -> None:
    torch.manual_seed(0)
    disc = FeatureDiscriminator([4, 8], num_styles=K, width=6)
    maps = [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)]
    scores = disc(maps, torch.tensor([0, 1]))
    assert scores.shape == (2, 8 * 8 + 4 * 4)  # every head's patch logits, side by side
    with torch.no_grad():
        disc.embed.weight.normal_()
    assert not torch.allclose(disc(maps, torch.tensor([0, 0])), disc(maps, torch.tensor([1, 1])))  # conditional
    with pytest.raises(ValueError, match="1 feature maps for 2 heads"):
        disc(maps[:1], torch.tensor([0, 1]))


def test_it_scores_the_classifiers_maps_of_real_and_generated_images_and_trains_only_its_heads() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0])
    model = Stylizer(K, width=8, blocks=1)
    base = dict(size=16, loss_jitter=0.0, style_ramp=0, adv_input="classifier")
    off = tiny_stylize_task(StylizeConfig(**base, w_adv=0.0), K)
    torch.manual_seed(1)
    loss_off, logs_off = off.training_loss(model, (images, labels))

    clf = off.classifier
    disc = build_discriminator("classifier", K, 2, clf, 16)  # heads of 4 x 2 channels on the classifier's maps
    assert isinstance(disc, FeatureDiscriminator) and disc.width == 8
    seen: list[list[torch.Tensor]] = []
    disc.register_forward_hook(lambda m, inp, out: seen.append([t.detach().clone() for t in inp[0]]))
    before = {n: p.detach().clone() for n, p in disc.named_parameters()}
    task = tiny_stylize_task(StylizeConfig(**base, w_adv=0.5), K, disc)
    frozen = {n: p.detach().clone() for n, p in task.classifier.named_parameters()}
    torch.manual_seed(1)  # the same targets as above
    loss_on, logs_on = task.training_loss(model, (images, labels))
    real = clf.feature_maps(images.float() / 127.5 - 1)
    assert len(seen) == 3  # the discriminator's step (real, generated), then the generator's term
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(seen[0], real))  # the real images' maps ...
    assert not torch.allclose(seen[1][0], real[0])  # ... against the re-renderings'
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(seen[2], seen[1]))
    assert torch.isclose(loss_on, loss_off + 0.5 * logs_on["adv"], atol=1e-4)
    assert any(not torch.equal(before[n], p) for n, p in disc.named_parameters())  # its heads trained one step
    assert all(torch.equal(frozen[n], p) for n, p in task.classifier.named_parameters())  # the classifier did not

    model.zero_grad()
    terms, _ = task.losses(model, images, labels, ramp=1.0)
    terms["adv"].mean().backward()  # the generator's term reaches the stylizer through the frozen classifier
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert all(p.grad is None for p in disc.parameters())


def test_a_classifier_without_feature_maps_is_refused_by_name(tmp_path: Path) -> None:
    from artstyle.stylize.train import _discriminator

    cfg = StylizeConfig(w_adv=0.5, adv_input="classifier")
    with pytest.raises(ArtstyleError, match="--adv-input classifier.*runs/simple.*--adv-input pixels"):
        _discriminator(cfg, tmp_path, K, torch.nn.Linear(3, K), "runs/simple", 16)


def test_a_feature_discriminator_run_trains_saves_and_resumes(tmp_path_factory: pytest.TempPathFactory,
                                                               tmp_path: Path) -> None:
    assets = stylize_assets(tmp_path_factory.mktemp("featdisc"), CLASSES, TINY)
    base = dict(data=str(assets["data"]), cache=str(assets["cache"].root), max_steps_per_epoch=2,
                classifier=str(assets["clf"]), w_adv=0.2, adv_input="classifier", out=str(tmp_path / "fd"), **TINY)
    run = train_stylizer(StylizeConfig(epochs=1, **base))
    saved = load_safetensors(run / "discriminator.safetensors")
    assert any(k.startswith("heads.") for k in saved) and "train_adv" in read_jsonl(run / "metrics.jsonl")[0]
    model, info = load_stylizer(run)  # the run loads without its classifier or discriminator
    assert info["config"]["config"]["adv_input"] == "classifier"
    resume_one_more_epoch(run)
    assert len(read_jsonl(run / "metrics.jsonl")) == 2
    assert any(not torch.equal(saved[k], v) for k, v in load_safetensors(run / "discriminator.safetensors").items())
