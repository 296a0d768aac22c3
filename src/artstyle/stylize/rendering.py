"""Re-render image files in chosen training styles: one PNG per (image, style) and one captioned grid.

Usage::

    result = render("runs/stylize/<run>", ["photo.jpg", "folder/"], styles=["Ukiyo-e", "Pointillism"])
    result["grid"]          # <out>/grid.png: the input first, then one column per style
    resolve_styles("pop art,ukiyo-e", classes)                   # -> style indices, aliases allowed

The output folder (``RUN/renders/<timestamp>/`` or ``out``) gets a config.json with stage ``stylize-render``
and the ``artstyle stylize render`` line that reproduces it.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artstyle.data.decode import DecodeError, decode_image
from artstyle.data.sources import class_name
from artstyle.errors import ArtstyleError
from artstyle.figures import save_png
from artstyle.figures.grids import captioned_grid
from artstyle.inference import expand_images
from artstyle.runs import run_stage, write_config
from artstyle.styles import display_name
from artstyle.stylize.load import load_stylizer, stylize_image

RENDER_STAGE = "stylize-render"


def resolve_styles(names: Sequence[str] | str | None, classes: list[str]) -> list[int]:
    """Style indices for user-given names (``None``/``"all"``: every class). Aliases via canonical_style.

    Unknown names raise an :class:`ArtstyleError` listing the known styles.
    """
    if names is None or names == "all" or (not isinstance(names, str) and list(names) in ([], ["all"])):
        return list(range(len(classes)))
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]

    def key(n: str) -> str:  # case, spaces, hyphens and underscores do not matter
        return re.sub(r"[\s_-]+", "_", class_name(n.strip()).lower())

    lookup = {key(c): i for i, c in enumerate(classes)}
    out, unknown = [], []
    for n in names:
        i = lookup.get(key(n))
        if i is None:
            unknown.append(n)
        elif i not in out:
            out.append(i)
    if unknown:
        raise ArtstyleError(f"--styles: unknown style(s) {', '.join(repr(u) for u in unknown)}. Known styles: "
                            f"{', '.join(classes)} (or 'all')")
    return out


def _safe_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "image"


def _fresh_dir(parent: Path) -> Path:
    """A new ``parent/<yyyymmdd-hhmmss>[-n]/`` (two renders in one second do not share a folder)."""
    parent.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1, 10_000):
        path = parent / (stem if i == 1 else f"{stem}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ArtstyleError(f"could not create an output folder under {parent}; pass --out")


def _explicit_out(out: Path, run: Path, overwrite: bool, clear: bool = False) -> Path:
    """``--out`` checked before anything is rendered: new or empty, or ``overwrite``.

    With ``overwrite`` and ``clear`` an earlier render there is emptied (``runs.prepare_run_dir``'s rule); any
    other folder is written into but never emptied, and the run itself is never a render folder.
    """
    if out.resolve() == run.resolve() or out.resolve() in run.resolve().parents:
        raise ArtstyleError(f"--out {out} holds the stylize run itself; choose another folder")
    if out.exists() and not out.is_dir():
        raise ArtstyleError(f"--out {out} is a file; choose a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ArtstyleError(f"--out {out} is not empty; pass --overwrite to write into it or choose another --out")
        if clear and (out / "config.json").is_file() and _stage_of(out) == RENDER_STAGE:
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return out


def _stage_of(folder: Path) -> str | None:
    try:
        return run_stage(folder)[0]
    except ArtstyleError:  # unreadable config.json: not ours
        return None


def _render_command(run: Path, images: Sequence[str | Path], styles: list[str], all_styles: bool) -> str:
    """The ``artstyle stylize render`` line that renders the same files again.

    Without ``--out``, as every run's command (``config.command_line``): a rerun writes a new folder and never
    replaces this one.
    """
    words = ["artstyle", "stylize", "render", str(run)]
    for path in images:
        words += ["--images", str(path)]
    if not all_styles:
        words += ["--styles", ",".join(styles)]
    return shlex.join(words)


def _record_render(dest: Path, command: str, payload: dict[str, Any]) -> None:
    """Write ``dest/config.json``, but never over one that something else wrote (``--out`` may be any folder)."""
    if (dest / "config.json").exists() and _stage_of(dest) != RENDER_STAGE:
        return
    write_config(dest, RENDER_STAGE, command, payload)


MAX_ASPECT = 4.0
"""Rendering keeps a photo's aspect ratio up to this long/short side ratio (a longer panorama is squashed to it)."""


def decode_keep_aspect(data: bytes, size: int) -> np.ndarray:
    """Decode ``data`` to uint8 ``(h, w, 3)`` with its aspect ratio: the short side ``size`` px, as in training.

    Through the cache's ``decode_image`` (its safety limits, EXIF rotation): ``squash``-decoded at the long side,
    then resized to the true aspect ratio (read, EXIF orientation included, from the header).
    """
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # rotated by 90 degrees: decode_image transposes it
                w, h = h, w
    except Exception:  # noqa: BLE001 - unreadable: decode_image below says why, in its own words
        return decode_image(data, size, "center-crop")
    ratio = min(max(w, h) / max(1, min(w, h)), MAX_ASPECT)
    long_side = max(size, round(size * ratio))
    square = decode_image(data, long_side, "squash")
    if w == h:
        return square
    shape = (long_side, size) if w > h else (size, long_side)  # PIL's (width, height)
    return np.asarray(Image.fromarray(square).resize(shape, Image.Resampling.BICUBIC, reducing_gap=3.0))


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``(h, w, 3)`` fitted inside a white ``(size, size, 3)`` square (a grid cell)."""
    from PIL import Image

    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    scale = size / max(h, w)
    small = Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                          Image.Resampling.BICUBIC, reducing_gap=3.0)
    cell = Image.new("RGB", (size, size), (255, 255, 255))
    cell.paste(small, ((size - small.width) // 2, (size - small.height) // 2))
    return np.asarray(cell)


def _decode_inputs(paths: Sequence[Path], size: int) -> tuple[list[np.ndarray], list[str], list[dict]]:
    """Decoded uint8 ``(h, w, 3)`` images (short side ``size``, their own aspect ratio) and their stems, and
    ``{"path", "reason"}`` for each unreadable one."""
    decoded, stems, skipped = [], [], []
    for path in paths:
        try:
            decoded.append(decode_keep_aspect(Path(path).read_bytes(), size))
            stems.append(Path(path).stem)
        except (OSError, DecodeError) as exc:
            reason = str(exc) if isinstance(exc, DecodeError) else f"cannot read: {exc.strerror or exc}"
            skipped.append({"path": str(path), "reason": reason})
    return decoded, stems, skipped


def _save_singles(outputs: Sequence[np.ndarray], stems: list[str], names: list[str], dest: Path) -> list[Path]:
    """Save ``outputs[i]: (k, h_i, w_i, 3)`` as ``<stem>__<Style>.png``, one per (input, style)."""
    files, used = [], set()
    for i, stem in enumerate(stems):
        stem = _safe_stem(stem)
        unique, j = stem, 2
        while unique in used:  # two inputs with one name (from different folders) keep both results
            unique, j = f"{stem}-{j}", j + 1
        used.add(unique)
        for j, name in enumerate(names):
            files.append(save_png(outputs[i][j], dest / f"{unique}__{_safe_stem(name)}.png"))
    return files


def render(run: str | Path, images: Sequence[str | Path], styles: Sequence[str] | str | None = "all",
           out: str | Path | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Re-render each image in each style. Writes ``grid.png`` and ``<stem>__<Style>.png`` into ``out``.

    Each image renders at its own aspect ratio, its short side at the training size (``decode_keep_aspect``,
    ``stylize_image``), on the accelerator's device under the run's precision. The grid has one row per
    readable input: the input first, then one column per style, each fitted into a square cell.
    Returns ``{"out", "grid", "files", "skipped", "styles", "layout"}``; unreadable
    inputs are skipped and listed in ``skipped`` with the reason. An existing, non-empty ``out`` is refused
    unless ``overwrite`` (see ``_explicit_out``).
    """
    images = list(images)  # read twice: the inputs, then the command line that reproduces this render
    model, info = load_stylizer(run)
    if out:
        _explicit_out(Path(out), info["run"], overwrite)
    idx = resolve_styles(styles, info["classes"])
    names = [info["classes"][t] for t in idx]
    decoded, stems, skipped = _decode_inputs(expand_images(images), info["size"])
    if not decoded:
        raise ArtstyleError("--images: no readable image among the inputs ("
                            + "; ".join(f"{s['path']}: {s['reason']}" for s in skipped) + ")" if skipped
                            else "--images: no input images given")
    dest = _explicit_out(Path(out), info["run"], overwrite, clear=True) if out else _fresh_dir(info["run"] / "renders")
    dest.mkdir(parents=True, exist_ok=True)
    outputs = [stylize_image(model, image, np.asarray(idx), precision=info["precision"]) for image in decoded]
    files = _save_singles(outputs, stems, names, dest)
    size = info["size"]  # grid cells: each image and its renderings fitted into the training size
    cells = np.stack([[fit_square(im, size) for im in [image, *out]] for image, out in zip(decoded, outputs)])
    grid, layout = captioned_grid(cells, headers=["Original"] + [display_name(name) for name in names],
                                  synthetic=info["synthetic"])
    grid_path = save_png(grid, dest / "grid.png")
    _record_render(dest, _render_command(info["run"], images, names, idx == list(range(len(info["classes"])))),
                   {"run": str(info["run"]), "images": [str(p) for p in images], "styles": names,
                    "skipped": skipped})
    return {"out": dest, "grid": grid_path, "files": files, "skipped": skipped, "styles": names, "layout": layout}


__all__ = ["render", "resolve_styles", "expand_images", "fit_square"]
