"""How close does a stylizer get to the TRUE rendering? Ground truth from the real-image benchmark's own filters.

Usage::

    python benchmarks/stylize_truth.py --run STYLIZE_RUN [--run ANOTHER_RUN] [--weights best|last|best,last]
        [--data .cache/real_styles_v2] [--tiles 60] [--seed 0] [--judge CLASSIFY_RUN]
        [--gallery docs/gallery/stylize_real.png] [--threads 1] [--doc [--section NAME]]

The real-image benchmark (``benchmarks/real_styles.py``) renders photo tiles with known code, and its
``benchmark.json`` records each test tile's source photo and box. So every test tile has a ground-truth rendering
in EVERY style: this script re-renders the tile's source box with the benchmark's own ``renderers()``. The content
input is the box of the unaltered photo (the benchmark's ``Photo`` style, JPEG-compressed as its tiles are), so the
identity baseline is the photo itself. For a seeded sample of ``--tiles`` distinct test boxes and every target
style it reports, per style and overall:

- SSIM to the true rendering (``artstyle.metrics.ssim_uint8``) of the stylizer's output and of the identity;
- a colour-histogram distance to the true rendering: chi-square, ``0.5 * sum((p - q)^2 / (p + q))``, between the
  normalised joint RGB histograms of 8 x 8 x 8 bins (0 = same colours, 1 = disjoint);
- the same SSIM between two true renderings with different seeds (1 for deterministic filters; the ceiling for
  the random ones, Pointillism and Film_Grain, whose dots and grain no model can place exactly);
- with ``--judge``, the judge's hit rate on the target style for the stylizer, and its accuracy on the true
  renderings (how far its verdict can be trusted for that style).

The stylizer renders through the package's API (``artstyle.api.stylizer.Stylizer.render_arrays``). ``--gallery``
renders scikit-image's astronaut, coffee and cat in every style of the FIRST run (``Stylizer.render``, aspect ratio
kept; the last of ``--weights``) into one small captioned PNG (``figures.grids.captioned_grid``). ``--doc``
writes docs/results.md's ``stylize-truth`` block (``--section NAME``: another marked block, for a second table).
Needs the benchmark's photos unpacked under ``--photos`` (``real_styles.py`` does that) and OpenCV contrib +
scikit-image (``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results.md"
GALLERY_PHOTOS = ("astronaut", "coffee", "chelsea")
HIST_BINS = 8


def colour_chi2(a: np.ndarray, b: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """Chi-square distance between the joint RGB histograms of uint8 ``a, b (N, H, W, 3)`` -> ``(N,)`` in [0, 1]."""
    def hist(x: np.ndarray) -> np.ndarray:
        q = (np.asarray(x, np.int64) * bins) // 256
        idx = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
        h = np.stack([np.bincount(i.ravel(), minlength=bins ** 3) for i in idx]).astype(np.float64)
        return h / h.sum(1, keepdims=True)

    p, q = hist(a), hist(b)
    s = p + q
    return 0.5 * np.where(s > 0, (p - q) ** 2 / np.where(s > 0, s, 1), 0).sum(1)


def jpeg(im: Image.Image, quality: int) -> np.ndarray:
    """``im`` through JPEG at ``quality`` (as the benchmark's tiles are stored) -> uint8 ``(H, W, 3)``."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def pick_tiles(bench: dict, n: int, seed: int) -> list[dict]:
    """A seeded sample of ``n`` distinct (photo, box) pairs among the benchmark's test tiles."""
    seen: dict[tuple, dict] = {}
    for it in bench["images"]:
        if it["file"].startswith("test/"):
            seen.setdefault((it["photo"], tuple(it["box"])), it)
    keys = sorted(seen)
    pick = np.random.default_rng(seed).choice(len(keys), size=min(n, len(keys)), replace=False)
    return [seen[keys[i]] for i in sorted(pick)]


def photo_record(bench: dict, photos: Path, photo_id: str) -> dict:
    """The ``real_styles.load_photo`` record of a benchmark photo id (``package/path`` or ``skimage/name``)."""
    package, rel = photo_id.split("/", 1)
    if package == "skimage":
        return {"id": photo_id, "skimage": rel}
    deb = {p["package"]: p["deb"] for p in bench["sources"]["packages"]}[package]
    path = photos / "src" / Path(deb).stem / rel
    if not path.is_file():
        sys.exit(f"error: {path} is missing; run `python benchmarks/real_styles.py OUT --cache {photos}` to unpack "
                 f"the benchmark's photos, or pass --photos")
    return {"id": photo_id, "path": str(path)}


def ground_truth(bench: dict, tiles: list[dict], styles: list[str], size: int, photos: Path, seed: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content ``(T, S, S, 3)`` (the photo box), truth and a second truth (another filter seed) ``(T, K, S, S, 3)``.

    Each box is cut from its photo scaled as the benchmark scaled it, rendered at that (native) scale by the
    benchmark's renderer, JPEG-compressed at the benchmark's quality, then resized to the stylizer's ``size``
    (LANCZOS) when that differs, as the stylizer's own cache resizes the benchmark's tiles.
    """
    import cv2
    from real_styles import load_photo, renderers

    cv2.setNumThreads(1)
    render, quality, max_side = renderers(), bench["jpeg_quality"], bench["options"]["max_side"]
    loaded: dict[str, Image.Image] = {}
    content, truth, again = [], [], []

    def fit(a: np.ndarray) -> np.ndarray:
        return a if a.shape[0] == size else np.asarray(Image.fromarray(a).resize((size, size), Image.LANCZOS))

    for it in tiles:
        if it["photo"] not in loaded:
            loaded = {it["photo"]: load_photo(photo_record(bench, photos, it["photo"]), max_side)}  # tiles sorted
        box = loaded[it["photo"]].crop(tuple(it["box"]))
        content.append(fit(jpeg(box, quality)))
        rows = [[], []]
        for style in styles:
            for r, extra in enumerate(("", ":again")):
                rng = np.random.default_rng([seed, zlib.crc32(f"{it['photo']}:{it['box']}:{style}{extra}".encode())])
                rows[r].append(fit(jpeg(render[style](box, rng), quality)))
        truth.append(np.stack(rows[0]))
        again.append(np.stack(rows[1]))
    return np.stack(content), np.stack(truth), np.stack(again)


def judge_hits(judge, judge_info: dict, images: np.ndarray, targets: list[str]) -> np.ndarray:
    """Whether the judge calls each uint8 image ``(N, S, S, 3)`` its target style (matched by name) -> ``(N,)``."""
    from artstyle.data.sources import class_name
    from artstyle.stylize import judge_probs

    lookup = {class_name(c): i for i, c in enumerate(judge_info["classes"])}
    want = np.array([lookup[class_name(t)] for t in targets])
    return judge_probs(judge, judge_info, images).argmax(1) == want


def stylizer(run: str, weights: str):
    """``artstyle.api.stylizer.Stylizer`` on the CPU, with the run's ``weights`` checkpoint (best or last).

    ``Stylizer`` loads best.safetensors; at strength 1 it renders through ``stylize_arrays(self.model, ...)``, so
    swapping its model for the other checkpoint keeps the package's render path.
    """
    from artstyle.api.stylizer import Stylizer
    from artstyle.stylize import load_stylizer

    sty = Stylizer(run, device="cpu")
    if weights != "best":
        sty.model = load_stylizer(run, weights)[0]
    return sty


def score_run(run: str, weights: str, content: np.ndarray, truth: np.ndarray, styles: list[str], judge) -> dict:
    """Render every content tile in every style with the run; per-style SSIM, colour chi-square, judge hits."""
    from artstyle.metrics import ssim_uint8

    sty = stylizer(run, weights)
    if sty.size != content.shape[1]:
        sys.exit(f"error: {run} renders at {sty.size} px, the first --run at {content.shape[1]} px; compare runs of "
                 "one --size")
    idx = sty.style_indices(styles)
    T, K = truth.shape[:2]
    out = sty.render_arrays(np.repeat(content, K, axis=0), np.tile(idx, T)).reshape(truth.shape)
    res = {"run": str(sty.run), "style_source": sty.info["style_source"], "weights": weights, "per_style": {}}
    for k, style in enumerate(styles):
        row = {"ssim": ssim_uint8(out[:, k], truth[:, k]), "chi2": colour_chi2(out[:, k], truth[:, k])}
        if judge:
            row["hit"] = judge_hits(*judge, out[:, k], [style] * T)
        res["per_style"][style] = row
    metrics = Path(sty.run) / "metrics.json"
    res["run_metrics"] = json.loads(metrics.read_text()) if metrics.is_file() else {}
    cfg = json.loads((Path(sty.run) / "config.json").read_text())
    res["command"] = cfg.get("argv") or cfg.get("command", "")  # what was typed (threads, --out), else the rebuilt line
    return res


def baselines(content: np.ndarray, truth: np.ndarray, again: np.ndarray, styles: list[str], judge) -> dict:
    """The identity (the photo) and a second true rendering, scored like a run, per style."""
    from artstyle.metrics import ssim_uint8

    out = {}
    for k, style in enumerate(styles):
        row = {"ssim": ssim_uint8(content, truth[:, k]), "chi2": colour_chi2(content, truth[:, k]),
               "ceiling": ssim_uint8(again[:, k], truth[:, k])}
        if judge:
            row["truth_hit"] = judge_hits(*judge, truth[:, k], [style] * len(content))
            row["hit"] = judge_hits(*judge, content, [style] * len(content))
        out[style] = row
    return out


def make_gallery(run: str, weights: str, path: Path, cell: int = 72) -> Path:
    """scikit-image's sample photos in every style of ``run``, the input first. Three rows per photo: the whole
    rendering (downscaled into the cell), a 1:1 centre crop of it (the scale the network paints at), and the same
    crop of the benchmark's own filter applied to the same decoded photo (what the style should look like)."""
    import skimage.data
    from real_styles import renderers

    from artstyle.figures.grids import captioned_grid
    from artstyle.runs import write_bytes
    from artstyle.styles import display_name
    from artstyle.stylize import fit_square

    sty, filters = stylizer(run, weights), renderers()
    rows, labels = [], []
    for name in GALLERY_PHOTOS:
        result = sty.render(getattr(skimage.data, name)(), "all")
        photo = Image.fromarray(result["image"])
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        truth = [np.asarray(filters[s](photo, rng)) for s in result["styles"]]
        rows.append([fit_square(np.asarray(Image.fromarray(im).resize(_fit(im.shape, cell), Image.LANCZOS)), cell)
                     for im in [result["image"], *result["renders"]]])
        rows.append([_centre(im, cell) for im in [result["image"], *result["renders"]]])
        rows.append([_centre(im, cell) for im in [result["image"], *truth]])
        labels += [name, "1:1 crop", "true filter"]
    headers = ["input photo"] + [display_name(s) for s in result["styles"]]
    grid, _ = captioned_grid(np.asarray(rows), headers=headers, row_labels=labels)
    # A 256-colour palette (median cut, no dithering) keeps the PNG at about a third of its RGB size for the README.
    buf = io.BytesIO()
    Image.fromarray(grid).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        buf, format="PNG", optimize=True)
    return write_bytes(path, buf.getvalue())


def _centre(image: np.ndarray, side: int) -> np.ndarray:
    """The central ``side`` x ``side`` pixels of uint8 ``(H, W, 3)`` (no resampling)."""
    y, x = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return np.ascontiguousarray(image[y:y + side, x:x + side])


def _fit(shape: tuple, cell: int) -> tuple[int, int]:
    """PIL (width, height) of an image of ``shape`` scaled to fit ``cell`` (LANCZOS before the grid's own fit)."""
    h, w = shape[:2]
    s = cell / max(h, w)
    return max(1, round(w * s)), max(1, round(h * s))


METRICS = {  # per-style table: (title, baseline columns, how a value prints)
    "ssim": ("SSIM to the true rendering (higher is closer)",
             [("identity", "ssim"), ("two true renderings (another filter seed)", "ceiling")], "{:.3f}"),
    "chi2": ("Colour chi2 to the true rendering (lower is closer)", [("identity", "chi2")], "{:.3f}"),
    "hit": ("Judge hit rate on the target style", [("identity", "hit"), ("the true rendering", "truth_hit")],
            "{:.0%}"),
}


def per_style_table(metric: str, base: dict, results: list[dict], styles: list[str]) -> list[str]:
    """One Markdown table: a row per target style, the baselines' columns, then one column per (run, weights)."""
    title, cols, fmt = METRICS[metric]
    head = [name for name, _ in cols] + [f"{r['style_source']} ({r['weights']})" for r in results]
    if len(set(head)) < len(head):  # two runs of one style source: name each column by its run
        head = [name for name, _ in cols] + [f"`{Path(r['run']).name}` ({r['weights']})" for r in results]
    lines = [f"*{title}*", "", "| target style | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for s in styles:
        cells = [fmt.format(base[s][key].mean()) for _, key in cols]
        cells += [fmt.format(r["per_style"][s][metric].mean()) for r in results]
        label = s if s != "Photo" else "Photo (the input's own style, not in the means)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def _overall(rows: list[dict], key: str) -> float:
    return float(np.concatenate([r[key] for r in rows]).mean())


def summary_rows(base: dict, results: list[dict], targets: list[str], judge: bool) -> list[str]:
    """The overall table: identity, then each run, averaged over the ``targets`` (all but the photo's own)."""
    b = [base[s] for s in targets]
    lines = [f"| identity (the photo) | {_overall(b, 'ssim'):.3f} | {_overall(b, 'chi2'):.3f} | - | "
             + (f"{100 * _overall(b, 'hit'):.1f}% | " if judge else "") + "- | - |"]
    for r in results:
        rows = [r["per_style"][s] for s in targets]
        closer = np.concatenate([r["per_style"][s]["ssim"] > base[s]["ssim"] for s in targets]).mean()
        closer_c = np.concatenate([r["per_style"][s]["chi2"] < base[s]["chi2"] for s in targets]).mean()
        ev = r["run_metrics"].get("evaluation") or {}  # a run trained without --judge has none
        own = ev.get("methods", {}).get("stylizer", {})
        own_txt = (f"{100 * own['hit_rate']:.1f}% at SSIM {own['ssim']:.3f} "
                   f"(judge {100 * ev['judge_accuracy_on_inputs']:.1f}%)" if own else "-")
        lines.append(f"| stylizer, {r['style_source']} (`{Path(r['run']).name}`, {r['weights']} weights) | "
                     f"{_overall(rows, 'ssim'):.3f} | "
                     f"{_overall(rows, 'chi2'):.3f} | {100 * closer:.0f}% / {100 * closer_c:.0f}% | "
                     + (f"{100 * _overall(rows, 'hit'):.1f}% | " if judge else "") + f"{own_txt} | "
                     f"{_training(r)} |")
    return lines


def _training(r: dict) -> str:
    tr = r["run_metrics"].get("training", {})
    return (f"{tr.get('epochs_run', '?')} epochs, {tr.get('train_seconds', 0):.0f} s" if tr else "-")


def write_doc(args, bench_path: Path, styles: list[str], base: dict, results: list[dict], n: int) -> str:
    judge = bool(args.judge)
    targets = [s for s in styles if s != "Photo"]
    per = []
    for metric in ("ssim", "chi2") + (("hit",) if judge else ()):
        per += per_style_table(metric, base, results, targets + ["Photo"])
    runs = " ".join(f"--run {r}" for r in args.run)
    command = (f"python benchmarks/stylize_truth.py {runs} --weights {args.weights} --data {args.data} "
               + (f"--threads {args.threads} " if args.threads else "")
               + f"--tiles {args.tiles} --seed {args.seed}"
               + (f" --judge {args.judge} --judge-view {args.judge_view}" if judge else "")
               + (f" --gallery {args.gallery}" if args.gallery else "")
               + (" --doc" if args.doc else "")
               + (f" --section {args.section}" if args.section != "stylize-truth" else ""))
    body = "\n".join([
        "#### The real-image benchmark: distance to the true rendering (issue 12)",
        "",
        f"{n} distinct test boxes of `{args.data}` (seed {args.seed}), each rendered by every stylizer in the "
        f"{len(targets)} styles other than the unaltered photo, and by the benchmark's own filters "
        "(`benchmarks/real_styles.py`'s `renderers()` on the same box of the same photo): the ground truth. The "
        "content input is the box of the unaltered photo, so **the identity baseline is the photo itself**. "
        f"Colour chi2: the chi-square distance of the joint RGB histograms ({HIST_BINS}x{HIST_BINS}x{HIST_BINS} "
        "bins; 0 = same colours, 1 = disjoint). *Closer than the identity*: the share of (box, style) pairs where "
        "the stylizer's SSIM is higher / its colour distance lower than the photo's. The judge's hit rate is on "
        "the target style" + (f" (judge: `{args.judge}`, view: {args.judge_view})" if judge else "") + "; *the run's own evaluation* is "
        "`stylize train`'s, on the benchmark's mismatched test tiles (the content there is already rendered in "
        f"another style). Means over the {len(targets)} target styles; load average {os.getloadavg()[0]:.1f} "
        "while this ran.",
        "",
        "| method | SSIM to the truth | colour chi2 to the truth | closer than the identity (SSIM / colour) | "
        + ("judge hit rate | " if judge else "") + "the run's own evaluation: hit rate | training |",
        "|---|---|---|---|---|" + ("---|" if judge else "") + "---|",
        *summary_rows(base, results, targets, judge),
        "",
        *per,
        f"Produced by: `{command}` ({machine()}); the runs: "
        + "; ".join(f"`{c}`" for c in dict.fromkeys(r["command"] for r in results)),
    ])
    if args.gallery:
        body += (f"\n\n![scikit-image's photos in every style of `{Path(results[0]['run']).name}` "
                 f"({args.weights.split(',')[-1].strip()} weights)]"
                 f"({os.path.relpath(REPO / args.gallery, RESULTS.parent)})")
    if args.doc:
        update_section(args.section, body, doc=RESULTS)
    return body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True, help="a stylize run (repeat to compare runs)")
    ap.add_argument("--data", default=".cache/real_styles_v2", help="the benchmark's root (with benchmark.json)")
    ap.add_argument("--photos", type=Path, default=REPO / ".cache" / "real_styles",
                    help="where real_styles.py unpacked the photos (its --cache)")
    ap.add_argument("--tiles", type=int, default=60, help="distinct test boxes to render (default: 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default="best", help="comma-separated checkpoints of each run: best, last or both")
    ap.add_argument("--judge", default="", help="a classify run: its hit rate on the target style")
    ap.add_argument("--judge-view", default="recipe", choices=("recipe", "network"),
                    help="how the judge reads a picture (artstyle.stylize.judging; network: before issue 12's 20th "
                         "session)")
    ap.add_argument("--gallery", default="", help="write the scikit-image gallery of the first run to this PNG")
    ap.add_argument("--doc", action="store_true", help="write docs/results.md's --section block")
    ap.add_argument("--section", default="stylize-truth",
                    help="the marked block of docs/results.md that --doc replaces (default: stylize-truth; a new "
                         "name is appended at the end of the file unless its markers are placed first)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    bench_path = Path(args.data) / "benchmark.json"
    if not bench_path.is_file():
        sys.exit(f"error: {bench_path} is missing; build the benchmark with benchmarks/real_styles.py or pass --data")
    bench = json.loads(bench_path.read_text())
    styles = [s["name"] for s in bench["styles"]]
    t0 = time.time()
    from artstyle.stylize import load_stylizer

    size = load_stylizer(args.run[0])[1]["size"]
    tiles = pick_tiles(bench, args.tiles, args.seed)
    content, truth, again = ground_truth(bench, tiles, styles, size, args.photos, args.seed)
    print(f"ground truth: {truth.shape} in {time.time() - t0:.0f} s", flush=True)
    judge = None
    if args.judge:
        from artstyle.stylize import load_judge

        judge = load_judge(args.judge, args.judge_view)  # as stylize evaluate reads it
    base = baselines(content, truth, again, styles, judge)
    weights = [w.strip() for w in args.weights.split(",") if w.strip()]
    results = [score_run(run, w, content, truth, styles, judge) for run in args.run for w in weights]
    if args.gallery:
        print(f"gallery: {make_gallery(args.run[0], weights[-1], REPO / args.gallery)}", flush=True)
    print(write_doc(args, bench_path, styles, base, results, len(tiles)))
    print(f"done in {time.time() - t0:.0f} s; {shlex.join(sys.argv)}")


if __name__ == "__main__":
    main()
