"""Where the real-image benchmark's photographs come from: Debian packages, scikit-image and scikit-learn.

``benchmarks/real_styles.py`` builds the benchmark from PACKAGES and SKIMAGE_PHOTOS (its train and test splits);
``--extra-train`` adds EXTRA_PACKAGES and SKLEARN_PHOTOS to its training split only, so that the test tiles stay
those of the plain benchmark. Every photo here was checked by eye: a photograph, not vector art, a render, a
painting or a logo. NO_PHOTOS lists packages checked and found without photos.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import unquote

from PIL import Image

Image.MAX_IMAGE_PIXELS = None
OCV = "usr/share/doc/opencv-doc/examples/"
KDE = "usr/share/wallpapers/{}/contents/images/*"
# package -> glob patterns, one per photograph (the largest file matching a pattern is used).
PACKAGES: dict[str, list[str]] = {
    "lomiri-wallpapers-16.04": [f"usr/share/backgrounds/{n}_by_*.jpg" for n in (
        "Bridge", "Dragonfly", "Picture_0B", "Picture_1A", "Wine", "aitzgorri", "analogpattern", "free",
        "friends", "greentock", "life", "picosdeeuropa", "seeding", "sunset")],
    "lomiri-wallpapers-20.04": ["usr/share/backgrounds/Kleiber_by_*.jpg"],
    "lxqt-themes": [f"usr/share/lxqt/wallpapers/{n}.*" for n in (
        "beam", "Butterfly-Kenneth-Wimer", "Valendas", "after-the-rain", "appleflower", "butterfly", "cloud",
        "drop", "flowers", "fog", "this-is-not-windows")],
    "mate-backgrounds": [f"usr/share/backgrounds/mate/nature/{n}.jpg" for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")],
    "plasma-workspace-wallpapers": [KDE.format(n) for n in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
        "OneStandsOut", "Path", "summer_1am")],
    "palapeli-data": [f"usr/share/palapeli/collection/{n}.jpg" for n in (
        "castle-maintenon", "cincinnati-bridge", "citrus-fruits", "european-honey-bee", "panther-chameleon-female")],
    "opencv-doc": [f"{OCV}data/{n}.jpg" for n in (
        "aero1", "aloeL", "apple", "baboon", "board", "building", "ela_original", "fruits", "home", "left",
        "leuvenA", "licenseplate_motion", "orange", "squirrel_cls", "stuff")]
    + [f"{OCV}text/scenetext0{i}.jpg" for i in range(1, 7)],
}
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle")
NO_PHOTOS = ["gnome-backgrounds", "sway-backgrounds", "debian-edu-artwork", "lomiri-wallpapers", "ukui-wallpapers",
             "xfdesktop4-data", "desktop-base"]  # checked by eye: vector art, renders, logos only

TUX = "usr/share/tuxpaint/templates/{}.jpg"
JXL = "usr/share/libjxl-testdata/"
EXTRA_PACKAGES: dict[str, list[str]] = {  # training photographs only (--extra-train), added in the eleventh session
    "tuxpaint-data": [TUX.format(n) for n in (
        "burnt_bark", "cliff", "corn_maze", "jellyfish", "lighthouse", "mossy_bark", "mossy_log", "mudstone",
        "ocean_splash", "ocean_waves", "redwoods_above", "rocks", "sheep", "spiders_web", "sun_behind_clouds",
        "sun_behind_leaves", "trees_above", "trees_at_dusk", "wool_mill_machine")],
    "libjxl-testdata": [f"{JXL}jxl/flower/flower.png", f"{JXL}jxl/hdr_room.png"]
    + [f"{JXL}external/wesaturate/500px/{n}_srgb8.png" for n in (
        "cvo9xd_keong_macan", "tmshre_riaphotographs", "u76c0g_bliznaca")],
}
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")  # sklearn.datasets.load_sample_image's two photographs


def unpack(deb: Path, root: Path, patterns: list[str]) -> None:
    """Like ``dpkg -x deb root``, but only for the files matching the photo patterns (opencv-doc is 300 MB)."""
    try:
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        sys.exit("error: dpkg-deb is missing; run this on Debian/Ubuntu (it unpacks the .deb files)")
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if member.isfile() and any(fnmatch.fnmatch(name, p) for p in patterns):
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(tar.extractfile(member).read())
    if proc.wait():
        sys.exit(f"error: dpkg-deb --fsys-tarfile {deb} failed: {proc.stderr.read().decode().strip()}")


def fetch_packages(cache: Path, packages: dict[str, list[str]]) -> tuple[list[dict], list[str]]:
    """Download (apt-get download, cached) and unpack the photos of each package; returns (found, missing)."""
    debs, found, missing = cache.resolve() / "debs", [], []
    debs.mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        have = sorted(debs.glob(f"{pkg}_*.deb"))
        if not have:
            try:
                r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
                err = r.stderr.strip().splitlines()[-1:] if r.returncode else []
            except FileNotFoundError:
                err = ["apt-get not found"]
            have = sorted(debs.glob(f"{pkg}_*.deb"))
            if not have:
                missing.append(pkg)
                print(f"  skip {pkg}: {' '.join(err) or 'no .deb downloaded'}")
                continue
        deb = have[-1]
        root = debs.parent / "src" / deb.stem
        marker, wanted = root / ".unpacked", "\n".join(packages[pkg])
        if not marker.exists() or marker.read_text() != wanted:  # unpack again when PACKAGES changes
            shutil.rmtree(root, ignore_errors=True)
            unpack(deb, root, packages[pkg])
            marker.write_text(wanted)
        found.append({"package": pkg, "version": unquote(deb.stem.split("_")[1]), "deb": deb.name, "root": root})
    if not found:
        sys.exit(f"error: apt-get download failed for every package ({', '.join(packages)}); run `apt-get update` "
                 f"with access to a Debian mirror, or copy the .deb files into {debs}")
    return found, missing


def list_photos(found: list[dict], packages: dict[str, list[str]], skimage_names=(), sklearn_names=()
                ) -> tuple[list[dict], list[dict]]:
    """One record per photograph: id, where to load it from, and its size; plus the patterns that matched nothing."""
    photos, absent = [], []
    for src in found:
        src["files"] = 0
        for pattern in packages[src["package"]]:
            matches = sorted(glob.glob(str(src["root"] / pattern)))
            if not matches:
                absent.append({"id": f"{src['package']}/{pattern}", "reason": "not in package"})
                continue
            sizes = []
            for m in matches:
                with Image.open(m) as im:
                    sizes.append(im.size)
            named = [Path(m).stem == "{}x{}".format(*sz) for m, sz in zip(matches, sizes)]  # KDE's copies
            best = max(range(len(matches)), key=lambda i: (sizes[i][0] * sizes[i][1], named[i], -i))
            rel = os.path.relpath(matches[best], src["root"])
            photos.append({"id": f"{src['package']}/{rel}", "path": matches[best], "size": list(sizes[best])})
            src["files"] += 1
    for name in skimage_names:
        import skimage.data
        a = getattr(skimage.data, name)()
        a = a[0] if isinstance(a, tuple) else a
        photos.append({"id": f"skimage/{name}", "skimage": name, "size": [a.shape[1], a.shape[0]]})
    for name in sklearn_names:
        import sklearn.datasets
        path = Path(sklearn.datasets.__file__).parent / "images" / name
        with Image.open(path) as im:
            photos.append({"id": f"scikit-learn/{name}", "path": str(path), "size": list(im.size)})
    return sorted(photos, key=lambda p: p["id"]), absent


def load_photo(photo: dict, max_side: int) -> Image.Image:
    """The photo as RGB, downscaled (never upscaled) so that its short side is at most max_side."""
    if "skimage" in photo:
        import skimage.data
        a = getattr(skimage.data, photo["skimage"])()
        im = Image.fromarray(a[0] if isinstance(a, tuple) else a)
    else:
        im = Image.open(photo["path"])
        im.draft("RGB", tuple(max(1, s * max_side // min(im.size)) for s in im.size))
    im = im.convert("RGB")
    scale = max_side / min(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    return im
