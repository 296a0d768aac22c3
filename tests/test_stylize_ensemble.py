"""Issue 12: several frozen loss classifiers as one (``stylize train --classifier A,B``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from artstyle.errors import ArtstyleError
from artstyle.models.classifier import build_classifier
from artstyle.models.stylizer import Stylizer
from artstyle.stylize import StylizeConfig, StylizeTask, load_stylizer, train_stylizer
from artstyle.stylize.ensemble import ClassifierEnsemble, content_network, load_loss_classifier, logits_and_maps
from conftest import stylize_assets

CLASSES = {"Baroque": 10, "Pop_Art": 8, "Ukiyo_e": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _resnets(k: int = 3) -> list[torch.nn.Module]:
    torch.manual_seed(4)
    return [build_classifier("resnet", k, 16, width=4).eval() for _ in range(2)]


def test_an_ensemble_averages_logits_and_keeps_every_members_maps() -> None:
    a, b = _resnets()
    ens = ClassifierEnsemble([a, b]).eval()
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        logits, maps = logits_and_maps(ens, x, need_maps=True)
        assert torch.allclose(logits, (a(x) + b(x)) / 2, atol=1e-5)
        assert torch.allclose(ens(x), logits, atol=1e-5)
        own = a.feature_maps(x) + b.feature_maps(x)
        assert len(maps) == len(own) and all(torch.allclose(m, o, atol=1e-5) for m, o in zip(maps, own))
        assert content_network(ens) is a and content_network(a) is a  # the content term: the first member's maps
        single_logits, single_maps = logits_and_maps(a, x, need_maps=True)  # a resnet: logits from its own maps
        assert torch.allclose(single_logits, a(x), atol=1e-5) and len(single_maps) == len(a.feature_maps(x))
        assert logits_and_maps(ens, x, need_maps=False)[1] == []
    with pytest.raises(ArtstyleError, match="at least two"):
        ClassifierEnsemble([a])


def test_the_style_loss_of_an_ensemble_is_that_of_its_mean_logits() -> None:
    """A task built on an ensemble scores the cross-entropy of the members' mean logits, and its Gram term has
    one entry per map of every member; two copies of one network give that network's own terms."""
    k = 3
    a, b = _resnets(k)
    grams = [torch.eye(c)[None].repeat(k, 1, 1) for c in (4, 4, 8, 16, 32)]
    cfg = StylizeConfig(size=16, w_adv=0.0, loss_jitter=0.0)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0])
    torch.manual_seed(1)
    model = Stylizer(k, width=4, version=3).eval()

    def terms(clf: torch.nn.Module, g: list) -> dict:
        task = StylizeTask(cfg, clf, 16, np.arange(k), np.arange(k), g)
        with torch.no_grad():
            return task.losses(model, images, labels, generator=torch.Generator().manual_seed(3))
    single, res = terms(a, grams)
    twice, _ = terms(ClassifierEnsemble([a, a]), grams + grams)
    assert torch.allclose(single["ce"], twice["ce"], atol=1e-5)
    assert torch.allclose(single["gram"], twice["gram"], atol=1e-5)
    assert torch.allclose(single["content"], twice["content"], atol=1e-5)
    ens = ClassifierEnsemble([a, b])
    both, _ = terms(ens, grams + grams)
    task = StylizeTask(cfg, ens, 16, np.arange(k), np.arange(k), grams + grams)
    target = task.draw_targets(labels, torch.Generator().manual_seed(3))  # what losses() drew first
    with torch.no_grad():
        mean_logits = (a(res["out"].float()) + b(res["out"].float())) / 2
    assert torch.allclose(both["ce"], F.cross_entropy(mean_logits, target, reduction="none"), atol=1e-4)
    assert not torch.allclose(both["ce"], single["ce"])
    only_b, _ = terms(b, grams)  # the Gram term: every member's layers, averaged
    assert torch.allclose(both["gram"], (single["gram"] + only_b["gram"]) / 2, atol=1e-5)
    assert torch.allclose(both["content"], single["content"], atol=1e-5)  # the first member's middle map


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return stylize_assets(tmp_path_factory.mktemp("ensemble"), CLASSES, TINY)


def test_a_stylizer_trains_against_two_classifiers_and_names_a_mismatch(assets: dict, tmp_path: Path) -> None:
    from artstyle.classify import ClassifyConfig, train_classifier
    from artstyle.errors import ArtstyleError

    second = train_classifier(ClassifyConfig(**{**assets["base"], "seed": 5, "out": str(tmp_path / "clf2")}))
    pair = f"{assets['clf']},{second}"
    model, info = load_loss_classifier(pair)
    assert isinstance(model, ClassifierEnsemble) and len(model.members) == 2 and info["classes"] == sorted(CLASSES)
    run = train_stylizer(StylizeConfig(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=1,
                                       max_steps_per_epoch=2, classifier=pair, out=str(tmp_path / "ens"), **TINY))
    loaded, _ = load_stylizer(run)  # the run loads without the classifiers
    assert loaded.num_styles == len(CLASSES)
    from artstyle.stylize import evaluate_stylizer

    with pytest.raises(ArtstyleError, match="trained against"):  # a member is no independent judge
        evaluate_stylizer(run, second, pairs=4)
    other = train_classifier(ClassifyConfig(**{**assets["base"], "size": 16, "out": str(tmp_path / "clf16")}))
    with pytest.raises(ArtstyleError, match="clf16 sees whole images at 16 px"):
        load_loss_classifier(f"{assets['clf']},{other}")
    with pytest.raises(ArtstyleError, match="named twice"):
        load_loss_classifier(f"{assets['clf']},{assets['clf']}")
    with pytest.raises(ArtstyleError, match="empty run name"):
        load_loss_classifier(f"{assets['clf']},")
