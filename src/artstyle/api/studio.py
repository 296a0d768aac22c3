"""``artstyle.load``: the runs of one pipeline (or several stage runs) loaded for inference, behind one object.

Usage::

    import artstyle
    studio = artstyle.load("runs/pipeline/<ts>-demo")     # or load() for the newest pipeline, or stage runs
    studio.predict("photo.jpg")["top"]                    # top-5 styles, as `artstyle classify predict`
    studio.render("photo.jpg", ["Ukiyo-e"], strength=0.7)["renders"]
    studio.neighbours("photo.jpg", k=8)                   # training images nearest in the classifier's space
    studio.missing()                                      # {"stylize": "artstyle stylize train ...", ...}

Runs are found as the report finds them (``report.find_runs``); each model loads on first use and is then
kept, so a server answers every request from memory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from artstyle.api.classifier import Classifier
from artstyle.api.gallery import Gallery, map_method, style_map
from artstyle.api.images import ImageLike
from artstyle.api.painter import Painter
from artstyle.api.stylizer import Stylizer
from artstyle.errors import ArtstyleError

# What each part of the API needs, and the command that makes it.
MAKES = {
    "classify": "artstyle classify train --data DATA",
    "stylize": "artstyle stylize train --data DATA --classifier CLASSIFY_RUN",
    "embeddings": "artstyle embed export --data DATA --kind classifier --run CLASSIFY_RUN",
    "lora": "artstyle lora train --pretrained BASE_MODEL --data DATA",
    "report": "artstyle report RUN... (or artstyle run, which writes it into the pipeline directory)",
}


def newest_pipeline(root: str | Path | None = None) -> Path:
    """The newest ``<runs>/pipeline/<timestamp>-<profile>/`` that has a ``pipeline.json``."""
    base = Path(root if root is not None else os.environ.get("ARTSTYLE_RUNS", "runs")) / "pipeline"
    found = sorted(p for p in base.glob("*") if (p / "pipeline.json").is_file()) if base.is_dir() else []
    if not found:
        raise ArtstyleError(f"no pipeline under {base}/: run `artstyle run` first, or give run directories")
    return found[-1]


class Studio:
    """Inference over a set of runs: classify, re-render, embed, neighbours, style map, LoRA painting."""

    def __init__(self, runs: Sequence[str | Path], device: str | None = None) -> None:
        from artstyle.report import find_runs

        self.found = find_runs(list(runs))
        self.device = device
        self.embeddings: list[Path] = list(dict.fromkeys(Path(p) for p in self.found.embeddings))
        self.report: Path | None = None
        if self.found.pipeline is not None and (self.found.pipeline / "report.html").is_file():
            self.report = self.found.pipeline / "report.html"
        self._cache: dict[str, Any] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------ what is there

    def available(self) -> dict[str, bool]:
        """Which parts the given runs support: classify, stylize, embeddings, lora, report."""
        f = self.found
        return {"classify": f.classify is not None, "stylize": f.stylize is not None,
                "embeddings": bool(self.embeddings), "lora": bool(f.lora), "report": self.report is not None}

    def missing(self) -> dict[str, str]:
        """``{part: the command that makes the run it needs}`` for every part the runs do not support."""
        return {part: MAKES[part] for part, ok in self.available().items() if not ok}

    def _need(self, part: str) -> None:
        if not self.available()[part]:
            raise ArtstyleError(f"no {part} run among the given runs; make one with `{MAKES[part]}`")

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        # what is loaded is returned without the lock: a long first computation (a UMAP style map) must not hold
        # up the requests that only need a model that is already there
        if key in self._cache:
            return self._cache[key]
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    @property
    def classifier(self) -> Classifier:
        """The classify run, loaded."""
        self._need("classify")
        return self._once("classifier", lambda: Classifier(self.found.classify, self.device))

    @property
    def stylizer(self) -> Stylizer:
        """The stylize run, loaded."""
        self._need("stylize")
        return self._once("stylizer", lambda: Stylizer(self.found.stylize, self.device))

    @property
    def painter(self) -> Painter:
        """The newest LoRA run (its base model loads on the first painting)."""
        self._need("lora")
        return self._once("painter", lambda: Painter(self.found.lora[-1], self.device))

    @property
    def gallery(self) -> Gallery | None:
        """The classifier's training images in its feature space: a classifier embeddings file of the same
        size, else its recorded training cache; None when neither exists."""
        def make() -> Gallery | None:
            dim = self.classifier.features(np.zeros((1, self.classifier.cache_size, self.classifier.cache_size, 3),
                                                    np.uint8)).shape[1]
            for path in self.embeddings:
                gallery = Gallery.from_embeddings(path, dim)
                if gallery is not None:
                    return gallery
            return Gallery.from_cache(self.classifier)
        return self._once("gallery", make)

    @property
    def styles(self) -> list[str]:
        """The classifier's styles (else the stylizer's)."""
        return self.classifier.classes if self.found.classify else self.stylizer.classes

    # ------------------------------------------------------------ what it does

    def predict(self, image: ImageLike, topk: int = 5, tta: int = 0) -> dict[str, Any]:
        """Top-``topk`` styles with probabilities from the run's crop grid (see :meth:`Classifier.predict`)."""
        return self.classifier.predict(image, topk, tta)

    def render(self, image: ImageLike, styles: Sequence[str] | str | None = "all", strength: float = 1.0
               ) -> dict[str, Any]:
        """``image`` re-rendered in ``styles`` (see :meth:`Stylizer.render`); the classifier, when there is
        one, says what the image's own style is for strengths below 1."""
        own = None
        if strength < 1.0 and self.available()["classify"] and self.stylizer.model.style_source == "learned":
            own = self.predict(image)["probabilities"]
        return self.stylizer.render(image, styles, strength, own)

    def embed(self, image: ImageLike) -> np.ndarray:
        """The classifier's feature vector ``(D,)`` of ``image``."""
        return self.classifier.embed(image)

    def neighbours(self, image: ImageLike | np.ndarray, k: int = 8) -> list[dict[str, Any]]:
        """The ``k`` training images nearest to ``image`` (or to a feature vector) in the classifier's space:
        ``[{"style", "path", "similarity", "thumb"}]``; an ArtstyleError when no training images are at hand."""
        gallery = self.gallery
        if gallery is None:
            raise ArtstyleError(f"no training images to search: neither a classifier embeddings file nor the "
                                f"classifier's cache is at hand; make one with `{MAKES['embeddings']}`")
        is_vector = isinstance(image, np.ndarray) and image.ndim == 1
        return gallery.nearest(image if is_vector else self.embed(image), k)

    def style_map(self, embeddings: str | Path | None = None, method: str = "auto") -> dict[str, Any]:
        """The 2-D map of an embeddings file (default: the first given) coloured by style; computed once each."""
        self._need("embeddings")
        path = Path(embeddings) if embeddings is not None else self.embeddings[0]
        if path not in self.embeddings:
            raise ArtstyleError(f"{path} is not one of the loaded embeddings files: "
                                f"{', '.join(str(p) for p in self.embeddings)}")
        name = map_method(method)
        return self._once(f"map:{path}:{name}", lambda: style_map(path, name))

    def generate(self, style: str, template: str | None = None, n: int = 1, steps: int = 20, seed: int = 0,
                 guidance: float = 7.5, lora_scale: float = 1.0) -> np.ndarray:
        """``n`` images of ``style`` from the LoRA run, uint8 ``(n, S, S, 3)`` (see :meth:`Painter.paint`)."""
        return self.painter.paint(style, template, n, steps, guidance, seed, lora_scale)


def load(*runs: str | Path, device: str | None = None) -> Studio:
    """Load runs for inference: a pipeline directory, stage runs and embeddings files, or (none given) the newest
    pipeline under ``runs/pipeline/``. Models load on first use."""
    return Studio(list(runs) or [newest_pipeline()], device)


__all__ = ["MAKES", "Studio", "load", "newest_pipeline"]
