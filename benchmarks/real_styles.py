"""Build a real-photo style benchmark: real photographs rendered through third-party filters, long-tailed like WikiArt.

Usage::

    python benchmarks/real_styles.py OUT [--cache DIR] [--seed 0] [--tile 256] [--ratio 30] [--test-per-class 25]
    python benchmarks/real_styles.py OUT --extra-train [SOURCE ...]     # OUT first: --extra-train takes what follows

Writes ``OUT/{train,test}/<Style>/*.jpg`` (JPEG quality 92) and ``OUT/benchmark.json``, then prints the counts.

Content: hand-checked photographs (no vector art, renders, paintings or logos) from the Debian packages in
``photo_sources.PACKAGES``, fetched with ``apt-get download`` into the cache (only the photo files are unpacked there,
nothing is installed system-wide), plus scikit-image's bundled colour photos. ``--extra-train [SOURCE ...]`` adds
photographs to the training split only (``photo_sources.EXTRA_PACKAGES`` and scikit-learn's two samples; 128 with
every source): same test tiles, same class sizes, a larger pool of training photographs for the tiles.

Each photo is downscaled (LANCZOS, never upscaled) to at most ``--max-side`` px on its short side and cut into
``--tile`` squares every ``--stride`` px (one centre square for photos smaller than a tile); near-flat tiles (sky,
bokeh) are dropped. Photos, not tiles, are split between train and test (``--test-fraction`` of the photos): the
splits share no photograph. Each style draws its own random sample of its split's tiles, so one tile may appear in
several styles and content does not predict style. Train is long-tailed (geometric class sizes in STYLES order,
largest/smallest ~ ``--ratio``, the largest ``--max-class``); test has ``--test-per-class`` images per style.
Every filter is set strong enough that its style can be told by eye in a 128 px crop at native scale.
Same seed + same photos -> same files.

Needs (pip): opencv-contrib-python-headless (cv2 with xphoto), scikit-image, pillow, numpy: `pip install -e ".[bench]"`.
Needs (system): apt-get and dpkg-deb (Debian/Ubuntu); apt-get is not needed when CACHE/debs holds the .deb files.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
import zlib
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from photo_sources import (EXTRA_PACKAGES, NO_PHOTOS, PACKAGES, SKIMAGE_PHOTOS, SKLEARN_PHOTOS, fetch_packages,
                           list_photos, load_photo)

Image.MAX_IMAGE_PIXELS = None
REPO = Path(__file__).resolve().parents[1]
JPEG_QUALITY = 92

def _cv(fn):
    """Wrap an OpenCV filter (BGR uint8 in and out) as a render(PIL RGB, rng) -> PIL RGB."""
    return lambda im, rng: Image.fromarray(fn(np.ascontiguousarray(np.asarray(im)[..., ::-1]))[..., ::-1])


def _pointillism(im, rng):
    a = np.asarray(im).astype(np.int16)
    h, w = a.shape[:2]
    canvas = im.filter(ImageFilter.GaussianBlur(3))
    draw = ImageDraw.Draw(canvas)
    n = h * w // 8
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    cols = np.clip(a[ys, xs] + rng.normal(0, 14, (n, 3)), 0, 255).astype(int)
    for y, x, c in zip(ys.tolist(), xs.tolist(), cols.tolist()):
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=tuple(c))
    return canvas


def _relief(im, rng):
    relief = np.asarray(im.convert("L").filter(ImageFilter.EMBOSS), dtype=np.int16) - 128
    return Image.fromarray(np.clip(np.asarray(im, dtype=np.int16) + 3 * relief[..., None], 0, 255).astype(np.uint8))


def _segments(im, rng):
    from skimage import color, segmentation
    a = np.asarray(im)
    labels = segmentation.felzenszwalb(a, scale=60, sigma=0.5, min_size=20)
    return Image.fromarray(color.label2rgb(labels, a, kind="avg", bg_label=-1).astype(np.uint8))


def _grain(im, rng):
    from skimage.util import random_noise
    noisy = random_noise(np.asarray(im), mode="gaussian", var=0.01, rng=int(rng.integers(2 ** 31)))
    return Image.fromarray((noisy * 255).round().astype(np.uint8))


STYLES = [  # (name, one-line description); train class sizes decay in this order
    ("Photo", "the photograph itself (downscaled tile, no filter)"),
    ("Oil_Painting", "cv2.xphoto.oilPainting(size 4, dynRatio 16): blobs of the local dominant colour"),
    ("Watercolour", "cv2.stylization(sigma_s 60, sigma_r 0.45): flat washes with darkened edges"),
    ("Detail_Enhance", "cv2.detailEnhance(sigma_s 10, sigma_r 0.15): exaggerated micro-contrast and grain"),
    ("Edge_Preserving", "cv2.edgePreservingFilter(recursive, 60, 0.4): texture smoothed away, edges kept"),
    ("Colour_Pencil", "cv2.pencilSketch colour output (60, 0.07, 0.1): pencil hatching over a pale tint"),
    ("Pointillism", "PIL ImageDraw.ellipse: dense 7 px dots of jittered local colour on a blurred ground"),
    ("Flat_Segments", "skimage felzenszwalb + label2rgb(avg): small flat patches of mean colour"),
    ("Posterize", "PIL ImageOps.posterize(2 bits): hard colour bands and contour lines"),
    ("Relief", "PIL EMBOSS of the luminance, three times its deviation added onto the colours: raised edges"),
    ("Dither", "PIL quantize(8 colours, Floyd-Steinberg): speckled dot patterns in smooth areas"),
    ("Film_Grain", "skimage random_noise(gaussian, var 0.01): per-pixel colour grain"),
]


def renderers() -> dict:
    """Style name -> render(PIL RGB tile, numpy Generator) -> PIL RGB, as described in STYLES."""
    import cv2
    return {
        "Photo": lambda im, rng: im,
        "Oil_Painting": _cv(lambda a: cv2.xphoto.oilPainting(a, 4, 16)),
        "Watercolour": _cv(lambda a: cv2.stylization(a, sigma_s=60, sigma_r=0.45)),
        "Detail_Enhance": _cv(lambda a: cv2.detailEnhance(a, sigma_s=10, sigma_r=0.15)),
        "Edge_Preserving": _cv(lambda a: cv2.edgePreservingFilter(a, flags=cv2.RECURS_FILTER, sigma_s=60, sigma_r=0.4)),
        "Colour_Pencil": _cv(lambda a: cv2.pencilSketch(a, sigma_s=60, sigma_r=0.07, shade_factor=0.1)[1]),
        "Pointillism": _pointillism,
        "Flat_Segments": _segments,
        "Posterize": lambda im, rng: ImageOps.posterize(im, 2),
        "Relief": _relief,
        # Known flaw, kept so that .cache/real_styles_v2 stays reproducible: with an adaptive (median-cut) palette
        # PIL ignores `dither`, so this is an 8-colour posterisation without speckle (docs/results.md, section 7,
        # eighth session). Dithering needs a second call: im.quantize(palette=<the median-cut result>, dither=...).
        "Dither": lambda im, rng: im.quantize(
            8, Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).convert("RGB"),
        "Film_Grain": _grain,
    }


def check_tools() -> dict:
    """Library versions; exits with one ``error:`` line naming the pip command when something is missing."""
    fix = "pip install opencv-contrib-python-headless scikit-image"
    try:
        import cv2
        import PIL
        import skimage
        import sklearn
    except ImportError as e:
        sys.exit(f"error: {e.name or e} is missing; run: {fix}")
    if not hasattr(cv2, "xphoto"):
        sys.exit(f"error: cv2 has no xphoto (not the contrib build); run: pip uninstall -y opencv-python-headless "
                 f"opencv-python && {fix}")
    return {"opencv": cv2.__version__, "scikit-image": skimage.__version__, "pillow": PIL.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def detail(tile: Image.Image) -> float:
    """Percent of pixels on an edge (Sobel magnitude > 40 on the blurred half-size grey tile): ~0 for sky or bokeh."""
    import cv2
    grey = cv2.GaussianBlur(np.asarray(tile.convert("L").reduce(2), dtype=np.float32), (0, 0), 1.0)
    magnitude = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return float((magnitude > 40).mean() * 100)


def survey(job: tuple) -> dict:
    """Worker: the tile boxes of one photo that pass the detail threshold."""
    photo, a = job
    im = load_photo(photo, a["max_side"])
    t = min(a["tile"], min(im.size))
    if t < a["min_side"]:
        return {**photo, "tiles": [], "skip": f"short side {min(im.size)} px < --min-side {a['min_side']}"}
    step = min(a["stride"] or t, t)
    nx, ny = (im.width - t) // step + 1, (im.height - t) // step + 1
    x0, y0 = (im.width - (nx - 1) * step - t) // 2, (im.height - (ny - 1) * step - t) // 2
    boxes = [(x0 + i * step, y0 + j * step, x0 + i * step + t, y0 + j * step + t) for j in range(ny) for i in range(nx)]
    keep = [b for b in boxes if detail(im.crop(b)) >= a["min_detail"]]
    return {**photo, "scaled": list(im.size), "tiles": keep, "skip": None if keep else "every tile is near-flat"}


def split_photos(photos: list[dict], fraction: float, rng) -> tuple[list[dict], list[dict]]:
    """Seeded photo-level split: a shuffled ``fraction`` of the photos (at least one) is test; the rest is train."""
    order = [photos[i] for i in rng.permutation(len(photos))]
    n_test = max(1, round(fraction * len(order)))
    return sorted(order[n_test:], key=lambda p: p["id"]), sorted(order[:n_test], key=lambda p: p["id"])


def long_tail(k: int, ratio: float, largest: int) -> list[int]:
    """Geometric class sizes from ``largest`` down to about largest / ratio."""
    return [max(1, round(largest * ratio ** (-i / (k - 1)))) for i in range(k)]


def deal(photos: list[dict], counts: list[int], names: list[str], rng) -> list[dict]:
    """Each style draws its count of tiles from the split's pool, without replacement and independently of the
    others, round-robin over the photos (so every photo is used and none dominates a style)."""
    out = []
    for name, count in zip(names, counts):
        queues = [[(p, p["tiles"][i]) for i in rng.permutation(len(p["tiles"]))] for p in photos]
        queues = [queues[i] for i in rng.permutation(len(queues))]
        picked = []
        while len(picked) < count and any(queues):
            for q in queues:
                if q and len(picked) < count:
                    picked.append(q.pop(0))
        out += [{"photo": p, "box": list(b), "style": name} for p, b in picked]
    return out


def render(job: tuple) -> list[dict]:
    """Worker: load one photo once and write each of its assigned tiles in its style."""
    photo, items, a = job
    import cv2
    cv2.setNumThreads(1)
    styles = renderers()
    im = load_photo(photo, a["max_side"])
    out = []
    for it in items:
        rng = np.random.default_rng([a["seed"], zlib.crc32(it["file"].encode())])
        styles[it["style"]](im.crop(tuple(it["box"])), rng).save(a["out"] / it["file"], quality=JPEG_QUALITY)
        out.append({"file": it["file"], "photo": photo["id"], "box": it["box"]})
    return out


def _slug(photo_id: str) -> str:
    """Short readable name of a photo for file names: 'Dragonfly', 'Path' (KDE's WxH.jpg -> its folder)."""
    parts = [Path(x).stem for x in photo_id.split("/")]
    return (parts[-4] if parts[-1].replace("x", "").isdigit() else parts[-1]).split("_by_")[0][:32]


def gather(args, packages: dict, skimage_names=(), sklearn_names=(), src: str = "src") -> dict:
    """Fetch and survey one set of photographs: the usable ones (with their tiles), the sources and what was skipped."""
    found, missing = fetch_packages(args.cache, packages, src)
    photos, absent = list_photos(found, packages, skimage_names, sklearn_names)
    opts = {"tile": args.tile, "stride": args.stride, "max_side": args.max_side, "min_side": args.min_side,
            "min_detail": args.min_detail}
    with Pool(args.workers) as pool:
        surveyed = pool.map(survey, [(p, opts) for p in photos], chunksize=1)
    return {"usable": [p for p in surveyed if p["tiles"]], "found": found, "missing": missing,
            "skipped": absent + [{"id": p["id"], "reason": p["skip"]} for p in surveyed if not p["tiles"]]}


def deal_splits(train: list[dict], test: list[dict], extra: list[dict], names: list[str], args, rng) -> tuple:
    """Per split, the (photo, box, style) items to render, and the per-style counts.

    With ``extra`` photographs (``--extra-train``) the training split is dealt again, from the training and the extra
    photographs, by a second random stream; the first stream still deals the plain training split first, so the
    test split gets exactly the tiles it gets without ``--extra-train``. The class sizes stay those of the plain
    benchmark: the extra photographs make each style's tiles more varied, not more numerous."""
    n_test = sum(len(p["tiles"]) for p in test)
    per_class = min(args.test_per_class, n_test)
    n_train = sum(len(p["tiles"]) for p in train)
    train_counts = long_tail(len(names), args.ratio, min(args.max_class, n_train))
    if per_class < 10 or train_counts[-1] < 2:
        sys.exit(f"error: too few tiles: {n_test} in test (10 needed), {n_train} in train (too few for ratio "
                 f"{args.ratio:g}); lower --tile, --stride, --ratio or --test-per-class, or raise --test-fraction")
    dealt = {"train": deal(train, train_counts, names, rng), "test": deal(test, [per_class] * len(names), names, rng)}
    if extra:
        dealt["train"] = deal(train + extra, train_counts, names, np.random.default_rng([args.seed, 1]))
    return dealt, {"train": dict(zip(names, train_counts)), "test": dict(zip(names, [per_class] * len(names)))}


def build(args) -> tuple[dict, dict]:
    """Fetch, survey, split, deal and render; returns (record for benchmark.json, per-split per-style counts)."""
    names = [n for n, _ in STYLES]
    base = gather(args, PACKAGES, SKIMAGE_PHOTOS)
    more, chosen = None, []
    if args.extra_train is not None:
        chosen = args.extra_train or [*EXTRA_PACKAGES, "scikit-learn"]
        more = gather(args, {k: v for k, v in EXTRA_PACKAGES.items() if k in chosen},
                      sklearn_names=SKLEARN_PHOTOS if "scikit-learn" in chosen else (), src="src-extra")
    rng = np.random.default_rng(args.seed)
    train, test = split_photos(base["usable"], args.test_fraction, rng)
    extra = [{**p, "extra": True} for p in more["usable"]] if more else []
    dealt, counts = deal_splits(train, test, extra, names, args, rng)
    jobs = {}
    for split, items in dealt.items():
        for i, it in enumerate(items):
            it["file"] = f"{split}/{it['style']}/{split}_{i:05d}_{_slug(it['photo']['id'])}.jpg"
            jobs.setdefault(it["photo"]["id"], (it["photo"], []))[1].append(it)
        for name in names:
            (args.out / split / name).mkdir(parents=True, exist_ok=True)
    a = {"seed": args.seed, "max_side": args.max_side, "out": args.out}
    with Pool(args.workers) as pool:
        written = sorted(sum(pool.map(render, [(p, its, a) for p, its in jobs.values()], chunksize=1), []),
                         key=lambda r: r["file"])
    sources = base["found"] + [{**s, "extra": True} for s in (more["found"] if more else [])]
    record = {
        "sources": {"packages": [{k: s[k] for k in ("package", "version", "deb", "files", "extra") if k in s}
                                 for s in sources],
                    "missing_packages": base["missing"] + (more["missing"] if more else []),
                    "checked_without_photos": NO_PHOTOS, "skimage_photos": list(SKIMAGE_PHOTOS),
                    "sklearn_photos": list(SKLEARN_PHOTOS) if "scikit-learn" in chosen else []},
        "photos": {split: [{"id": p["id"], "size": p["size"], "scaled": p["scaled"], "tiles": len(p["tiles"]),
                            **({"extra": True} if p.get("extra") else {})} for p in ph]
                   for split, ph in (("train", train + extra), ("test", test))},
        "skipped_photos": base["skipped"] + (more["skipped"] if more else []), "counts": counts, "images": written,
    }
    return record, counts


def summary(counts: dict, names: list[str]) -> str:
    lines = [f"{'style':<16} {'train':>6} {'test':>6}"]
    lines += [f"{n:<16} {counts['train'][n]:>6} {counts['test'][n]:>6}" for n in names]
    lines.append(f"{'total':<16} {sum(counts['train'].values()):>6} {sum(counts['test'].values()):>6}")
    ratios = {s: max(c.values()) / min(c.values()) for s, c in counts.items()}
    lines.append(f"imbalance (largest/smallest class): train {ratios['train']:.1f}x, test {ratios['test']:.1f}x")
    return "\n".join(lines)


def prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            sys.exit(f"error: {out} is not empty; pass --overwrite to replace its train/, test/ and benchmark.json")
        for name in ("train", "test"):
            shutil.rmtree(out / name, ignore_errors=True)
        (out / "benchmark.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="styles, largest train class first:\n" + "\n".join(f"  {n:<16} {d}" for n, d in STYLES))
    arg = ap.add_argument
    arg("out", type=Path, help="output folder (gets train/, test/ and benchmark.json)")
    arg("--cache", type=Path, default=REPO / ".cache" / "real_styles",
        help="where the .deb files are downloaded and unpacked (default: REPO/.cache/real_styles, git-ignored)")
    arg("--seed", type=int, default=0, help="seed of the photo split, the tile draw and the filters (default: 0)")
    arg("--tile", type=int, default=256, help="tile side in px (default: %(default)s)")
    arg("--stride", type=int, default=128, help="step between tiles in px; below --tile they overlap (default: 128)")
    arg("--max-side", type=int, default=1024, help="first downscale photos to this short side (default: %(default)s)")
    arg("--min-side", type=int, default=256, help="skip photos with a shorter short side (default: %(default)s)")
    arg("--min-detail", type=float, default=4.0, help="drop tiles with fewer %% edge pixels (default: %(default)s)")
    arg("--ratio", type=float, default=30, help="train size of the largest / smallest style (default: %(default)s)")
    arg("--max-class", type=int, default=600, help="train images of the largest style (default: %(default)s)")
    arg("--test-fraction", type=float, default=0.25, help="share of the photos kept for test (default: 0.25)")
    arg("--test-per-class", type=int, default=25,
        help="test images per style; lowered, to no less than 10, if the test photos run short (default: 25)")
    arg("--workers", type=int, default=os.cpu_count(), help="processes (default: all cores)")
    arg("--extra-train", nargs="*", metavar="SOURCE", choices=[*EXTRA_PACKAGES, "scikit-learn"],
        help="add photographs to the training split only, from these sources (no SOURCE: all of them, 128 photos): "
             f"{', '.join(EXTRA_PACKAGES)}, scikit-learn. The test tiles and the class sizes stay those of the plain "
             "benchmark with the same options (so the largest class is at most the plain training pool); the "
             "training tiles are drawn again from the larger pool of photographs")
    arg("--overwrite", action="store_true", help="replace train/, test/ and benchmark.json in a non-empty OUT")
    args = ap.parse_args()
    versions = check_tools()
    prepare_out(args.out, args.overwrite)
    t0 = time.time()
    record, counts = build(args)
    meta = {"command": shlex.join(["python", *sys.argv]), "seed": args.seed,
            "options": {k: v for k, v in vars(args).items() if k not in ("out", "cache", "overwrite", "workers")},
            "jpeg_quality": JPEG_QUALITY, "libraries": versions,
            "design": "photos split disjointly; each style samples its split's tiles independently; train "
                      "geometric long tail in STYLES order; test the same number per style"
                      + ("; extra photographs in train only, train dealt again from a second random stream, "
                         "test as without them" if args.extra_train is not None else ""),
            "styles": [{"name": n, "description": d, "train": counts["train"][n], "test": counts["test"][n]}
                       for n, d in STYLES]}
    (args.out / "benchmark.json").write_text(json.dumps({**meta, **record}, indent=1) + "\n")
    print(summary(counts, [n for n, _ in STYLES]))
    n_photos = {s: len(p) for s, p in record["photos"].items()}
    print(f"photos: {n_photos['train']} train, {n_photos['test']} test; wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
