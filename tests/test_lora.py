"""LoRA fine-tuning and generation on a tiny random Stable Diffusion built in code (offline, CPU, seconds).

The tiny model paints noise: these tests check the machinery (adapters, training steps, diffusers-format weights
that load back, resume, generation, errors), not image quality.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from tiny_sd import build_tiny_sd  # noqa: E402

from artstyle.errors import ArtstyleError  # noqa: E402
from artstyle.lora import WEIGHTS_NAME, check_template, render_prompt, select_styles  # noqa: E402

STYLES = ("Baroque", "Pop_Art", "Ukiyo_e")
RESOLUTION = 32
FAST = ["--resolution", str(RESOLUTION), "--workers", "0", "--no-progress", "--log-every", "1"]


def _paintings(root: Path) -> Path:
    """``root/{train,test}/<Style>/*.png``: 4 + 2 noisy 40 px images per style, each style its own colour."""
    rng = np.random.default_rng(0)
    for ci, style in enumerate(STYLES):
        base = np.array([ci * 90, 255 - ci * 90, 60 + ci * 60])
        for split, n in (("train", 4), ("test", 2)):
            for i in range(n):
                arr = np.clip(base + rng.integers(-40, 40, (40, 40, 3)), 0, 255).astype(np.uint8)
                path = root / split / style / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(arr).save(path)
    return root


def _invoke(args: list[str]):  # noqa: ANN202
    from artstyle.commands.lora import app

    return CliRunner().invoke(app, args)


def _ok(result) -> None:  # noqa: ANN001
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The tiny model, the paintings, and one trained run (4 steps, checkpoints at 2 and 4), shared by the module."""
    import torch

    root = tmp_path_factory.mktemp("lora")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on shared CPUs extra threads make these tiny models ~50x slower
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("ARTSTYLE_THREADS", "1")
        mp.setenv("ARTSTYLE_CACHE", str(root / "cache"))
        mp.setenv("ARTSTYLE_RUNS", str(root / "runs"))
        model = build_tiny_sd(root / "tiny-sd")
        data = _paintings(root / "paintings")
        run = root / "run"
        result = _invoke(["train", "--pretrained", str(model), "--data", str(data), "--out", str(run),
                          "--max-steps", "4", "--batch-size", "2", "--gradient-accumulation", "1",
                          "--learning-rate", "1e-2", "--rank", "4", "--lora-alpha", "8",
                          "--checkpoint-every", "2", "--validate-every", "4", "--validation-images", "1",
                          "--validation-inference-steps", "2", *FAST])
        _ok(result)
        yield {"model": model, "data": data, "run": run, "root": root}
    torch.set_num_threads(threads)


@pytest.fixture
def fast_env(env, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("ARTSTYLE_THREADS", "1")
    return env


def _tiny_pipe(model: Path):  # noqa: ANN202
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(model))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _image(pipe, prompt: str = "a painting in the style of Baroque") -> np.ndarray:  # noqa: ANN001
    import torch

    return pipe(prompt, num_inference_steps=2, height=RESOLUTION, width=RESOLUTION, output_type="np",
                generator=torch.Generator("cpu").manual_seed(0)).images[0]


# ------------------------------------------------------------------------------------------------ pure functions


def test_prompts_use_display_names_and_drop_unknown_parts() -> None:
    t = "a painting in the style of {style}[, {genre}][, by {artist}]"
    assert render_prompt(t, "Post_Impressionism") == "a painting in the style of Post-Impressionism"
    assert render_prompt(t, "Ukiyo_e", genre="landscape", artist="katsushika-hokusai") == \
        "a painting in the style of Ukiyo-e, landscape, by Katsushika Hokusai"
    assert render_prompt(t, "Baroque", genre="religious_painting", artist="Unknown Artist") == \
        "a painting in the style of Baroque, religious painting"
    assert render_prompt("{style} art by {artist}", "Pop_Art") == "Pop Art art by "


def test_prompts_take_genre_and_artist_from_the_source_when_it_has_them() -> None:
    from types import SimpleNamespace

    from artstyle.lora import DEFAULT_TEMPLATE, build_prompts

    extras = [{"genre": "landscape", "artist": "claude-monet"}, {}, {"genre": "portrait", "artist": "Unknown Artist"}]
    cache = SimpleNamespace(classes=["Impressionism", "Ukiyo_e"], labels=np.array([0, 1, 0]),
                            extra=lambda row: extras[row])
    assert build_prompts(cache, [0, 1, 2], DEFAULT_TEMPLATE) == [
        "a painting in the style of Impressionism, landscape, by Claude Monet",
        "a painting in the style of Ukiyo-e",  # an image folder: no genre, no artist
        "a painting in the style of Impressionism, portrait"]


@pytest.mark.parametrize("template", ["a painting", "{style} by {painter}", "{style} [by {artist}", "{style} {"])
def test_bad_templates_are_user_errors(template: str) -> None:
    with pytest.raises(ArtstyleError, match="prompt-template"):
        check_template(template)


def test_style_names_resolve_aliases_and_list_known_ones() -> None:
    assert select_styles(["ukiyo-e", "post-impressionism", "Baroque"],
                         ["Baroque", "Post_Impressionism", "Ukiyo_e"]) == ["Ukiyo_e", "Post_Impressionism", "Baroque"]
    assert select_styles(["all"], ["A", "B"]) == ["A", "B"]
    with pytest.raises(ArtstyleError, match=r"unknown style\(s\) Cubism.*known: Baroque, Pop_Art"):
        select_styles(["Cubism"], ["Baroque", "Pop_Art"])


# ------------------------------------------------------------------------------------------------ training


def test_train_writes_a_diffusers_lora_run(env) -> None:  # noqa: ANN001
    from safetensors.torch import load_file

    run = env["run"]
    weights = load_file(str(run / WEIGHTS_NAME))
    assert weights and all(k.startswith("unet.") for k in weights)
    ups = [v for k, v in weights.items() if ".up." in k or "lora_B" in k]
    assert ups and all(v.dtype.is_floating_point for v in ups)
    assert sum(float(v.abs().sum()) for v in ups) > 0, "LoRA B matrices are still zero: nothing was learned"
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["pretrained"] == str(env["model"]) and info["config"]["max_steps"] == 4
    assert json.loads((run / "classes.json").read_text())["classes"] == list(STYLES)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    assert (run / "checkpoint-2" / WEIGHTS_NAME).is_file() and (run / "checkpoint-4" / WEIGHTS_NAME).is_file()
    assert (run / "figures" / "validation-4.png").is_file()
    card = (run / "README.md").read_text()
    assert str(env["model"]) in card and "Ukiyo-e" in card and "not been evaluated" in card
    assert "SYNTHETIC" not in card  # real image folder: no synthetic-data note


def test_lora_loads_into_a_fresh_pipeline_and_changes_its_images(env) -> None:  # noqa: ANN001
    import torch

    torch.set_num_threads(1)
    pipe = _tiny_pipe(env["model"])
    before = _image(pipe)
    pipe.load_lora_weights(str(env["run"]))
    after = _image(pipe)
    assert np.abs(after - before).max() > 1e-3, "same seed, same image: the LoRA had no effect"
    scalings = [m.scaling for m in pipe.unet.modules() if isinstance(getattr(m, "scaling", None), dict) and m.scaling]
    assert scalings and all(abs(v - 2.0) < 1e-6 for s in scalings for v in s.values())  # alpha 8 / rank 4


def test_resume_restores_the_checkpoint_and_continues_the_step_count(env, tmp_path: Path) -> None:  # noqa: ANN001
    from safetensors.torch import load_file

    run = tmp_path / "run"
    shutil.copytree(env["run"], run)
    # The run directory resumes from its latest checkpoint (4) and goes on to step 6.
    _ok(_invoke(["train", "--resume", str(run), "--max-steps", "6", "--no-progress", "--log-every", "1"]))
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert (run / "checkpoint-6").is_dir()
    assert json.loads((run / "config.json").read_text())["config"]["max_steps"] == 6
    # Going back to checkpoint-2 abandons checkpoints 4 and 6: refused without --overwrite.
    result = _invoke(["train", "--resume", str(run / "checkpoint-2"), "--max-steps", "2"])
    assert isinstance(result.exception, ArtstyleError) and "checkpoint-4, checkpoint-6" in str(result.exception)
    # With nothing left to do after step 2, the final weights must be the checkpoint's own, not step 6's.
    ck2, ck6 = load_file(str(run / "checkpoint-2" / WEIGHTS_NAME)), load_file(str(run / "checkpoint-6" / WEIGHTS_NAME))
    _ok(_invoke(["train", "--resume", str(run / "checkpoint-2"), "--max-steps", "2", "--overwrite", "--no-progress"]))
    final = load_file(str(run / WEIGHTS_NAME))
    assert all(np.array_equal(final[k].numpy(), ck2[k].numpy()) for k in ck2)
    assert any(not np.array_equal(final[k].numpy(), ck6[k].numpy()) for k in ck6)
    assert [p.name for p in sorted(run.glob("checkpoint-*"))] == ["checkpoint-2"]
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_resume_refuses_to_change_the_adapter_shape(env, tmp_path: Path) -> None:  # noqa: ANN001
    run = tmp_path / "run"
    shutil.copytree(env["run"], run)
    result = _invoke(["train", "--resume", str(run), "--rank", "8"])
    assert isinstance(result.exception, ArtstyleError) and "--rank 4 -> 8" in str(result.exception)


def test_text_encoder_lora_with_bf16_min_snr_and_checkpointing(fast_env, tmp_path: Path) -> None:  # noqa: ANN001
    import torch
    from safetensors.torch import load_file

    from artstyle.lora import load_lora_for_inference

    run = tmp_path / "te-run"
    _ok(_invoke(["train", "--pretrained", str(fast_env["model"]), "--data", str(fast_env["data"]), "--out", str(run),
                 "--max-steps", "0", "--epochs", "1", "--batch-size", "2", "--gradient-accumulation", "2",
                 "--learning-rate", "1e-2", "--lr-scheduler", "linear", "--lr-warmup-steps", "1",
                 "--train-text-encoder", "--gradient-checkpointing", "--mixed-precision", "bf16", "--snr-gamma", "5",
                 "--crop", "random", "--styles", "baroque,pop-art", "--checkpoint-every", "1", "--keep-checkpoints", "1",
                 "--validate-every", "0", *FAST]))
    # --max-steps 0: one pass over the images decides the step count; the linear schedule warms up, then decays.
    info = json.loads((run / "config.json").read_text())
    images, steps = info["data"]["images"], info["training"]["max_steps"]
    assert steps == math.ceil(math.ceil(images / 2) / 2) >= 2  # batches of 2, 2 per optimizer step
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, steps + 1))
    assert log[0]["lr"] == pytest.approx(1e-2) and log[-1]["lr"] == pytest.approx(0.0)
    # A checkpoint every step, at most one kept: only the last survives.
    assert [p.name for p in run.glob("checkpoint-*")] == [f"checkpoint-{steps}"]
    weights = load_file(str(run / WEIGHTS_NAME))
    te_up = [v for k, v in weights.items() if k.startswith("text_encoder.") and (".up." in k or "lora_B" in k)]
    assert te_up and sum(float(v.abs().sum()) for v in te_up) > 0
    assert all(v.dtype == torch.float32 for v in weights.values())  # LoRA weights stayed fp32 under bf16
    assert json.loads((run / "classes.json").read_text())["classes"] == ["Baroque", "Pop_Art"]
    torch.set_num_threads(1)
    pipe = _tiny_pipe(fast_env["model"])
    before = pipe.encode_prompt("a painting in the style of Baroque", "cpu", 1, False)[0]
    load_lora_for_inference(pipe, run)
    after = pipe.encode_prompt("a painting in the style of Baroque", "cpu", 1, False)[0]
    assert not torch.allclose(before, after), "the text-encoder LoRA did not load"


def test_torchrun_two_cpu_processes_write_one_run(env, tmp_path: Path) -> None:  # noqa: ANN001
    """torchrun (what ``accelerate launch`` runs) with 2 gloo processes: the same command, one loadable run."""
    import os
    import subprocess

    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "artstyle.cli", "lora", "train", "--pretrained", str(env["model"]), "--data", str(env["data"]),
           "--out", str(out), "--max-steps", "2", "--batch-size", "1", "--gradient-accumulation", "1",
           "--checkpoint-every", "2", "--validate-every", "0", *FAST]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1", ARTSTYLE_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads((out / "config.json").read_text())
    assert info["training"]["processes"] == 2 and info["training"]["effective_batch"] == 2
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert (out / "checkpoint-2" / WEIGHTS_NAME).is_file()
    pipe = _tiny_pipe(env["model"])
    pipe.load_lora_weights(str(out))  # the main process alone wrote diffusers-format weights


def test_generate_writes_grids_and_a_base_model_comparison(fast_env, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "gen"
    _ok(_invoke(["generate", str(fast_env["run"]), "--styles", "baroque,Ukiyo-e", "--n", "2", "--steps", "2",
                 "--compare", "--out", str(out), "--no-progress"]))
    meta = json.loads((out / "generate.json").read_text())
    assert meta["prompts"] == {"Baroque": "a painting in the style of Baroque",
                               "Ukiyo_e": "a painting in the style of Ukiyo-e"}
    assert sorted(meta["files"]) == ["Baroque-compare.png", "Baroque.png", "Ukiyo_e-compare.png", "Ukiyo_e.png"]
    single = np.asarray(Image.open(out / "Baroque.png"))
    both = np.asarray(Image.open(out / "Baroque-compare.png"))
    assert both.shape[0] > 2 * RESOLUTION + 20 and both.shape[0] > single.shape[0]  # two captioned rows


def test_generate_unknown_style_lists_the_known_ones(env) -> None:  # noqa: ANN001
    result = _invoke(["generate", str(env["run"]), "--styles", "Cubism"])
    assert isinstance(result.exception, ArtstyleError)
    assert "Cubism" in str(result.exception) and "Baroque, Pop_Art, Ukiyo_e" in str(result.exception)


def test_missing_model_is_one_clear_line(env, capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    from artstyle.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["lora", "train", "--pretrained", "nobody/no-such-model-xyz", "--data", str(env["data"])])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    lines = [line for line in err if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in "\n".join(err)
    assert "nobody/no-such-model-xyz" in lines[0] and "HF_HOME" in lines[0] and "--pretrained" in lines[0]


def test_user_errors_before_any_model_is_loaded(env) -> None:  # noqa: ANN001
    import importlib.util

    import torch

    data = str(env["data"])
    result = _invoke(["train", "--pretrained", str(env["model"]), "--data", data, "--prompt-template", "a painting"])
    assert isinstance(result.exception, ArtstyleError) and "{style}" in str(result.exception)
    if importlib.util.find_spec("bitsandbytes") is None:
        result = _invoke(["train", "--pretrained", str(env["model"]), "--data", data, "--use-8bit-adam"])
        assert isinstance(result.exception, ArtstyleError) and "pip install bitsandbytes" in str(result.exception)
    if not torch.cuda.is_available():
        result = _invoke(["train", "--pretrained", str(env["model"]), "--data", data, "--mixed-precision", "fp16"])
        assert isinstance(result.exception, ArtstyleError) and "CUDA" in str(result.exception)
    result = _invoke(["train", "--pretrained", str(env["model"]), "--data", data, "--target-modules", "no_such_layer"])
    assert isinstance(result.exception, ArtstyleError) and "--target-modules no_such_layer" in str(result.exception)
    result = _invoke(["train", "--pretrained", str(env["data"]), "--data", data])
    assert isinstance(result.exception, ArtstyleError) and "model_index.json is missing" in str(result.exception)


# ------------------------------------------------------------------------------------------------ --precision


def test_precision_and_its_deprecated_alias_train_alike(fast_env, tmp_path: Path) -> None:  # noqa: ANN001
    """``--precision fp32`` and the old ``--mixed-precision fp32`` make the same run; only the old one warns."""
    common = ["train", "--pretrained", str(fast_env["model"]), "--data", str(fast_env["data"]), "--max-steps", "1",
              "--batch-size", "2", "--gradient-accumulation", "1", "--checkpoint-every", "0", "--validate-every", "0",
              *FAST]
    saved = {}
    for flag in ("--precision", "--mixed-precision"):
        out = tmp_path / flag.strip("-")
        result = _invoke([*common, "--out", str(out), flag, "fp32"])
        _ok(result)
        warnings = [line for line in result.stderr.splitlines() if "deprecated" in line]
        assert len(warnings) == (1 if flag == "--mixed-precision" else 0), result.stderr
        saved[flag] = json.loads((out / "config.json").read_text())
    for info in saved.values():
        assert info["stage"] == "lora" and info["command"].startswith("artstyle lora train ")
        assert info["config"]["precision"] == "fp32" and "mixed_precision" not in info["config"]
        assert info["training"]["mixed_precision"] == "no"
        assert "--precision fp32" in info["command"] and "--mixed-precision" not in info["command"]
    # The same run but for its --out: the same settings and the same reproducing command.
    new, old = (saved[f] for f in ("--precision", "--mixed-precision"))
    assert {**new["config"], "out": ""} == {**old["config"], "out": ""}
    assert new["command"].replace(new["config"]["out"], "OUT") == old["command"].replace(old["config"]["out"], "OUT")


def test_mixed_precision_from_toml_still_works_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from artstyle.config import load_config
    from artstyle.lora import LoraTrainConfig

    toml = tmp_path / "lora.toml"
    toml.write_text('mixed_precision = "no"\n')
    cfg = load_config(LoraTrainConfig, toml)
    assert cfg.precision == "fp32" and cfg.mixed_precision == ""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "deprecated" in err[0] and "--precision fp32" in err[0]
    assert load_config(LoraTrainConfig, overrides={"precision": "bf16"}).precision == "bf16"
    assert capsys.readouterr().err == ""  # the new name does not warn
    with pytest.raises(ArtstyleError, match="contradicts --precision bf16"):
        LoraTrainConfig(precision="bf16", mixed_precision="fp16")
    with pytest.raises(ArtstyleError, match="--mixed-precision 'fp64'"):
        LoraTrainConfig(mixed_precision="fp64")


def test_a_run_saved_with_mixed_precision_resumes_and_generates(fast_env, tmp_path: Path,  # noqa: ANN001
                                                                capsys: pytest.CaptureFixture) -> None:
    from artstyle.lora import LoraTrainConfig
    from artstyle.lora.checkpoints import merge_resume

    run = tmp_path / "old-run"
    shutil.copytree(fast_env["run"], run)
    info = json.loads((run / "config.json").read_text())
    for key in ("stage", "command", "argv"):  # written before runs said what they are
        info.pop(key, None)
    info["config"]["mixed_precision"] = "no"
    del info["config"]["precision"]
    (run / "config.json").write_text(json.dumps(info))
    # The old key is read as --precision: resuming keeps it, and changing it is refused like any locked setting.
    assert merge_resume(LoraTrainConfig(resume=str(run)), info["config"]).precision == "fp32"
    with pytest.raises(ArtstyleError, match="--precision 'fp32' -> 'bf16'"):
        merge_resume(LoraTrainConfig(resume=str(run), precision="bf16"), info["config"])
    assert "deprecated" not in capsys.readouterr().err  # reading an old run is not the user's doing
    out = tmp_path / "gen"
    _ok(_invoke(["generate", str(run), "--styles", "Pop_Art", "--n", "1", "--steps", "1", "--out", str(out),
                 "--no-progress"]))
    assert json.loads((out / "generate.json").read_text())["files"] == ["Pop_Art.png"]
    saved = json.loads((out / "config.json").read_text())
    assert saved["stage"] == "lora-generate" and saved["run"] == str(run)
    assert saved["command"] == f"artstyle lora generate {run} --styles Pop_Art --n 1 --steps 1 --no-progress"
