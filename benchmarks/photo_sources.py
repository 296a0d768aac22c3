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
import struct
import subprocess
import sys
import tarfile
import zlib
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
GC = "usr/share/gcompris-qt/rcc/"
EXTRA_PACKAGES: dict[str, list[str]] = {  # training photographs only (--extra-train), added in the eleventh session
    "tuxpaint-data": [TUX.format(n) for n in (
        "burnt_bark", "cliff", "corn_maze", "jellyfish", "lighthouse", "mossy_bark", "mossy_log", "mudstone",
        "ocean_splash", "ocean_waves", "redwoods_above", "rocks", "sheep", "spiders_web", "sun_behind_clouds",
        "sun_behind_leaves", "trees_above", "trees_at_dusk", "wool_mill_machine")],
    "libjxl-testdata": [f"{JXL}jxl/flower/flower.png", f"{JXL}jxl/hdr_room.png"]
    + [f"{JXL}external/wesaturate/500px/{n}_srgb8.png" for n in (
        "cvo9xd_keong_macan", "tmshre_riaphotographs", "u76c0g_bliznaca")],
    "opencv-doc": [f"{OCV}data/{n}" for n in ("butterfly.jpg", "chicky_512.png", "messi5.jpg")]
    + [f"{OCV}alphamat/input_images/plant.jpg"],
    # GCompris keeps its pictures inside Qt resource files; a pattern "<file>.rcc/<entry>" names one entry
    "gcompris-qt-data": [f"{GC}erase.rcc/gcompris/src/activities/erase/resource/{n}.webp" for n in (
        "alpaca", "bee", "butterfly", "calf", "camels", "caterpillar", "chamaeleon", "cheetah", "crab", "dolphin",
        "flying_fox", "gibbon", "giraffe", "goat", "gorilla", "gosling", "heron", "horse", "kingfisher", "kitten",
        "long_nosed_monkey", "macaque", "meerkats", "northern_harrier", "nubian_ibex", "penguin", "pika",
        "red_panda", "rhinoceros", "spoonbills", "squirrel", "swans", "toucan")]
    + [f"{GC}explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/{n}.webp"
       for n in ("chicken", "cow", "dog", "horse", "pig", "sheep")]
    + [f"{GC}explore_world_animals.rcc/gcompris/src/activities/explore_world_animals/resource/animals/{n}.webp"
       for n in ("bison", "chameleon", "crocodile", "dragon", "giraffe", "hedgehog", "jaguar", "kangaroo", "koala",
                 "lemur", "moose", "narwhal", "panda", "polar_bear")]
    + [f"{GC}explore_monuments.rcc/gcompris/src/activities/explore_monuments/resource/{n}.webp" for n in (
        "egypt/bentPyramid", "egypt/greatPyramidOfGiza", "egypt/meidumPyramid", "france/arlesAmphitheater",
        "france/chateaudeChambord", "france/chateaudeChenonceau", "france/citedeCarcassonne", "france/eiffelTower",
        "france/montStMichel", "france/palaisdesPapes", "france/pontduGard", "france/reimsCathedral",
        "france/rocamadour", "germany/aulaPalatina", "germany/berlinCathedral", "germany/brandenburgGate",
        "germany/neuschwansteinCastle", "germany/schwerinPalace", "germany/trierImperialBaths",
        "germany/wormsCathedral", "india/ajantaCave", "india/charminar", "india/gatewayofIndia", "india/goldenTemple",
        "india/greatStupa", "india/hawaMahal", "india/konarkSunTemple", "india/mysorePalace", "india/qutubMinar",
        "india/rangGhar", "usa/canyondeChelly", "usa/castillodeSanMarcos", "usa/fortSumter",
        "usa/georgeWashingtonBirthplace", "usa/lincolnMemorial", "usa/mountRushmore", "usa/navajo",
        "usa/statueofLiberty", "wonders/chichenItza", "wonders/christTheRedeemer", "wonders/colosseum",
        "wonders/greatWallofChina", "wonders/machuPicchu", "wonders/petra", "wonders/tajMahal")],  # not castleClinton: grey
}
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")  # sklearn.datasets.load_sample_image's two photographs


def rcc_entries(blob: bytes) -> dict[str, bytes]:
    """The files in a compiled Qt resource (``.rcc``, format versions 1-3): path -> bytes.

    Layout (qtbase's rcc.cpp): a 'qres' header with the offsets of the tree, the data and the names; tree nodes of
    14 bytes (22 from version 2) that are directories (child count, first child) or files (data offset); a file's
    data is its length then its bytes, zlib-compressed after a 4-byte size when the node's flag 1 is set.
    """
    if blob[:4] != b"qres":
        raise ValueError("not a Qt resource file (no 'qres' header)")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    size = 14 if version == 1 else 22
    out: dict[str, bytes] = {}

    def name(offset: int) -> str:
        n = struct.unpack(">H", blob[names + offset:names + offset + 2])[0]
        return blob[names + offset + 6:names + offset + 6 + 2 * n].decode("utf-16-be")

    def walk(node: int, prefix: str) -> None:
        at = tree + node * size
        name_offset, flags = struct.unpack(">IH", blob[at:at + 6])
        path = f"{prefix}/{name(name_offset)}" if node else ""
        if flags & 2:  # a directory
            count, first = struct.unpack(">II", blob[at + 6:at + 14])
            for child in range(first, first + count):
                walk(child, path)
        elif not flags & 4:  # flag 4: zstd-compressed (Qt 6), which no photo here uses
            offset = struct.unpack(">I", blob[at + 10:at + 14])[0]
            length = struct.unpack(">I", blob[data + offset:data + offset + 4])[0]
            body = blob[data + offset + 4:data + offset + 4 + length]
            out[path.lstrip("/")] = zlib.decompress(body[4:]) if flags & 1 else body

    walk(0, "")
    return out


def unpack(deb: Path, root: Path, patterns: list[str]) -> None:
    """Like ``dpkg -x deb root``, but only for the files matching the photo patterns (opencv-doc is 300 MB)."""
    try:
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        sys.exit("error: dpkg-deb is missing; run this on Debian/Ubuntu (it unpacks the .deb files)")
    resources = {p.split(".rcc/")[0] + ".rcc" for p in patterns if ".rcc/" in p}
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if member.isfile() and name in resources:  # a Qt resource: its matching entries, under <name>/
                for entry, body in rcc_entries(tar.extractfile(member).read()).items():
                    if any(fnmatch.fnmatch(f"{name}/{entry}", p) for p in patterns):
                        (root / name / entry).parent.mkdir(parents=True, exist_ok=True)
                        (root / name / entry).write_bytes(body)
            elif member.isfile() and any(fnmatch.fnmatch(name, p) for p in patterns):
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(tar.extractfile(member).read())
    if proc.wait():
        sys.exit(f"error: dpkg-deb --fsys-tarfile {deb} failed: {proc.stderr.read().decode().strip()}")


def fetch_packages(cache: Path, packages: dict[str, list[str]], src: str = "src") -> tuple[list[dict], list[str]]:
    """Download (apt-get download, cached) and unpack the photos of each package under ``cache/src``; returns
    (found, missing). Each set of packages needs its own ``src``: a package unpacked with other patterns is
    unpacked again, and the files of the first set removed."""
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
        root = debs.parent / src / deb.stem
        marker, wanted = root / ".unpacked", "\n".join(packages[pkg])
        if not marker.exists() or marker.read_text() != wanted:  # unpack again when PACKAGES changes
            shutil.rmtree(root, ignore_errors=True)
            unpack(deb, root, packages[pkg])
            marker.write_text(wanted)
        found.append({"package": pkg, "version": unquote(deb.stem.split("_")[1]), "deb": deb.name, "root": root})
    if packages and not found:
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
