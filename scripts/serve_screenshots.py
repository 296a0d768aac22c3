"""Screenshots of every tab of `artstyle serve`, for the README: docs/serve/<tab>.png (small palette PNGs).

Usage (repository root; needs chromium + chromium-driver, e.g. `apt-get install chromium chromium-driver`)::

    python scripts/serve_screenshots.py                          # the newest pipeline under runs/pipeline/
    python scripts/serve_screenshots.py runs/pipeline/<ts>-demo --out docs/serve --map pca

It starts the app on 127.0.0.1 (a free port), drives headless chromium through selenium like
tests/test_serve.py does (uploads a test image of the pipeline's own data to Classify and Re-render, clicks a
point of the style map), saves one screenshot per tab and stops the app. Each PNG is scaled to 960 px wide and
reduced to 128 colours, so it stays under about 150 KB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
         "--hide-scrollbars")
MAX_BYTES = 150_000


def sample_image(studio, folder: Path) -> Path:  # noqa: ANN001 - an artstyle.api.Studio
    """A test-split image of the classifier's own cache, written as PNG (the app gets a real upload)."""
    from PIL import Image

    from artstyle.data.cache import load_cache

    cache = load_cache(studio.classifier.info["config"]["data"]["cache"])
    rows = cache.indices("test")
    path = folder / "painting.png"
    Image.fromarray(cache.images[rows[len(rows) // 2]]).resize((256, 256), Image.Resampling.BICUBIC).save(path)
    return path


def save_small(png: bytes, path: Path, width: int = 960) -> Path:
    """``png`` scaled to ``width`` and quantised until it is under MAX_BYTES; written to ``path``."""
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    for colours, w in ((128, width), (64, width), (64, 800), (32, 720)):
        small = im.resize((w, round(im.height * w / im.width)), Image.Resampling.LANCZOS)
        small.quantize(colours, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            break
    return path


def open_tab(driver, label: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, f"//button[@role='tab' and contains(normalize-space(.), '{label}')]").click()
    time.sleep(1.0)


def loaded(driver, css: str, at_least: int = 1) -> bool:  # noqa: ANN001
    """Whether ``at_least`` images under ``css`` have finished loading."""
    from selenium.webdriver.common.by import By

    images = driver.find_elements(By.CSS_SELECTOR, f"{css} img")
    done = [i for i in images if driver.execute_script("return arguments[0].complete && "
                                                       "arguments[0].naturalWidth > 0", i)]
    return len(done) >= at_least


def shoot(driver, out: Path, name: str) -> None:  # noqa: ANN001
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)
    path = save_small(driver.get_screenshot_as_png(), out / f"{name}.png")
    print(f"{path}: {path.stat().st_size // 1000} KB")


def drive(driver, server, image: Path, out: Path) -> None:  # noqa: ANN001
    """Visit every tab the app has, act in it, and screenshot it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 120)
    driver.get(server.url)
    wait.until(lambda d: d.find_elements(By.XPATH, "//button[@role='tab']"))
    ok = server.studio.available()
    if ok["classify"]:
        driver.find_element(By.CSS_SELECTOR, "#classify-upload input[type=file]").send_keys(str(image))
        wait.until(lambda d: loaded(d, "#classify-overlay") and loaded(d, "#classify-neighbours", 8))
        shoot(driver, out, "classify")
    if ok["stylize"]:
        open_tab(driver, "Re-render")
        driver.find_element(By.CSS_SELECTOR, "#rerender-upload input[type=file]").send_keys(str(image))
        driver.find_element(By.ID, "rerender-button").click()
        wait.until(lambda d: loaded(d, "#rerender-gallery", 3))
        time.sleep(2.0)
        shoot(driver, out, "rerender")
    if ok["embeddings"]:
        open_tab(driver, "Style map")
        canvas = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#style-map img"))[0]
        view_x, view_y = _a_point(server)
        scale = canvas.size["width"] / 720
        ActionChains(driver).move_to_element_with_offset(
            canvas, int((view_x - 360) * scale), int((view_y - 240) * scale)).click().perform()
        time.sleep(3.0)
        shoot(driver, out, "map")
    open_tab(driver, "Generate")
    shoot(driver, out, "generate")
    if ok["report"]:
        open_tab(driver, "Report")
        time.sleep(2.0)
        shoot(driver, out, "report")


def _a_point(server) -> tuple[float, float]:  # noqa: ANN001
    """Canvas pixel of a point near the middle of the default map (so the click selects something)."""
    from artstyle.serve.handlers import Handlers

    h = Handlers(server.studio, server.map_method)
    view = h.view(next(iter(h.map_files())))
    i = int(((view.px - (360, 240)) ** 2).sum(1).argmin())
    return float(view.px[i][0]), float(view.px[i][1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="*", help="pipeline directory or runs (default: the newest pipeline)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "serve")
    parser.add_argument("--map", default="pca", help="style map projection (pca is quick; umap, auto)")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from artstyle.serve import serve

    args.out.mkdir(parents=True, exist_ok=True)
    server = serve(args.runs, port=0, map_method=args.map, block=False)
    server.map_method = args.map
    tmp = Path(tempfile.mkdtemp(prefix="artstyle-shots-"))
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={tmp / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        drive(driver, server, sample_image(server.studio, tmp), args.out)
    finally:
        driver.quit()
        server.close()


if __name__ == "__main__":
    main()
