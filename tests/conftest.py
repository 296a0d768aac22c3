"""Shared fixtures: tiny image folders generated in tmp_path, and an isolated artstyle cache/runs root."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from PIL import Image


def write_image(path: Path, rgb: tuple[int, int, int] | np.ndarray, size: tuple[int, int] = (40, 30),
                fmt: str | None = None) -> Path:
    """Write a small image: a solid colour, or the given uint8 array."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(rgb, np.ndarray):
        im = Image.fromarray(rgb)
    else:
        im = Image.new("RGB", size, rgb)
    im.save(path, format=fmt)
    return path


def make_folder(root: Path, classes: dict[str, int], splits: tuple[str, ...] = ("train", "test"),
                size: int = 24, seed: int = 0) -> Path:
    """``root/<split>/<class>/<i>.png``: each class a distinct noisy colour, so models can learn it."""
    rng = np.random.default_rng(seed)
    for ci, (cls, n) in enumerate(sorted(classes.items())):
        base = np.array([(ci * 97) % 256, (ci * 53 + 80) % 256, (ci * 31 + 160) % 256])
        for split in splits:
            count = n if split == "train" else max(2, n // 3)
            for i in range(count):
                noise = rng.integers(-30, 30, size=(size, size, 3))
                arr = np.clip(base + noise, 0, 255).astype(np.uint8)
                write_image(root / split / cls / f"{i}.png", arr)
    return root


@contextmanager
def interrupted_at_epoch(epoch: int) -> Iterator[None]:
    """Run the body with training interrupted (KeyboardInterrupt, as on Ctrl-C) when the engine starts ``epoch``.

    The interruption is expected: the block fails if training gets through without it.
    """
    import artstyle.engine as engine

    real = engine.train_one_epoch

    def crash(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if args[6] == epoch:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    engine.train_one_epoch = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        engine.train_one_epoch = real


def stylize_assets(root: Path, classes: dict[str, int], tiny: dict) -> dict:
    """A tiny image folder of ``classes``, its 32 px cache and a loss classifier trained on it (one short epoch):
    what the stylize tests build once per module. ``base`` is the classifier's settings, for a judge beside it."""
    from artstyle.classify import ClassifyConfig, train_classifier
    from artstyle.data.cache import prepare_cache

    data = make_folder(root / "paintings", classes, size=24)
    cache = prepare_cache(str(data), size=32, out=root / "cache", progress=False, workers=1)
    base = dict(data=str(data), cache=str(cache.root), epochs=1, max_steps_per_epoch=3, **tiny)
    clf = train_classifier(ClassifyConfig(out=str(root / "clf"), **base))
    return {"data": data, "cache": cache, "clf": clf, "root": root, "base": base}


def stylizer_round_trip(tmp_path: Path, classes: dict[str, int], tiny: dict, **option) -> tuple[Path, dict, Any]:
    """Train a tiny stylizer with ``option`` (StylizeConfig fields) for two steps, check that config.json records
    the option and that the reloaded network re-renders two test images at their shape; return ``(run,
    config.json, model)`` for the option's own checks."""
    import numpy as np

    from artstyle.runs import read_json
    from artstyle.stylize import StylizeConfig, load_stylizer, train_stylizer
    from artstyle.stylize.load import stylize_arrays

    assets = stylize_assets(tmp_path / "assets", classes, tiny)
    run = train_stylizer(StylizeConfig(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=1,
                                       max_steps_per_epoch=2, classifier=str(assets["clf"]),
                                       out=str(tmp_path / "run"), **option, **tiny))
    cfg = read_json(run / "config.json")
    assert all(cfg["config"][key] == value for key, value in option.items())
    model, _ = load_stylizer(run)
    x = assets["cache"].images[assets["cache"].indices("test")[:2]]
    assert stylize_arrays(model, x, np.array([1, 0])).shape == x.shape
    return run, cfg, model


def tiny_stylize_task(cfg: Any, k: int, disc: Any = None) -> Any:
    """A ``StylizeTask`` of ``k`` styles on 16 px images against a tiny frozen resnet (the same weights every call)
    and identity Gram targets, with the discriminator ``disc`` (used only when ``cfg.w_adv`` > 0)."""
    import torch

    from artstyle.models.classifier import build_classifier
    from artstyle.stylize import StylizeTask

    torch.manual_seed(2)  # the same frozen classifier for every task built here
    clf = build_classifier("resnet", k, 16, width=4)
    grams = [torch.eye(c)[None].repeat(k, 1, 1) for c in (4, 4, 8, 16, 32)]
    return StylizeTask(cfg, clf, 16, np.arange(k), np.arange(k), grams, discriminator=disc)


def resume_one_more_epoch(run: Path) -> None:
    """Extend a finished stylize run by one epoch through ``--resume`` (its config.json's epochs plus one)."""
    import json

    from artstyle.stylize import StylizeConfig, train_stylizer

    cfg = json.loads((run / "config.json").read_text())
    cfg["config"]["epochs"] += 1
    (run / "config.json").write_text(json.dumps(cfg))
    train_stylizer(StylizeConfig(resume=str(run), progress=False))


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a module: tiny convolutions gain nothing from more, and on a shared CPU two threads
    that wait for each other at every barrier can be many times slower. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Give every test its own cache, runs root and working directory, and undo what the CLI leaves behind.

    Tests then run in any order and side by side (``pytest -n 2``): nothing is shared through ``runs/``, the
    user cache, the current directory, or the process state ``artstyle.cli.main`` sets (``--debug`` and
    ``--threads`` go into ``os.environ``; the typed argv into ``runs.INVOCATION``).
    """
    import artstyle.runs as runs

    monkeypatch.setenv("ARTSTYLE_CACHE", str(tmp_path / "artstyle-cache"))
    monkeypatch.setenv("ARTSTYLE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    for name in ("ARTSTYLE_DEBUG", "ARTSTYLE_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runs, "INVOCATION", None)
    saved = dict(os.environ)
    yield
    os.environ.clear()  # a variable set by os.environ[...] = ..., which monkeypatch cannot see, must not leak
    os.environ.update(saved)


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    """Three classes, train/test split, 24 px PNGs."""
    return make_folder(tmp_path / "paintings", {"Baroque": 12, "Pop_Art": 8, "Ukiyo_e": 6})
