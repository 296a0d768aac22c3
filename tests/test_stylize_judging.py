"""Issue 12: the stylize judge reads a picture by its run's own recipe (crops at its scale and its picture model)
or by its network alone on the whole picture (``--judge-view``, ``stylize/judging.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from artstyle.classify import ClassifyConfig, load_classifier, predict_crops, train_classifier
from artstyle.data.cache import open_cache
from artstyle.errors import ArtstyleError
from artstyle.runs import read_json
from artstyle.stylize import StylizeConfig, evaluate_stylizer, train_stylizer
from artstyle.stylize.judging import at_size, classifier_outputs, judge_label, judge_probs, load_judge
from artstyle.stylize.views import whole_image_size
from conftest import stylize_assets

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = {"Baroque": 8, "Pop_Art": 8, "Ukiyo_e": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("judging")
    assets = stylize_assets(root, CLASSES, TINY)
    judge = train_classifier(ClassifyConfig(data=str(assets["data"]), model="texture", size=16, epochs=1,
                                            batch_size=4, width=8, workers=0, progress=False, per_class=4,
                                            compile="off", seed=1000, out=str(root / "judge")))
    return {**assets, "judge": judge}


def test_the_recipe_view_is_the_judge_runs_own_prediction(setup: dict) -> None:
    """Crops at the run's scale fused with its picture model: what its test report and `classify predict` say."""
    model, info = load_judge(setup["judge"])
    assert info["judge_view"] == "recipe" and info["picture_model"] and info["cache_size"] > info["size"]
    assert judge_label(info) == "the run's recipe (crops + picture model)"
    cache = open_cache(ClassifyConfig(**read_json(Path(setup["judge"]) / "config.json")["config"]))
    images = np.asarray(cache.images[cache.indices("test")])
    expected, _ = predict_crops(load_classifier(setup["judge"])[0], images, info["size"], info["tta"])
    assert np.allclose(judge_probs(model, info, images), expected, atol=1e-6)
    report = read_json(Path(setup["judge"]) / "metrics.json")
    labels = cache.labels[cache.indices("test")]
    assert float((judge_probs(model, info, images).argmax(1) == labels).mean()) == pytest.approx(report["accuracy"])
    small = at_size(images, 20)  # a stylizer of another size: resized to the judge's cache size first
    assert small.shape[1:] == (20, 20, 3) and judge_probs(model, info, small).shape == expected.shape


def test_the_network_view_reads_the_whole_picture_alone(setup: dict) -> None:
    model, info = load_judge(setup["judge"], "network")
    assert not hasattr(model, "picture_head") and judge_label(info) == "network on the whole picture"
    images = np.asarray(setup["cache"].images[:4])
    logits, _ = classifier_outputs(model, images, whole_image_size(info))
    assert np.allclose(judge_probs(model, info, images), torch.softmax(torch.from_numpy(logits), 1).numpy(), atol=1e-6)
    with pytest.raises(ArtstyleError, match="--judge-view 'crops'"):
        load_judge(setup["judge"], "crops")


def test_an_evaluation_records_its_view_and_the_networks_hit_rate(setup: dict, tmp_path: Path) -> None:
    run = train_stylizer(StylizeConfig(data=str(setup["data"]), cache=str(setup["cache"].root), epochs=1,
                                       max_steps_per_epoch=1, classifier=str(setup["clf"]), out=str(tmp_path / "s"),
                                       **TINY))
    ev = evaluate_stylizer(run, setup["judge"], pairs=12)
    assert ev["judge_view"] == "recipe" and "picture model" in ev["table_markdown"]
    assert all(0 <= m["hit_rate_network"] <= 1 for m in ev["methods"].values())
    old = evaluate_stylizer(run, setup["judge"], pairs=12, judge_view="network")
    assert old["judge_view"] == "network"
    for name, m in old["methods"].items():  # the network view's verdict is what the recipe view records beside its own
        assert m["hit_rate"] == pytest.approx(ev["methods"][name]["hit_rate_network"])


def test_every_judges_verdict_is_kept_and_reported(setup: dict, tmp_path: Path) -> None:
    """A second judge (here: another view and another pair count) adds a row; the same test again replaces its row."""
    from artstyle.report.document import Doc
    from artstyle.report.find import Found
    from artstyle.report.sections.stylize import section_stylization

    run = train_stylizer(StylizeConfig(data=str(setup["data"]), cache=str(setup["cache"].root), epochs=1,
                                       max_steps_per_epoch=1, classifier=str(setup["clf"]), out=str(tmp_path / "s"),
                                       **TINY))
    first = evaluate_stylizer(run, setup["judge"], pairs=12)
    assert read_json(run / "metrics.json")["judges"][0]["hit_rate"] == first["methods"]["stylizer"]["hit_rate"]
    assert "Every judge" not in (run / "evaluation.md").read_text()  # one judge: nothing to compare
    second = evaluate_stylizer(run, setup["judge"], pairs=8, judge_view="network")
    evaluate_stylizer(run, setup["judge"], pairs=12)  # the first test again: its row is replaced, not repeated
    metrics = read_json(run / "metrics.json")
    judges = metrics["judges"]
    assert [(j["judge_view"], j["pairs"]) for j in judges] == [("network", 8), ("recipe", 12)]
    assert judges[0]["hit_rate"] == second["methods"]["stylizer"]["hit_rate"]
    assert judges[0]["identity_hit_rate"] == second["methods"]["identity"]["hit_rate"]
    assert judges[1]["ssim"] == first["methods"]["stylizer"]["ssim"] and metrics["evaluation"]["pairs"] == 12
    text = (run / "evaluation.md").read_text()
    assert "Every judge" in text and text.count(str(setup["judge"])) >= 3  # the last table's note + two rows
    doc = Doc()
    section_stylization(doc, Found(stylize=run))
    assert "Every judge (or way of reading)" in doc.markdown(tmp_path) and doc.markdown(tmp_path).count("| `") == 2


def test_a_run_evaluated_before_the_judges_list_keeps_its_verdict(setup: dict, tmp_path: Path) -> None:
    from artstyle.stylize.evaluate import record_judge

    run = train_stylizer(StylizeConfig(data=str(setup["data"]), cache=str(setup["cache"].root), epochs=1,
                                       max_steps_per_epoch=1, classifier=str(setup["clf"]), out=str(tmp_path / "s"),
                                       **TINY))
    old = evaluate_stylizer(run, setup["judge"], pairs=6)
    old.pop("judge_view")  # as written before --judge-view: the network's verdict
    judges = record_judge({"evaluation": old}, evaluate_stylizer(run, setup["judge"], pairs=6))
    assert [j["judge_view"] for j in judges] == ["network", "recipe"] and judges[0]["pairs"] == 6
    assert record_judge({}, old)[0]["hit_rate"] == old["methods"]["stylizer"]["hit_rate"]
