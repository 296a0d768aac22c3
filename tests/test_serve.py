"""`artstyle serve`: the Gradio app over tiny runs, through gradio_client and through a real browser.

One server on 127.0.0.1 (a free port) is started per module on the tiny runs of tests/test_api.py. The browser
test drives Debian's chromium with selenium and is skipped, saying why, where chromium or chromedriver is
missing (`.ci/run` installs them with apt-get when it can).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from artstyle.errors import ArtstyleError  # noqa: E402
from artstyle.styles import display_name  # noqa: E402
from test_api import CLASSES, isolated_tiny_runs  # noqa: E402

# gradio's queue uses pandas options that pandas 3 deprecates: its business, not this project's
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,1000")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Tiny runs, and the app serving their pipeline directory on 127.0.0.1 (queue of 4)."""
    from artstyle.serve import serve

    root = tmp_path_factory.mktemp("serve")
    with isolated_tiny_runs(root) as runs:
        server = serve([runs["pipe"]], port=0, map_method="pca", max_queue=4, device="cpu", block=False)
        client = gradio_client.Client(server.url, verbose=False, download_files=str(root / "downloads"))
        try:
            yield {**runs, "server": server, "client": client, "root": root}
        finally:
            server.close()


def test_binds_to_loopback_without_a_share_link_and_a_bounded_queue(app: dict) -> None:
    server = app["server"]
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.demo.share and server.demo.share_url is None
    assert server.demo._queue.max_size == 4


def test_classify_returns_probabilities_that_sum_to_one(app: dict) -> None:
    label, overlay, note, neighbours, details = app["client"].predict(
        gradio_client.handle_file(str(app["image"])), api_name="/classify")
    assert abs(sum(details["probabilities"].values()) - 1) < 1e-5
    assert set(details["probabilities"]) == set(CLASSES)
    expected = app["server"].studio.predict(app["image"])["top"]
    assert label["label"] == display_name(expected[0]["style"]) == display_name(details["top"][0]["style"])
    assert len(label["confidences"]) == len(CLASSES)  # top-5 of 3 styles
    assert Image.open(overlay).size[0] >= 256 and "crop" in note
    assert len(neighbours) == 8 and all(n["style"] in CLASSES for n in details["neighbours"])
    assert details["neighbours"][0]["file"].endswith("Baroque/0.png")


def test_rerender_returns_images_of_the_run_size_and_a_zip(app: dict) -> None:
    gallery, zipped, details = app["client"].predict(gradio_client.handle_file(str(app["image"])),
                                                     ["Pop_Art", "Ukiyo_e"], 0.7, api_name="/rerender")
    assert [g["caption"] for g in gallery] == ["Pop Art", "Ukiyo-e"]
    for item in gallery:
        assert Image.open(item["image"]).size == (32, 32)
    with zipfile.ZipFile(zipped) as zf:
        names = set(zf.namelist())
        assert names == {"input.png", "Pop_Art.png", "Ukiyo_e.png", "grid.png"}
        assert Image.open(zf.open("Pop_Art.png")).size == (32, 32)
    assert details == {"styles": ["Pop_Art", "Ukiyo_e"], "strength": 0.7, "size": [32, 32]}
    everything, _, _ = app["client"].predict(gradio_client.handle_file(str(app["image"])), [], 1.0,
                                             api_name="/rerender")
    assert len(everything) == len(CLASSES)  # no style chosen: all of them


@pytest.mark.parametrize("name", ["notes.txt", "fake.jpg"])
def test_a_text_file_gets_the_message_not_a_traceback(app: dict, tmp_path: Path, name: str) -> None:
    bad = tmp_path / name
    bad.write_text("hello, this is not a painting\n" * 10)
    for api_name, extra in (("/classify", ()), ("/rerender", ([], 1.0))):
        with pytest.raises(Exception) as info:
            app["client"].predict(gradio_client.handle_file(str(bad)), *extra, api_name=api_name)
        message = str(info.value)
        assert "not an image artstyle can use: not an image Pillow can read" in message, message
        assert "Traceback" not in message


def test_the_server_never_reads_a_path_the_client_names(app: dict) -> None:
    import httpx

    url = app["server"].url
    named = {"path": str(app["image"]), "meta": {"_type": "gradio.FileData"}}  # a file on the server, not uploaded
    event = httpx.post(f"{url}/gradio_api/call/classify", json={"data": [named]}, timeout=30).json()["event_id"]
    reply = httpx.get(f"{url}/gradio_api/call/classify/{event}", timeout=30).text
    assert "event: error" in reply and "not uploaded by a user" in reply and "probabilities" not in reply


def test_style_map_returns_points_with_styles(app: dict) -> None:
    choice = f"{app['emb'].parent.name}/{app['emb'].name}"
    picture, legend, data = app["client"].predict(choice, [], api_name="/style_map")
    n = len(np.load(app["emb"])["labels"])
    assert data["method"] == "pca" and len(data["points"]) == n
    assert {p["style"] for p in data["points"]} == set(CLASSES) and all("file" in p for p in data["points"])
    assert Image.open(picture).size == (720, 480) and "Baroque" in legend
    _, _, only = app["client"].predict(choice, ["Baroque"], api_name="/style_map")
    assert {p["style"] for p in only["points"]} == {"Baroque"} and 0 < len(only["points"]) < n


def test_clicking_the_map_picks_the_nearest_point(app: dict) -> None:
    from artstyle.serve.handlers import Handlers

    h = Handlers(app["server"].studio, "pca")
    choice = next(iter(h.map_files()))
    view = h.view(choice)
    x, y = view.px[5]
    canvas, thumb, text = h.pick(choice, [], x + 1, y - 1)
    picked = view.at(x + 1, y - 1)  # point 5, or one drawn on top of it
    assert picked is not None and np.hypot(*(view.px[picked] - (x + 1, y - 1))) <= np.hypot(1, 1) + 1e-9
    assert view.points["path"][picked] in text
    assert thumb.shape[0] >= 160 and "`" in text and canvas.shape == (480, 720, 3)
    _, none, text = h.pick(choice, [], -100, -100)
    assert none is None and "No point" in text


def test_the_page_lists_tabs_and_names_the_command_for_a_missing_run(app: dict) -> None:
    import artstyle
    from artstyle.serve.app import LORA_HELP, header

    assert header(app["server"].studio).count("- *") == 0  # the pipeline has everything but LoRA
    only = artstyle.load(app["clf"], device="cpu")
    text = header(only)
    assert "*Re-render*: no stylize run given; make one with `artstyle stylize train" in text
    assert "*Style map*" in text and "*Report*" in text and "Classify" not in text.split("Runs:")[1]
    assert "artstyle lora train" in LORA_HELP
    config = app["server"].demo.config
    labels = [c.get("props", {}).get("label") for c in config["components"] if c.get("type") == "tabitem"]
    assert labels == ["Classify", "Re-render", "Style map", "Generate", "Report"]


def fake_lora_run(folder: Path) -> Path:
    """A LoRA run directory as `artstyle lora train` leaves it (the weights file is only a placeholder)."""
    from artstyle.runs import write_config, write_json

    folder.mkdir(parents=True)
    write_config(folder, "lora", "artstyle lora train --pretrained tiny", {"config": {
        "pretrained": "tiny-sd", "resolution": 16, "prompt_template": "a {style} painting"}})
    write_json(folder / "classes.json", {"classes": sorted(CLASSES), "synthetic": True})
    (folder / "pytorch_lora_weights.safetensors").write_bytes(b"")
    return folder


def test_generate_tab_paints_with_the_lora_run(app: dict, tmp_path: Path) -> None:
    from types import SimpleNamespace

    import artstyle
    from artstyle.serve.app import build_app
    from artstyle.serve.handlers import Handlers

    calls = []

    def fake_pipeline(prompt: str, num_images_per_prompt: int, height: int, **kwargs: object) -> SimpleNamespace:
        calls.append((prompt, num_images_per_prompt, kwargs["num_inference_steps"]))
        return SimpleNamespace(images=np.full((num_images_per_prompt, height, height, 3), 0.5))

    studio = artstyle.load(app["clf"], fake_lora_run(tmp_path / "lora"), device="cpu")
    studio.painter._pipe = fake_pipeline  # the diffusion model itself is tests/test_lora.py's business
    painted = Handlers(studio).generate("pop art", "", 2, 3, 5)
    assert [caption for _, caption in painted] == ["a Pop Art painting (seed 5)", "a Pop Art painting (seed 6)"]
    assert painted[0][0].shape == (16, 16, 3) and calls == [("a Pop Art painting", 2, 3)]
    config = build_app(studio).config
    assert any(c.get("props", {}).get("value") == "Paint" for c in config["components"])
    with pytest.raises(Exception, match="unknown style"):
        Handlers(studio).generate("Cubism", "", 1, 1, 0)


def test_a_full_queue_refuses_requests_with_a_message(app: dict) -> None:
    from artstyle.serve import serve

    small = serve([app["sty"]], port=0, max_queue=1, device="cpu", block=False)
    try:
        client = gradio_client.Client(small.url, verbose=False, download_files=str(app["root"] / "downloads"))
        jobs = [client.submit(gradio_client.handle_file(str(app["image"])), [], 1.0, api_name="/rerender")
                for _ in range(8)]
        outcomes = []
        for job in jobs:
            try:
                job.result()
                outcomes.append("done")
            except Exception as exc:  # noqa: BLE001 - the refusal is the point
                outcomes.append(str(exc))
    finally:
        small.close()
    assert "done" in outcomes and any("Queue is full" in o for o in outcomes), outcomes


def test_cli_options_are_checked_before_serving(app: dict) -> None:
    from artstyle.serve import serve

    with pytest.raises(ArtstyleError, match="--map"):
        serve([app["pipe"]], map_method="tsne", block=False)
    with pytest.raises(ArtstyleError, match="--max-queue"):
        serve([app["pipe"]], max_queue=0, block=False)


def test_help_imports_neither_torch_nor_gradio() -> None:
    code = ("import sys\nfrom artstyle.cli import main\ntry:\n    main(['serve', '--help'])\nexcept SystemExit:\n"
            "    pass\nassert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'gradio')], 'heavy import'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--max-queue" in proc.stdout


def chrome(tmp_path: Path):  # noqa: ANN201 - selenium's WebDriver
    """Headless Debian chromium through selenium, or a skip that says what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        reason = f"no browser test: {', '.join(missing)} missing (apt-get install chromium chromium-driver)"
        print(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_browser_upload_shows_the_predicted_style(app: dict, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chrome(tmp_path)
    try:
        driver.get(app["server"].url)
        wait = WebDriverWait(driver, 30)
        upload = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#classify-upload input[type=file]"))
        upload.send_keys(str(app["image"]))
        style = display_name(app["server"].studio.predict(app["image"])["top"][0]["style"])
        wait.until(lambda d: style in d.find_element(By.ID, "classify-label").text)
        shot = tmp_path / "classify.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 1000 and "Traceback" not in driver.page_source
    finally:
        driver.quit()
