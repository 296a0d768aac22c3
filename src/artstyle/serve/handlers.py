"""What each button of the web app does: bytes in from the page, plain values out, errors as one readable line.

Usage::

    h = Handlers(artstyle.load(pipeline))
    label, overlay, note, neighbours, details = h.classify(upload_bytes)
    gallery, zip_path, details = h.rerender(upload_bytes, ["Baroque"], strength=0.8)

Uploads arrive as bytes (gradio's ``File(type="binary")``): the handlers never open a path the client names,
and every image goes through ``artstyle.api.images.decode`` (the cache's decoder and its guards). A user
mistake becomes ``gradio.Error`` with the message in the page; anything else becomes one line too, and the
traceback goes to the server's log only.
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import tempfile
import threading
import weakref
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from artstyle.figures.overlay import enlarge, vote_overlay
from artstyle.errors import ArtstyleError
from artstyle.figures.mapview import MapView
from artstyle.styles import display_name

log = logging.getLogger("artstyle.serve")
KEEP_DOWNLOADS = 20
"""Re-render zips kept in the server's temporary folder (older ones are deleted)."""
NO_UPLOAD = "Upload an image first."


def page_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every exception of ``fn`` into a ``gradio.Error`` whose message the page shows (never a traceback)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import gradio as gr

        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except ArtstyleError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:  # noqa: BLE001 - the page gets one line, the log the traceback
            log.exception("request failed")
            raise gr.Error(f"Something went wrong ({type(exc).__name__}); the server log has the details.",
                           print_exception=False) from None
    return wrapper


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


class Handlers:
    """The app's callbacks over one :class:`artstyle.api.Studio`."""

    def __init__(self, studio: Any, map_method: str = "auto") -> None:
        self.studio, self.map_method = studio, map_method
        self.downloads = Path(tempfile.mkdtemp(prefix="artstyle-serve-"))
        weakref.finalize(self, shutil.rmtree, self.downloads, True)  # the zips go when the app does
        self._views: dict[str, MapView] = {}
        self._lock = threading.Lock()  # the map views
        self._zip_lock = threading.Lock()  # the downloads folder (apart: a new map's UMAP must not hold up zips)

    @staticmethod
    def _upload(data: bytes | None) -> bytes:
        if not data:
            raise ArtstyleError(NO_UPLOAD)
        return bytes(data)

    # ------------------------------------------------------------ classify

    @page_errors
    def classify(self, upload: bytes | None) -> tuple[dict[str, float], np.ndarray, str, list, dict[str, Any]]:
        """``(top-5 {style: p}, vote overlay, its caption, neighbour gallery, details JSON)``."""
        pred = self.studio.predict(self._upload(upload), topk=5)
        top = pred["top"][0]["style"]
        label = {display_name(t["style"]): t["probability"] for t in pred["top"]}
        votes = sum(c["style"] == top for c in pred["crops"])
        caption = (f"**{display_name(top)}**: {votes} of {len(pred['crops'])} crops voted for it; brighter regions "
                   "gave it more probability." if len(pred["crops"]) > 1 else
                   f"**{display_name(top)}**: this run classifies the whole image as one crop, so the overlay is "
                   "uniform (runs trained with --cache-size above --size vote with a grid of crops).")
        if pred.get("picture"):  # --picture-stats: the whole picture's statistics vote beside the crops
            picture = pred["picture"]
            caption += (f" The whole picture's statistics voted for {display_name(picture['style'])} "
                        f"({picture['probability']:.0%}), counted at weight {picture['weight']:g} beside the crops.")
        gallery, near = [], []
        if self.studio.gallery is not None:  # the features of the image as decoded for the prediction
            near = self.studio.neighbours(self.studio.classifier.features(pred["image"][None])[0], k=8)
        for n in near:
            if n["thumb"] is not None:
                gallery.append((enlarge(n["thumb"], 96), f"{display_name(n['style'])} · {n['path']}"))
        # "file", not "path": gradio_client takes any dict with a "path" key for a file to download
        neighbours = [{"style": n["style"], "file": n["path"], "similarity": n["similarity"]} for n in near]
        details = {"top": pred["top"], "probabilities": pred["probabilities"], "crops": pred["crops"],
                   **({"picture": pred["picture"]} if pred.get("picture") else {}), "neighbours": neighbours}
        return label, enlarge(vote_overlay(pred), 256), caption, gallery, details

    # ------------------------------------------------------------ re-render

    @page_errors
    def rerender(self, upload: bytes | None, styles: Sequence[str] | None, strength: float
                 ) -> tuple[list, str, dict[str, Any]]:
        """``(gallery of (render, style), zip of the full-size PNGs, details)``; no style chosen means all."""
        chosen = [s for s in (styles or []) if s != "all"]
        result = self.studio.render(self._upload(upload), chosen or "all", float(strength))
        gallery = [(img, display_name(s)) for img, s in zip(result["renders"], result["styles"])]
        return gallery, str(self._zip(result)), {"styles": result["styles"], "strength": result["strength"],
                                                 "size": list(result["renders"].shape[1:3])}

    def _zip(self, result: dict[str, Any]) -> Path:
        """``renders-<n>.zip`` with the input, one PNG per style and the grid (oldest zips beyond KEEP removed)."""
        with self._zip_lock:
            old = sorted(self.downloads.glob("renders-*.zip"), key=lambda p: p.stat().st_mtime)
            for p in old[:max(0, len(old) - KEEP_DOWNLOADS + 1)]:
                p.unlink(missing_ok=True)
            fd, name = tempfile.mkstemp(prefix="renders-", suffix=".zip", dir=self.downloads)
        with open(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            zf.writestr("input.png", png_bytes(result["image"]))
            for img, style in zip(result["renders"], result["styles"]):
                zf.writestr(f"{style}.png", png_bytes(img))
            zf.writestr("grid.png", png_bytes(self.studio.stylizer.grid(result)))
        return Path(name)

    # ------------------------------------------------------------ style map

    def map_files(self) -> dict[str, str]:
        """``{label shown in the page: embeddings path}`` (the label is the file name and its folder)."""
        return {f"{p.parent.name}/{p.name}": str(p) for p in self.studio.embeddings}

    def view(self, choice: str) -> MapView:
        files = self.map_files()
        if choice not in files:
            raise ArtstyleError(f"choose one of the embeddings files: {', '.join(files)}")
        if choice in self._views:  # computed: no lock, so a click never waits for another file's first map
            return self._views[choice]
        with self._lock:
            if choice not in self._views:
                self._views[choice] = MapView(self.studio.style_map(files[choice], self.map_method))
            return self._views[choice]

    @page_errors
    def style_map(self, choice: str, styles: Sequence[str] | None) -> tuple[np.ndarray, str, dict[str, Any]]:
        """``(map picture, legend, points)`` for one embeddings file and a style filter (empty: all)."""
        view = self.view(choice)
        shown = np.flatnonzero(view.shown(styles))
        pts = view.points
        points = [{"x": float(pts["x"][i]), "y": float(pts["y"][i]), "style": pts["style"][i], "file": pts["path"][i]}
                  for i in shown]
        note = f"{pts['method'].upper()} of {len(pts['style'])} {pts['kind']} embeddings; click a point."
        return view.draw(styles), note + view.legend_html(styles), {"method": pts["method"], "points": points}

    @page_errors
    def pick(self, choice: str, styles: Sequence[str] | None, x: float, y: float
             ) -> tuple[np.ndarray, np.ndarray | None, str]:
        """The point nearest a click: ``(map with it ringed, its thumbnail, its style and file)``."""
        view = self.view(choice)
        i = view.at(x, y, styles)
        if i is None:
            return view.draw(styles), None, "No point there; click on a dot."
        thumbs = view.points["thumbs"]
        thumb = None if thumbs is None else enlarge(np.asarray(thumbs[i]), 160)
        text = f"**{display_name(view.points['style'][i])}**  \n`{view.points['path'][i]}`"
        return view.draw(styles, mark=i), thumb, text

    # ------------------------------------------------------------ generate

    @page_errors
    def generate(self, style: str, template: str, n: float, steps: float, seed: float) -> list:
        """``n`` LoRA paintings of ``style``, captioned with their prompt and seed."""
        if not style:
            raise ArtstyleError("Choose a style.")
        images = self.studio.generate(style, template or None, n=int(n), steps=int(steps), seed=int(seed))
        prompt = self.studio.painter.prompt(style, template or None)
        return [(img, f"{prompt} (seed {int(seed) + i})") for i, img in enumerate(images)]


__all__ = ["Handlers", "NO_UPLOAD", "page_errors"]
