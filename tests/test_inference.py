"""Inference on the accelerator's device, under the run's precision, streaming from the cache in chunks.

No GPU here: the device picker is stubbed to return the ``meta`` device, and stub models record where their
inputs are (and answer with CPU tensors, which a meta device cannot produce).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import artstyle.inference as inference
from artstyle.classify import evaluate_on_cache, predict_arrays
from artstyle.classify.crops import predict_crops
from artstyle.data.cache import prepare_cache
from artstyle.data.dataset import CachedImages
from artstyle.errors import ArtstyleError
from artstyle.inference import Placement, chunks, inference_precision, on_device, read_rows, run_precision
from artstyle.models.classifier import build_classifier
from artstyle.models.stylizer import Stylizer
from artstyle.stylize import classifier_outputs, mean_codes, style_grams, stylize_arrays
from conftest import make_folder

META = torch.device("meta")


class Recorder(torch.nn.Module):
    """A stand-in for every model kind: records the device of each input, answers with CPU zeros."""

    num_styles, code_dim, classes, dim = 3, 4, 3, 5

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(2))
        self.seen: list[torch.device] = []

    def _see(self, *tensors: torch.Tensor) -> int:
        self.seen += [t.device for t in tensors]
        return len(tensors[0])

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        n = self._see(x) if t is None else self._see(x, t)
        return torch.zeros(n, 3, *x.shape[2:]) if t is not None else torch.zeros(n, self.classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(self._see(x), self.dim)

    def head(self, f: torch.Tensor) -> torch.Tensor:  # takes forward_features' (CPU) output: not an input
        return torch.zeros(len(f), self.classes)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [torch.ones(self._see(x), 2, 3, 3)]

    def encode(self, x: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, torch.zeros(self._see(x), self.code_dim)


class AutoencoderRecorder(Recorder):
    def encode(self, x: torch.Tensor) -> torch.Tensor:  # the autoencoder's encode: the latent only
        return torch.zeros(self._see(x), self.code_dim)


@pytest.fixture
def cache(tmp_path: Path) -> Any:
    data = make_folder(tmp_path / "paintings", {"Baroque": 6, "Pop_Art": 4, "Ukiyo_e": 3}, size=16)
    return prepare_cache(str(data), size=16, out=tmp_path / "cache", progress=False, workers=1)


@pytest.fixture
def on_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    """The accelerator 'picks' the meta device."""
    monkeypatch.setattr(inference, "inference_device", lambda: META)


def _moved(model: Recorder) -> None:
    assert model.weight.device == META, "the model was not moved to the accelerator's device"
    assert model.seen and set(model.seen) == {META}, f"batches went to {set(model.seen)}, not to the device"


def test_classify_paths_move_model_and_batches_to_the_device(cache: Any, on_meta: None) -> None:
    images = np.asarray(cache.images)
    for run in (lambda m: predict_arrays(m, images, batch_size=4),
                lambda m: predict_crops(m, images, 8, 2, batch_size=8),
                lambda m: evaluate_on_cache(m, cache.classes, cache, "test", cache.counts("train"), chunk=3)):
        model = Recorder()
        run(model)
        _moved(model)


def test_stylize_paths_and_statistics_move_model_and_batches_to_the_device(cache: Any, on_meta: None) -> None:
    rows = cache.indices("train")
    model = Recorder()
    out = stylize_arrays(model, np.asarray(cache.images[:5]), np.arange(5) % 3, batch_size=2)
    assert out.shape == (5, 16, 16, 3) and out.dtype == np.uint8
    _moved(model)
    judge = Recorder()
    logits, feats = classifier_outputs(judge, np.asarray(cache.images[:5]), 8)
    assert logits.shape == (5, 3) and feats.shape == (5, 5)
    _moved(judge)
    clf = Recorder()
    grams = style_grams(clf, 16, cache.images, cache.labels, 3, batch_size=4, rows=rows)
    assert [g.shape for g in grams] == [(3, 2, 2)]
    _moved(clf)
    enc = Recorder()
    means, seen = mean_codes(enc, CachedImages(cache, "train"), batch_size=4)
    assert means.shape == (3, 4) and seen.all()
    _moved(enc)


def test_embedders_move_their_model_to_the_device(cache: Any, on_meta: None, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.classify
    import artstyle.embed.embedders as embedders
    from artstyle.runs import write_json

    run = tmp_path / "run"
    write_json(run / "config.json", {"model": {"arch": "simple-cnn"}, "config": {"precision": "bf16"}})
    models = {"ae": AutoencoderRecorder(), "classifier": Recorder()}
    info = {"size": 16, "precision": "bf16", "config": {"config": {"precision": "bf16"}}}
    monkeypatch.setattr(embedders, "load_autoencoder", lambda r: (models["ae"], info))
    monkeypatch.setattr(artstyle.classify, "load_classifier", lambda r, **_: (models["classifier"], info),
                        raising=False)
    for kind, model in models.items():
        vectors = embedders.EMBEDDERS[kind](run, None).fn(np.asarray(cache.images[:3]))
        assert len(vectors) == 3
        _moved(model)


def test_the_device_is_the_one_accelerate_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    import accelerate

    asked = []

    class State:  # accelerate's process state, as engine.make_accelerator configures it
        def __init__(self, cpu: bool = False) -> None:
            asked.append(cpu)
            self.device = META

    monkeypatch.setattr(accelerate, "PartialState", State)
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    assert inference.inference_device() == META and asked == [not torch.cuda.is_available()]
    monkeypatch.setenv("ACCELERATE_USE_CPU", "1")  # accelerate's own switch to the CPU
    inference.inference_device()
    assert asked[-1] is True
    model = torch.nn.Linear(2, 2)
    place = on_device(model)
    assert place.device == META and model.weight.device == META and place.precision == "fp32"
    assert on_device(torch.nn.Linear(2, 2), device="cpu").device == torch.device("cpu")  # an explicit device wins


def test_precision_is_the_runs_on_a_gpu_and_fp32_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_precision({"config": {"precision": "bf16"}}) == "bf16" and run_precision({}) == "auto"
    for precision in ("auto", "bf16", "fp16", "fp32", None):
        assert inference_precision(precision, "cpu") == "fp32"  # CPU numbers never change
    assert inference_precision("fp16", "cuda") == "fp16" and inference_precision("fp32", "cuda:1") == "fp32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert inference_precision("auto", "cuda") == "fp16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert inference_precision(None, "cuda") == "bf16"
    with pytest.raises(ArtstyleError, match="precision 'fp8'"):
        inference_precision("fp8", "cuda")
    with Placement(torch.device("cpu"), "bf16").autocast():  # the context really autocasts
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with Placement(torch.device("cpu"), "fp32").autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_loaders_and_paths_pass_the_runs_precision(cache: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from artstyle.classify import load_classifier, predict
    from artstyle.runs import save_safetensors, write_json

    run = tmp_path / "run"  # a classify run trained with --precision bf16, as far as inference can tell
    args = {"arch": "simple-cnn", "num_classes": 3, "img_size": 16, "width": 4}
    write_json(run / "config.json", {"model": args, "input": {"size": 16}, "config": {"precision": "bf16"}})
    write_json(run / "classes.json", {"classes": cache.classes})
    save_safetensors(run / "best.safetensors", build_classifier("simple-cnn", 3, 16, width=4).state_dict())
    assert load_classifier(run)[1]["precision"] == "bf16"
    asked = []
    real = inference.inference_precision
    monkeypatch.setattr(inference, "inference_precision", lambda p, d: asked.append(p) or real(p, d))
    preds, _ = predict(run, [str(next((tmp_path / "paintings").rglob("*.png")))])
    assert len(preds) == 1 and asked and set(asked) == {"bf16"}  # and fp32 in fact: this is the CPU


def test_reading_streams_chunks_and_equals_plain_indexing(cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    images = cache.images
    assert isinstance(images, np.memmap)
    n = len(images)
    for rows in (np.arange(n), np.array([0, 2, 2, 5, n - 1]), np.array([n - 1, 0]), np.array([], np.int64)):
        got = read_rows(images, rows)
        assert got.shape == (len(rows), 16, 16, 3) and np.array_equal(got, np.asarray(images)[rows])
        assert not isinstance(got, np.memmap)  # a copy in memory: no mapping survives the read
    seen = [(where, batch.copy()) for where, batch in chunks(images, np.arange(1, n, 2), 3)]
    assert [w.start for w, _ in seen] == list(range(0, len(range(1, n, 2)), 3))
    assert np.array_equal(np.concatenate([b for _, b in seen]), np.asarray(images)[1::2])
    sizes = []
    real = inference.read_rows
    monkeypatch.setattr(inference, "read_rows", lambda im, r: sizes.append(len(r)) or real(im, r))
    model = build_classifier("simple-cnn", 3, 16, width=4).eval()
    evaluate_on_cache(model, cache.classes, cache, "test", cache.counts("train"), chunk=2)
    assert sizes and max(sizes) == 2 and sum(sizes) == len(cache.indices("test"))  # never the whole split


def test_streamed_statistics_equal_the_in_memory_ones(cache: Any) -> None:
    torch.manual_seed(0)
    clf = build_classifier("resnet", 3, 16, width=4).eval()
    rows = cache.indices("train")
    streamed = style_grams(clf, 16, cache.images, cache.labels, 3, batch_size=4, rows=rows)
    whole = style_grams(clf, 16, np.asarray(cache.images)[rows], cache.labels[rows], 3, batch_size=4)
    assert all(torch.equal(a, b) for a, b in zip(streamed, whole))
    model = Stylizer(num_styles=3, style_source="mean-latent", width=4, blocks=1)
    fast = mean_codes(model, CachedImages(cache, "train"), batch_size=4)
    loader = mean_codes(model, CachedImages(cache, "train", transform=lambda x: x), batch_size=4)  # DataLoader path
    assert torch.equal(fast[0], loader[0]) and torch.equal(fast[1], loader[1])
