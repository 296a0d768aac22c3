"""The Python API (artstyle.load): classify, re-render, embed, neighbours and the style map, on tiny runs.

The runs (a classifier, a stylizer, a classifier embeddings file and a pipeline directory holding them) are
made once per module by :func:`make_tiny_runs`, which tests/test_serve.py shares.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch

import artstyle
from artstyle.errors import ArtstyleError
from conftest import make_folder

CLASSES = {"Baroque": 12, "Pop_Art": 8, "Ukiyo_e": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)


def make_tiny_runs(root: Path) -> dict[str, Path]:
    """A 32 px classifier and stylizer (2 steps each), a classifier embeddings file and a pipeline directory
    naming them (with a small report.html), under ``root``. A few seconds once torch is imported."""
    from artstyle.classify import ClassifyConfig, train_classifier
    from artstyle.data.cache import prepare_cache
    from artstyle.embed import export_embeddings
    from artstyle.runs import write_config, write_json, write_text
    from artstyle.stylize import StylizeConfig, train_stylizer

    data = make_folder(root / "paintings", CLASSES, size=24)
    cache = prepare_cache(str(data), size=32, out=root / "cache", progress=False, workers=1)
    base = dict(data=str(data), cache=str(cache.root), epochs=1, max_steps_per_epoch=2, **TINY)
    clf = train_classifier(ClassifyConfig(out=str(root / "clf"), **base))
    sty = train_stylizer(StylizeConfig(classifier=str(clf), out=str(root / "sty"), **base))
    emb = export_embeddings(str(data), "classifier", run=clf, out=root / "classifier.npz", progress=False)
    pipe = root / "pipe"
    pipe.mkdir()
    write_config(pipe, "pipeline", "artstyle run --profile tiny", {})
    done = {"status": "done"}
    write_json(pipe / "pipeline.json", {"version": 1, "stages": {
        "classify": {**done, "run": str(clf)}, "stylize": {**done, "run": str(sty)},
        "embeddings": {**done, "files": {"classifier": str(emb)}}}})
    write_text(pipe / "report.html", "<html><body><h1>Tiny report</h1></body></html>")
    return {"data": data, "clf": clf, "sty": sty, "emb": emb, "pipe": pipe,
            "image": data / "train" / "Baroque" / "0.png"}


@contextlib.contextmanager
def isolated_tiny_runs(root: Path) -> Iterator[dict]:
    """:func:`make_tiny_runs` under ``root`` with the cache and runs folders there; restores torch's thread count."""
    threads = torch.get_num_threads()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ARTSTYLE_CACHE", str(root / "artstyle-cache"))
            mp.setenv("ARTSTYLE_RUNS", str(root / "runs"))
            yield make_tiny_runs(root)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with isolated_tiny_runs(tmp_path_factory.mktemp("api")) as runs:
        runs["studio"] = artstyle.load(runs["pipe"], device="cpu")
        yield runs


def test_predict_matches_the_classify_stage(tiny: dict) -> None:
    from artstyle.classify import predict

    pred = tiny["studio"].predict(tiny["image"], topk=2)
    stage, _ = predict(tiny["clf"], [tiny["image"]], topk=2)
    assert [t["style"] for t in pred["top"]] == [t["style"] for t in stage[0]["top"]]
    assert np.allclose([t["probability"] for t in pred["top"]], [t["probability"] for t in stage[0]["top"]], atol=1e-6)
    assert pred["crops"] == stage[0]["crops"]
    assert abs(sum(pred["probabilities"].values()) - 1) < 1e-5 and set(pred["probabilities"]) == set(CLASSES)
    assert pred["image"].shape == (32, 32, 3) and pred["image"].dtype == np.uint8


def test_a_crop_grid_run_votes_per_region(tiny: dict, tmp_path: Path) -> None:
    from artstyle.api import Classifier, vote_heat
    from artstyle.classify import ClassifyConfig, predict, train_classifier

    run = train_classifier(ClassifyConfig(data=str(tiny["data"]), size=16, cache_size=32, epochs=1,
                                          max_steps_per_epoch=2, batch_size=8, width=8, workers=0, progress=False,
                                          threads=1, out=str(tmp_path / "grid")))
    pred = Classifier(run, "cpu").predict(tiny["image"], topk=2)
    stage, _ = predict(run, [tiny["image"]], topk=2)
    assert len(pred["crops"]) == 9 and pred["crops"] == stage[0]["crops"]
    assert [t["style"] for t in pred["top"]] == [t["style"] for t in stage[0]["top"]]
    heat = vote_heat(pred)
    top = list(pred["probabilities"]).index(pred["top"][0]["style"])
    assert heat.shape == (32, 32) and heat[0, 0] == pytest.approx(pred["per_crop"][0][top])
    assert heat[31, 31] == pytest.approx(pred["per_crop"][8][top])


def test_every_input_kind_gives_the_same_prediction(tiny: dict) -> None:
    from PIL import Image

    studio, path = tiny["studio"], tiny["image"]
    ref = studio.predict(path)["probabilities"]
    arr = np.asarray(Image.open(path).convert("RGB"))
    for given in (str(path), path.read_bytes(), arr, Image.open(path)):
        assert studio.predict(given)["probabilities"] == pytest.approx(ref, abs=1e-6)


def test_cli_predict_goes_through_the_api(tiny: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from artstyle.cli import main

    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    with pytest.raises(SystemExit) as exit_:
        main(["classify", "predict", str(tiny["clf"]), str(tiny["image"]), str(bad), "--json"])
    assert exit_.value.code == 0
    out = json.loads(capsys.readouterr().out)
    api = tiny["studio"].classifier.predict_files([tiny["image"]])[0][0]
    got = out["predictions"][0]
    assert [t["style"] for t in got["top"]] == [t["style"] for t in api["top"]]
    assert [t["probability"] for t in got["top"]] == pytest.approx([t["probability"] for t in api["top"]])
    assert got["crops"] == api["crops"] and got["path"] == str(tiny["image"])
    assert out["skipped"] == [{"path": str(bad), "reason": "not an image Pillow can read"}]


def test_predict_files_in_chunks_keeps_order_and_skips(tiny: dict, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.api.classifier as api_classifier

    clf = tiny["studio"].classifier
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    others = sorted((tiny["data"] / "train" / "Pop_Art").glob("*.png"))[:2]
    files = [tiny["image"], bad, *others]
    whole, whole_skipped = clf.predict_files(files)
    monkeypatch.setattr(api_classifier, "PREDICT_CHUNK", 1)  # every file its own group
    chunked, skipped = clf.predict_files(files)
    assert [p["path"] for p in chunked] == [str(f) for f in (tiny["image"], *others)]
    assert skipped == whole_skipped and [s["path"] for s in skipped] == [str(bad)]
    for a, b in zip(chunked, whole):
        assert [t["probability"] for t in a["top"]] == pytest.approx([t["probability"] for t in b["top"]], abs=1e-6)
    folder = tiny["data"] / "train" / "Pop_Art"  # a folder stands for its images, sorted; its subfolders do not
    (folder / "sub").mkdir(exist_ok=True)
    from_folder, _ = clf.predict_files([folder])
    assert [p["path"] for p in from_folder] == [str(f) for f in sorted(folder.glob("*.png"))]


def test_the_vote_overlay_follows_the_crops_that_voted() -> None:
    from artstyle.figures.overlay import vote_heat, vote_overlay

    # a 2 x 2 grid of 6 px crops over an 8 px image; only the top-left crop is sure of the top style ("a")
    boxes = [[0, 0, 6, 6], [0, 2, 6, 6], [2, 0, 6, 6], [2, 2, 6, 6]]
    per_crop = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    pred = {"image": np.zeros((8, 8, 3), np.uint8), "boxes": boxes, "per_crop": per_crop,
            "probabilities": {"a": 0.25, "b": 0.75}, "top": [{"style": "b", "probability": 0.75}]}
    heat = vote_heat(pred)
    assert heat[7, 7] == 1.0 and heat[0, 0] == 0.0 and heat[3, 3] == 0.75  # centre: covered by all four crops
    pred["top"] = [{"style": "a", "probability": 0.25}]
    assert vote_heat(pred)[0, 0] == 1.0 and vote_heat(pred)[7, 7] == 0.0
    overlay = vote_overlay(pred)
    assert overlay.shape == (8, 8, 3) and overlay[0, 0].sum() > overlay[7, 7].sum()


def test_a_non_image_is_one_clear_error(tiny: dict) -> None:
    with pytest.raises(ArtstyleError, match="not an image artstyle can use: not an image Pillow can read"):
        tiny["studio"].predict(b"hello, I am text")
    with pytest.raises(ArtstyleError, match="cannot read"):
        tiny["studio"].predict(Path("no/such/file.png"))


def test_render_at_full_strength_is_the_stage_output(tiny: dict) -> None:
    from artstyle.stylize import stylize_arrays

    studio = tiny["studio"]
    out = studio.render(tiny["image"], ["Pop_Art", "ukiyo-e"], strength=1.0)
    assert out["styles"] == ["Pop_Art", "Ukiyo_e"] and out["renders"].shape == (2, 32, 32, 3)
    model = studio.stylizer.model
    expected = stylize_arrays(model, np.repeat(out["image"][None], 2, axis=0), np.array([1, 2]))
    assert np.array_equal(out["renders"], expected)
    half = studio.render(tiny["image"], ["Pop_Art"], strength=0.5)["renders"][0]
    own = studio.render(tiny["image"], ["Pop_Art"], strength=0.0)["renders"][0]
    assert not np.array_equal(half, out["renders"][0]) and not np.array_equal(own, half)
    assert studio.stylizer.grid(out).shape[1] > 3 * 32
    with pytest.raises(ArtstyleError, match="unknown style"):
        studio.render(tiny["image"], ["Cubism"])


def test_cli_render_matches_the_api_at_full_strength(tiny: dict, tmp_path: Path) -> None:
    from PIL import Image

    from artstyle.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["stylize", "render", str(tiny["sty"]), "--images", str(tiny["image"]), "--styles", "Pop_Art",
              "--out", str(tmp_path / "out")])
    assert exit_.value.code == 0
    written = np.asarray(Image.open(tmp_path / "out" / "0__Pop_Art.png").convert("RGB"))
    assert np.array_equal(written, tiny["studio"].render(tiny["image"], ["Pop_Art"])["renders"][0])


def test_embed_and_neighbours_find_the_image_itself(tiny: dict) -> None:
    studio = tiny["studio"]
    vec = studio.embed(tiny["image"])
    assert vec.ndim == 1 and vec.shape[0] == studio.gallery.vectors.shape[1]
    near = studio.neighbours(tiny["image"], k=8)
    assert len(near) == 8 and all(n["style"] in CLASSES for n in near)
    assert near[0]["path"].endswith("Baroque/0.png") and near[0]["similarity"] > 0.999
    assert [n["similarity"] for n in near] == sorted((n["similarity"] for n in near), reverse=True)
    assert near[0]["thumb"].shape == (32, 32, 3)


def test_neighbours_without_an_embeddings_file_use_the_training_cache(tiny: dict) -> None:
    studio = artstyle.load(tiny["clf"], device="cpu")
    assert studio.missing().keys() == {"stylize", "embeddings", "lora", "report"}
    assert "artstyle stylize train" in studio.missing()["stylize"]
    near = studio.neighbours(tiny["image"], k=3)
    assert near[0]["path"].endswith("Baroque/0.png") and near[0]["similarity"] > 0.999
    with pytest.raises(ArtstyleError, match="artstyle stylize train"):
        studio.render(tiny["image"])


def test_style_map_has_a_styled_point_per_image(tiny: dict) -> None:
    points = tiny["studio"].style_map(method="pca")
    n = len(np.load(tiny["emb"])["labels"])
    assert points["method"] == "pca" and len(points["x"]) == len(points["style"]) == len(points["path"]) == n
    assert set(points["style"]) == set(CLASSES) and points["thumbs"].shape[0] == n
    assert tiny["studio"].style_map(method="pca") is points  # computed once


def test_load_defaults_to_the_newest_pipeline(tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    monkeypatch.setenv("ARTSTYLE_RUNS", str(tmp_path / "runs"))
    with pytest.raises(ArtstyleError, match="artstyle run"):
        artstyle.load()
    for name in ("20260101-000000-tiny", "20260202-000000-tiny"):
        shutil.copytree(tiny["pipe"], tmp_path / "runs" / "pipeline" / name)
    assert artstyle.load().found.pipeline.name == "20260202-000000-tiny"


def test_import_artstyle_stays_light() -> None:
    code = "import sys, artstyle, artstyle.api; artstyle.load; " \
           "assert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'gradio')], 'heavy import'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("trained", ["v_prediction", ""])
def test_the_painter_samples_with_the_runs_prediction_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           trained: str) -> None:
    """A LoRA trained with --prediction-type v_prediction must be sampled as one, as `lora generate` does."""
    from types import SimpleNamespace

    diffusers = pytest.importorskip("diffusers")
    import artstyle.lora as lora
    from artstyle.api import Painter
    from artstyle.runs import write_config, write_json

    run = tmp_path / "lora"
    run.mkdir()
    write_config(run, "lora", "artstyle lora train", {"config": {"resolution": 16, "prediction_type": trained}})
    write_json(run / "classes.json", {"classes": ["Baroque"]})
    (run / lora.WEIGHTS_NAME).write_bytes(b"")
    pipe = SimpleNamespace(scheduler=diffusers.DDPMScheduler(prediction_type="epsilon"), to=lambda device: None,
                           set_progress_bar_config=lambda **kwargs: None)
    monkeypatch.setattr(lora, "load_pipeline", lambda *args, **kwargs: pipe)
    monkeypatch.setattr(lora, "load_lora_for_inference", lambda *args, **kwargs: None)
    scheduler = Painter(run, "cpu").pipeline().scheduler
    assert type(scheduler).__name__ == "DPMSolverMultistepScheduler"
    assert scheduler.config.prediction_type == (trained or "epsilon")
