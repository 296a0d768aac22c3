"""`artstyle run` end to end (tiny profile), resuming, LoRA through the pipeline, and `artstyle report`.

The tiny pipeline runs once per module (about a minute on 2 CPU cores); the tests read what it wrote, and a
snapshot taken right after it, so they do not depend on the order they run in.
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from typer.testing import CliRunner

from artstyle.cli import build_app
from artstyle.errors import ArtstyleError
from artstyle.metrics import cluster_answer
from artstyle.pipeline import STAGE_KEYS, PipelineConfig, resolve_settings, run_pipeline
from artstyle.report import SECTION_TITLES, run_kind, write_report

EXPECTED_FIGURES = ("class_counts.png", "samples.png", "confusion.png", "learning_curves.png", "pca_vs_ae.png",
                    "map_pca.png", "evaluation_grid.png")


def _invoke(args: list[str]) -> tuple[object, float]:
    t0 = time.perf_counter()
    result = CliRunner().invoke(build_app(), args)
    return result, time.perf_counter() - t0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run `artstyle run --profile tiny` once; return its directory, output, time and snapshots of its files."""
    root = tmp_path_factory.mktemp("pipeline")
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARTSTYLE_CACHE", str(root / "cache"))
        mp.setenv("ARTSTYLE_RUNS", str(root / "runs"))
        # Tiny tensors gain nothing from 2 threads, and on a shared CPU spinning OpenMP threads are far slower.
        mp.setenv("ARTSTYLE_THREADS", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        result, seconds = _invoke(["run", "--profile", "tiny", "--out", str(root / "pipe"), "--no-progress"])
    torch.set_num_threads(threads)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    pipe = root / "pipe"
    return {"root": root, "pipe": pipe, "output": result.output, "seconds": seconds,
            "state": json.loads((pipe / "pipeline.json").read_text()),
            "md": (pipe / "report.md").read_text(), "html": (pipe / "report.html").read_text()}


@pytest.fixture
def pipeline_env(tiny: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The tiny pipeline's cache and runs roots, for tests that run it again."""
    monkeypatch.setenv("ARTSTYLE_CACHE", str(tiny["root"] / "cache"))
    monkeypatch.setenv("ARTSTYLE_RUNS", str(tiny["root"] / "runs"))
    monkeypatch.setenv("ARTSTYLE_THREADS", "1")
    threads = torch.get_num_threads()
    yield tiny
    torch.set_num_threads(threads)  # the stages set it process-wide from ARTSTYLE_THREADS


# ---------------------------------------------------------------- artstyle run


def test_tiny_pipeline_runs_every_stage(tiny: dict) -> None:
    stages = tiny["state"]["stages"]
    assert list(stages) == list(STAGE_KEYS)
    for key in STAGE_KEYS:
        expected = "skipped" if key == "lora" else "done"
        assert stages[key]["status"] == expected, (key, stages[key])
        if expected == "done":
            assert Path(stages[key]["run"]).exists(), key
            assert stages[key]["seconds"] > 0, key
            assert stages[key]["command"].startswith("artstyle"), key
    assert stages["lora"]["reason"] == "no --pretrained model given"
    assert tiny["state"]["synthetic"] is True and tiny["state"]["profile"] == "tiny"
    # Every stage's run directory sits inside the pipeline directory (the cache is shared, outside it).
    for key in STAGE_KEYS:
        if key not in ("data", "lora"):
            assert Path(stages[key]["run"]).is_relative_to(tiny["pipe"]), key
    for rel in ("stages/classify/metrics.json", "stages/judge/metrics.json", "stages/embed/metrics.json",
                "stages/cluster/ae/metrics.json", "stages/cluster/compare/comparison.json",
                "stages/stylize/evaluation.md", "stages/embeddings/color-hist.npz", "config.json"):
        assert (tiny["pipe"] / rel).is_file(), rel
    assert set(stages["embeddings"]["files"]) == {"ae", "classifier", "pixels", "color-hist"}
    # The stylizer was trained against the first classifier and judged by the second.
    stylize_cfg = json.loads((tiny["pipe"] / "stages/stylize/config.json").read_text())
    assert Path(stylize_cfg["classifier"]["run"]) == Path(stages["classify"]["run"])
    assert Path(stylize_cfg["judge"]["run"]) == Path(stages["judge"]["run"])
    # init_from = "embed": its first encoder stages came from this pipeline's autoencoder (Part 3 builds on Part 2)
    assert Path(stylize_cfg["init_from"]["run"]) == Path(stages["embed"]["run"])
    assert "encoder.0.0.weight" in stylize_cfg["init_from"]["loaded"]
    judge_cfg = json.loads((tiny["pipe"] / "stages/judge/config.json").read_text())["config"]
    classify_cfg = json.loads((tiny["pipe"] / "stages/classify/config.json").read_text())["config"]
    assert judge_cfg["seed"] != classify_cfg["seed"]


def test_tiny_pipeline_prints_stage_headers_and_total_time(tiny: dict) -> None:
    n = len(STAGE_KEYS)
    for i in range(1, n + 1):
        assert f"[{i}/{n}]" in tiny["output"]
    assert f"[3/{n}] classifier" in tiny["output"]
    assert "total time:" in tiny["output"] and "SYNTHETIC" in tiny["output"]


def test_resume_skips_done_stages_and_reruns_a_removed_one(pipeline_env: dict) -> None:
    pipe = pipeline_env["pipe"]
    before = json.loads((pipe / "pipeline.json").read_text())["stages"]
    mtime = (pipe / "stages/classify/metrics.json").stat().st_mtime_ns
    result, seconds = _invoke(["run", "--profile", "tiny", "--out", str(pipe), "--no-progress"])
    assert result.exit_code == 0, result.output
    after = json.loads((pipe / "pipeline.json").read_text())["stages"]
    applicable = [k for k in STAGE_KEYS if after[k]["status"] == "done"]
    assert result.output.count("already done in an earlier invocation") == len(applicable)
    assert all(after[k].get("started") == before[k].get("started") for k in applicable)
    assert (pipe / "stages/classify/metrics.json").stat().st_mtime_ns == mtime

    # Remove one stage's output: only it and the report run again (`--out` alone resumes with the saved profile).
    import shutil

    shutil.rmtree(pipe / "stages/stylize")
    result, _ = _invoke(["run", "--out", str(pipe), "--no-progress"])
    assert result.exit_code == 0, result.output
    again = json.loads((pipe / "pipeline.json").read_text())["stages"]
    assert again["stylize"]["status"] == "done" and again["stylize"]["started"] != before["stylize"]["started"]
    assert again["report"]["started"] != after["report"]["started"]
    for key in ("data", "stats", "classify", "judge", "strategies", "embed", "embeddings", "cluster"):
        assert again[key]["started"] == before[key]["started"], key
    assert (pipe / "stages/stylize/metrics.json").is_file()
    assert (pipe / "stages/classify/metrics.json").stat().st_mtime_ns == mtime


def test_the_stylizer_needs_the_autoencoder_only_when_it_starts_from_it(tmp_path: Path) -> None:
    """``[stylize] init_from = "embed"`` (demo, tiny) makes the stylize stage wait for embed; the full profile's
    stylizer, which starts fresh, does not, so a failed autoencoder does not cost it its stylizer."""
    from artstyle.pipeline.stages import stage_needs

    for profile, needs_embed in (("demo", True), ("tiny", True), ("full", False)):
        settings = resolve_settings(PipelineConfig(profile=profile, out=str(tmp_path / profile)))
        needs = stage_needs(SimpleNamespace(settings=settings), "stylize")
        assert ("embed" in needs) is needs_embed and {"classify", "judge"} <= set(needs), profile


def test_failed_stage_skips_its_dependents_and_still_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.data.cache

    def broken(*args: object, **kwargs: object) -> None:
        raise ArtstyleError("the disk is on fire")

    monkeypatch.setattr(artstyle.data.cache, "prepare_cache", broken)
    with pytest.raises(ArtstyleError, match=r"1 stage\(s\) failed: data \(the disk is on fire\).*--out"):
        run_pipeline(PipelineConfig(profile="tiny", out=str(tmp_path / "p"), progress=False))
    stages = json.loads((tmp_path / "p" / "pipeline.json").read_text())["stages"]
    assert stages["data"]["status"] == "failed" and "fire" in stages["data"]["error"]
    assert stages["classify"]["status"] == "skipped" and "needs data" in stages["classify"]["reason"]
    assert stages["stylize"]["status"] == "skipped" and "classify" in stages["stylize"]["reason"]
    assert stages["report"]["status"] == "done"
    md = (tmp_path / "p" / "report.md").read_text()
    assert "**Incomplete pipeline:** `data` failed (the disk is on fire)" in md
    assert "## The classifier\n\nNot run" in md


def test_out_must_be_a_pipeline_or_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ArtstyleError, match="not an artstyle pipeline directory"):
        run_pipeline(PipelineConfig(profile="tiny", out=str(tmp_path / "busy"), progress=False))
    result, _ = _invoke(["run", "--profile", "huge"])
    assert result.exit_code != 0 and "huge" in str(result.exception)


# ---------------------------------------------------------------- settings


def test_profiles_and_toml_overrides(tmp_path: Path) -> None:
    demo = resolve_settings(PipelineConfig())
    assert demo["data"]["data"].startswith("builtin:") and demo["classify"]["size"] == 64
    assert demo["classify"]["time_budget"] > 0 and demo["strategies"]["strategies"]
    toml = tmp_path / "p.toml"
    toml.write_text('[data]\nsize = 48\n[classify]\nepochs = 7\n[stylize]\nsize = 32\n'
                    '[strategies]\nstrategies = ["none"]\ntime_budget = 5.0\n[cluster]\nmethods = ["kmeans"]\n')
    s = resolve_settings(PipelineConfig(profile="tiny", config=str(toml), data="/data/wikiart"))
    assert s["classify"]["epochs"] == 7 and s["classify"]["size"] == 48 and s["embed"]["size"] == 48
    assert s["stylize"]["size"] == 32
    assert all(s[k]["data"] == "/data/wikiart" for k in ("classify", "judge", "embed", "stylize", "lora"))
    assert s["strategies"]["strategies"] == ["none"] and s["strategies"]["time_budget"] == 5.0
    assert s["strategies"]["epochs"] == 7  # the comparison inherits [classify]
    assert s["cluster"]["methods"] == ["kmeans"]
    for text, match in (("[classfy]\nepochs = 1\n", "unknown section"), ("[classify]\nepoch = 1\n", "epoch"),
                        ("[embed]\ndata = 'x'\n", "may not set data"), ("[cluster]\nmethods = [\n", "not valid TOML")):
        toml.write_text(text)
        with pytest.raises(ArtstyleError, match=match):
            resolve_settings(PipelineConfig(profile="tiny", config=str(toml)))


# ---------------------------------------------------------------- the report


def test_report_has_every_section(tiny: dict) -> None:
    md = tiny["md"]
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == list(SECTION_TITLES)
    assert md.index("> **SYNTHETIC DATA") < md.index("## The dataset")  # the banner comes first
    for text in ("| Impressionism |", "majority class (Impressionism)", "### Head, medium and tail styles",
                 "### Imbalance strategies compared", "### The second classifier (the stylizer's judge)",
                 "PCA (32 components)", "refined latents (2 steps)", "Do styles cluster? ", "chance (random labelling)",
                 "judge hit rate on the target style", "no --pretrained model given",
                 "run --profile tiny", "artstyle stylize train", "| torch |"):
        assert text in md, text
    assert re.search(r"Recorded when the pipeline started: Python [\d.]+ on .+, device (cpu|cuda|mps)", md)
    # Stage sections that ran do not say "Not run".
    for title in ("The dataset", "The classifier", "The autoencoder", "Clustering", "Stylization"):
        section = md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
        assert not section.lstrip().startswith("Not run"), title
    for name in EXPECTED_FIGURES:
        assert re.search(rf"!\[[^\]]*\]\(stages/[^)]*{re.escape(name)}\)", md), name


def test_html_report_embeds_its_figures(tiny: dict) -> None:
    page = tiny["html"]
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= len(EXPECTED_FIGURES) and len(images) == tiny["md"].count("![")
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert '<img src="figures/' not in page and 'src="stages/' not in page
    assert base64.b64decode(images[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for title in SECTION_TITLES:
        assert f">{title}</h2>" in page, title
    assert 'class="banner"' in page and "<table>" in page and "<style>" in page


def test_report_from_individual_stage_runs(tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The report reads files only: training, embedding, clustering or decoding data here would be a bug. The
    # stage modules bind `fit` at import, so each module's own name is replaced, not only the engine's.
    import importlib

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report must read saved results, not compute them")

    for module, names in (("artstyle.engine", ["fit"]), ("artstyle.classify.train", ["fit", "train_classifier"]),
                          ("artstyle.classify.compare", ["compare_strategies"]),
                          ("artstyle.classify.evaluate", ["evaluate_classifier"]),
                          ("artstyle.embed.train", ["fit", "train_autoencoder"]),
                          ("artstyle.embed.export", ["export_embeddings"]),
                          ("artstyle.stylize.train", ["fit", "train_stylizer"]),
                          ("artstyle.stylize.evaluate", ["evaluate_stylizer"]),
                          ("artstyle.cluster", ["cluster_embeddings", "compare_embeddings"]),
                          ("artstyle.lora", ["train_lora", "generate"]), ("artstyle.data.cache", ["prepare_cache"])):
        for name in names:
            monkeypatch.setattr(importlib.import_module(module), name, no_training)
    s = tiny["pipe"] / "stages"
    runs = [s / "stylize", s / "cluster" / "compare", s / "judge", s / "embed", s / "stats", s / "classify",
            next((s / "strategies" / "classify").iterdir()), s / "cluster" / "ae"]
    assert [run_kind(r) for r in runs] == ["stylize", "cluster-compare", "classify", "embed", "stats", "classify",
                                           "strategies", "cluster"]
    result, _ = _invoke(["report", *map(str, runs), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    md = (tmp_path / "r" / "report.md").read_text()
    assert re.findall(r"^## (.+)$", md, flags=re.M) == list(SECTION_TITLES)
    # The judge is recognised from the stylizer's config even though it was given before the classifier.
    assert "### The second classifier (the stylizer's judge)" in md and "A `resnet`" in md
    assert "Do styles cluster? " in md and "### Representations compared" in md
    assert "artstyle classify train --data builtin:0.02 --size 32" in md and "artstyle cluster fit" in md
    assert md.count("Not run") == 1 and "## LoRA\n\nNot run" in md
    assert (tmp_path / "r" / "report.html").read_text().count("data:image/png;base64,") == md.count("![")

    # One stage alone: the other sections say briefly that they were not run.
    out = write_report([s / "embed"], tmp_path / "one")
    one = (out / "report.md").read_text()
    assert re.findall(r"^## (.+)$", one, flags=re.M) == list(SECTION_TITLES)
    assert "## The dataset\n\nNot run" in one and "## The autoencoder\n\nA convolutional autoencoder" in one


def test_report_of_a_copied_pipeline_uses_the_copy(tiny: dict, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny["pipe"], copy)
    md = (write_report([copy]) / "report.md").read_text()
    assert md.count("Not run") == 1  # LoRA only
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links and all(link.startswith("stages/") and (copy / link).is_file() for link in links)


def test_report_rejects_what_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtstyleError, match="not an artstyle run directory"):
        write_report([tmp_path / "empty"])
    with pytest.raises(ArtstyleError, match="does not exist"):
        write_report([tmp_path / "missing"])


def _scores(ari: float, nmi: float) -> dict:
    return {"ari": ari, "nmi": nmi, "purity": 0.5, "n_clusters": 5}


def test_cluster_answer_follows_the_numbers() -> None:
    chance = [{"label": "chance (random labelling)", "rows": ["ae", "pixels", "classifier"],
               "scores": _scores(0.001, 0.2)}]
    rows = [{"label": "ae", "kind": "ae", "methods": {"kmeans": _scores(0.41, 0.6), "gmm": _scores(0.38, 0.55)}},
            {"label": "pixels", "kind": "pixels", "methods": {"kmeans": _scores(0.12, 0.3)}},
            {"label": "classifier", "kind": "classifier", "methods": {"kmeans": _scores(0.9, 0.95)}}]
    text = cluster_answer({"rows": rows, "chance": chance, "synthetic": True})
    assert text.startswith("Do styles cluster? Yes, clearly: the best unsupervised clustering (kmeans on ae")
    assert "ARI 0.410" in text and "0.001" in text and "pixels reaches ARI 0.120" in text
    assert "classifier's features" in text and "ARI 0.900" in text and text.endswith("(on synthetic data).")
    flat = [{**r, "methods": {m: _scores(0.01, 0.21) for m in r["methods"]}} for r in rows[:2]]
    assert cluster_answer({"rows": flat, "chance": chance}).startswith("Do styles cluster? No:")
    single = cluster_answer(None, {"kind": "ae", "methods": {"kmeans": _scores(0.15, 0.4)},
                                   "chance": _scores(0.0, 0.2), "synthetic": False})
    assert single.startswith("Do styles cluster? Weakly:") and single.endswith("random labelling.")


# ---------------------------------------------------------------- LoRA through the pipeline


def test_pretrained_adds_the_lora_stage(pipeline_env: dict) -> None:
    """With --pretrained (a tiny random SD model) only the LoRA stage and the report run; the report shows grids."""
    from tiny_sd import build_tiny_sd

    pipe = pipeline_env["pipe"]
    model = build_tiny_sd(pipeline_env["root"] / "tiny-sd")
    before = json.loads((pipe / "pipeline.json").read_text())["stages"]
    result, _ = _invoke(["run", "--out", str(pipe), "--pretrained", str(model), "--no-progress"])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    stages = json.loads((pipe / "pipeline.json").read_text())["stages"]
    assert stages["lora"]["status"] == "done"
    assert (Path(stages["lora"]["run"]) / "pytorch_lora_weights.safetensors").is_file()
    for key in ("classify", "embed", "cluster", "stylize"):
        assert stages[key]["started"] == before[key]["started"], key
    md = (pipe / "report.md").read_text()
    lora = md.split("## LoRA\n", 1)[1].split("\n## ", 1)[0]
    assert "Not run" not in lora and "LoRA rank 4" in lora and "same seeds" in lora
    assert "artstyle lora train" in md and "artstyle lora generate" in md
