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


@pytest.mark.parametrize("template", ["a painting", "{style} by {painter}", "{style} [by {artist}", "{style} {",
                                      "{style:>999999999}", "{style!r}"])
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


# ------------------------------------------------------------------------------------------------ issue 14


def _train_args(env, out: Path, *extra: str) -> list[str]:  # noqa: ANN001
    return ["train", "--pretrained", str(env["model"]), "--data", str(env["data"]), "--out", str(out), "--overwrite",
            "--batch-size", "2", "--gradient-accumulation", "2", "--learning-rate", "1e-2", "--checkpoint-every", "0",
            "--validate-every", "0", *FAST, *extra]


def _weights(run: Path) -> dict[str, np.ndarray]:
    from safetensors.torch import load_file

    return {k: v.numpy() for k, v in load_file(str(run / WEIGHTS_NAME)).items()}


def _assert_same_training(a: Path, b: Path) -> None:
    """Same losses at every step (to float rounding) and the same weights (to 1/50 of one Adam step at lr 1e-2)."""
    losses = [[json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()] for run in (a, b)]
    assert len(losses[0]) == len(losses[1]) and np.allclose(losses[0], losses[1], rtol=1e-5, atol=0), losses
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    worst = max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)
    assert worst < 2e-4, f"largest weight difference {worst:g}"


def test_cached_latents_train_like_pixels_and_are_stored_once(fast_env, tmp_path: Path) -> None:  # noqa: ANN001
    """Same seed, flips on: a run on cached VAE posteriors and prompt embeddings ends where the pixel run ends."""
    from safetensors.torch import load_file

    runs = {mode: tmp_path / mode for mode in ("off", "on", "again")}
    for mode, run in runs.items():
        _ok(_invoke(_train_args(fast_env, run, "--max-steps", "3", "--flip", "--cache-latents",
                                "off" if mode == "off" else "on")))
    _assert_same_training(runs["off"], runs["on"])
    info = json.loads((runs["on"] / "config.json").read_text())["data"]["latent_cache"]
    assert info["used"] and not json.loads((runs["off"] / "config.json").read_text())["data"]["latent_cache"]["used"]
    shards = sorted(Path(info["dir"]).glob("latents-*.safetensors"))
    texts = sorted(Path(info["dir"]).glob("text-*.safetensors"))
    assert shards and texts and json.loads((runs["again"] / "config.json").read_text())["data"]["latent_cache"] == info
    assert sorted(Path(info["dir"]).glob("*.safetensors")) == sorted(shards + texts)  # the second run encoded nothing
    stored = load_file(str(shards[0]))
    assert stored["moments"].shape[1:] == (2, 8, RESOLUTION // 2, RESOLUTION // 2)  # both flips, mean + log-variance
    assert not np.allclose(stored["moments"][:, 0].numpy(), stored["moments"][:, 1].numpy())
    assert info["bytes"] == len(stored["rows"]) * 2 * 8 * (RESOLUTION // 2) ** 2 * 4 + 3 * 77 * 32 * 4


def test_latent_cache_decision() -> None:
    import torch

    from artstyle.lora import LoraTrainConfig
    from artstyle.lora.latents import decide, estimate_bytes

    here = Path.cwd()
    assert decide(LoraTrainConfig(), 10**9, 10**9, here)[0]
    assert not decide(LoraTrainConfig(latent_cache_gb=0.5), 10**9, 0, here)[0]  # over the budget: auto says no
    assert decide(LoraTrainConfig(cache_latents="on", latent_cache_gb=0.5), 10**9, 0, here)[0]
    assert not decide(LoraTrainConfig(cache_latents="off"), 1, 1, here)[0]
    assert not decide(LoraTrainConfig(crop="random"), 1, 1, here)[0]
    with pytest.raises(ArtstyleError, match="--crop center"):
        decide(LoraTrainConfig(crop="random", cache_latents="on"), 1, 1, here)
    with pytest.raises(ArtstyleError, match="GB free"):
        decide(LoraTrainConfig(cache_latents="on"), 10**18, 10**18, here)
    sd = {"latent_channels": 4, "block_out_channels": [128, 256, 512, 512]}
    assert estimate_bytes(81_444, 0, 2, 512, sd, (77, 768), torch.float16) == 81_444 * 2 * 8 * 64 * 64 * 2


def test_resume_continues_the_data_order(fast_env, tmp_path: Path) -> None:  # noqa: ANN001
    """4 steps straight, or 2 steps, a checkpoint and a resume to 4 (mid-epoch, then over an epoch boundary):
    the same batches, noise and weights."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    _ok(_invoke(_train_args(fast_env, straight, "--max-steps", "4")))
    _ok(_invoke(_train_args(fast_env, resumed, "--max-steps", "2", "--checkpoint-every", "2")))
    _ok(_invoke(["train", "--resume", str(resumed), "--max-steps", "4", "--no-progress", "--log-every", "1"]))
    _assert_same_training(straight, resumed)
    log = [json.loads(line) for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [0, 0, 0, 1]  # 12 images, batches of 2, 2 per step: 3 steps per epoch


def test_epoch_order_is_seeded_by_the_epoch() -> None:
    from artstyle.lora.data import EpochSampler

    sampler = EpochSampler(10, seed=3, flip=True)
    first = sampler.keys()
    assert sorted(k[0] for k in first) == list(range(10)) and first == list(sampler)
    sampler.for_epoch(1)
    assert sampler.keys() != first
    assert not hasattr(sampler, "set_epoch")  # accelerate calls set_epoch(0) on every fresh (or skipping) loader
    assert not any(flip for _, flip, _ in EpochSampler(10, 3, flip=False).keys())


@pytest.mark.parametrize("processes", [1, 2, 4])
def test_max_steps_0_trains_the_requested_epochs_on_any_number_of_processes(processes: int) -> None:
    from artstyle.lora.train import step_counts

    batches = 12  # the unsharded loader's length
    max_steps, per_epoch, epochs = step_counts(batches, processes, 2, 0, 3)
    assert epochs == 3 and per_epoch == math.ceil(math.ceil(batches / processes) / 2) and max_steps == 3 * per_epoch
    assert step_counts(batches, processes, 2, 7, 1)[0] == 7


def test_the_diffusers_floor_has_the_lora_metadata_api() -> None:
    import inspect
    import re

    from diffusers import StableDiffusionPipeline

    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    floor = tuple(int(x) for x in re.search(r'"diffusers>=([\d.]+)"', pyproject).group(1).split("."))
    assert floor >= (0, 34), "save_lora_weights(unet_lora_adapter_metadata=...) came in diffusers 0.34"
    assert "unet_lora_adapter_metadata" in inspect.signature(StableDiffusionPipeline.save_lora_weights).parameters


def test_text_encoder_lora_has_diffusers_layout_and_mismatches_name_the_file(fast_env, tmp_path: Path) -> None:  # noqa: ANN001
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from artstyle.lora import load_lora_for_inference

    run = tmp_path / "te"
    _ok(_invoke(_train_args(fast_env, run, "--max-steps", "1", "--train-text-encoder", "--gradient-accumulation", "1",
                            "--checkpoint-every", "1")))
    # The checkpoint (same layout) loads back into the flattened transformers-5 text encoder with every key checked.
    _ok(_invoke(["train", "--resume", str(run), "--max-steps", "2", "--no-progress"]))
    weights = load_file(str(run / WEIGHTS_NAME))
    with safe_open(str(run / WEIGHTS_NAME), "pt") as f:
        metadata = f.metadata()
    te = [k for k in weights if k.startswith("text_encoder.")]
    assert te and all(k.startswith("text_encoder.text_model.encoder.layers.") for k in te)  # as transformers 4 names it
    assert "peft >= 0.22" in (run / "README.md").read_text()
    # A file that does not fit the model is refused, naming the file, for the text encoder and the UNet alike.
    for part in ("text_encoder.", "unet."):
        bad = tmp_path / f"bad-{part.strip('.')}"
        bad.mkdir()
        first = next(k for k in weights if k.startswith(part) and ("down" in k or "lora_A" in k))
        save_file({k: v for k, v in weights.items() if k != first}, str(bad / WEIGHTS_NAME), metadata=metadata)
        torch.set_num_threads(1)
        with pytest.raises(ArtstyleError, match="1 missing") as info:
            load_lora_for_inference(_tiny_pipe(fast_env["model"]), bad)
        assert str(bad / WEIGHTS_NAME) in str(info.value)


def test_noise_offset_prediction_type_and_genre_artist_prompts(fast_env, tmp_path: Path) -> None:  # noqa: ANN001
    run = tmp_path / "v"
    _ok(_invoke(_train_args(fast_env, run, "--max-steps", "1", "--gradient-accumulation", "1", "--noise-offset",
                            "0.1", "--prediction-type", "v_prediction", "--validation-genre", "landscape",
                            "--validation-artist", "claude-monet")))
    info = json.loads((run / "config.json").read_text())
    assert info["training"]["prediction_type"] == "v_prediction" and info["config"]["noise_offset"] == 0.1
    assert info["data"]["validation_prompts"][0].endswith(", landscape, by Claude Monet")
    out = tmp_path / "gen"
    _ok(_invoke(["generate", str(run), "--styles", "Baroque", "--n", "1", "--steps", "1", "--out", str(out),
                 "--genre", "landscape", "--artist", "claude-monet", "--no-progress"]))
    meta = json.loads((out / "generate.json").read_text())
    assert meta["prompts"] == {"Baroque": "a painting in the style of Baroque, landscape, by Claude Monet"}
    assert meta["prediction_type"] == "v_prediction" and meta["blanked"] == {"lora": {"Baroque": [False]}}


def test_random_crops_reach_every_part_of_the_image(tmp_path: Path) -> None:
    from artstyle.lora.data import StyleImages, crop_box

    # A 2:1 landscape squashed into a 16 px square: left half red, right half blue.
    size = 16
    img = np.zeros((1, size, size, 3), np.uint8)
    img[0, :, : size // 2, 0] = 255
    img[0, :, size // 2:, 2] = 255
    img.tofile(tmp_path / "images.u8")
    assert crop_box((200, 100), size, 0.0) == (0, 0, size, size // 2)
    assert crop_box((200, 100), size, 0.999) == (0, size // 2, size, size // 2)
    assert crop_box((100, 300), size, 0.5)[2:] == (5, size)  # portrait: a band across the full width
    data = StyleImages(tmp_path, 1, size, [0], [[0]], 8, "random", [(200, 100)])
    left, right = data.pixels((0, False, 0.0)), data.pixels((0, False, 0.999))
    assert left.shape == (3, 8, 8) and left[0].min() > 0.9 and left[2].max() < -0.9  # all red: the left edge
    assert right[2].min() > 0.9 and right[0].max() < -0.9  # all blue: the right edge, outside any centre square
    assert np.allclose(data.pixels((0, True, 0.0)).numpy(), left.flip(-1).numpy())


def test_paint_records_what_the_safety_checker_blanked() -> None:
    from types import SimpleNamespace

    from artstyle.lora.generation import paint

    def pipe(prompt, num_images_per_prompt, **kwargs):  # noqa: ANN001, ANN202
        return SimpleNamespace(images=np.zeros((num_images_per_prompt, 8, 8, 3)),
                               nsfw_content_detected=[True] + [False] * (num_images_per_prompt - 1))

    blanked: list[bool] = []
    images = paint(pipe, "p", n=3, seed=0, steps=1, guidance=1.0, size=8, batch=2, blanked=blanked)
    assert images.shape == (3, 8, 8, 3) and blanked == [True, False, True]
