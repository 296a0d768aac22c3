"""The public Python API: load runs, classify an image, re-render it, embed it, find its neighbours.

Usage::

    import artstyle

    studio = artstyle.load("runs/pipeline/<ts>-demo")     # load() alone: the newest pipeline
    studio.predict("photo.jpg")["top"]                    # [{"style": "Ukiyo_e", "probability": 0.41}, ...]
    studio.render("photo.jpg", ["Baroque"], strength=0.8)["renders"][0]   # uint8 (S, S, 3)
    studio.neighbours("photo.jpg", k=8)                   # nearest training images, classifier features
    studio.embed("photo.jpg")                             # (D,) classifier feature vector

``artstyle serve`` is a thin web layer over this; ``artstyle classify predict`` and ``artstyle stylize render``
go through ``predict_files`` and ``render_files``.
Modules: ``images`` (every input through the cache's decoder), ``classifier``, ``stylizer``, ``gallery``
(neighbours and style maps), ``painter`` (LoRA), ``studio`` (``load``).
Importing this package does not import torch; the models load on first use.
"""

from artstyle.api.classifier import Classifier, predict_files
from artstyle.api.gallery import Gallery, style_map
from artstyle.api.images import UnusableImage, decode
from artstyle.api.painter import Painter
from artstyle.figures.overlay import vote_heat, vote_overlay
from artstyle.api.studio import MAKES, Studio, load, newest_pipeline
from artstyle.api.stylizer import Stylizer, render_files

__all__ = ["Classifier", "Gallery", "MAKES", "Painter", "Studio", "Stylizer", "UnusableImage", "decode", "load",
           "newest_pipeline", "predict_files", "render_files", "style_map", "vote_heat", "vote_overlay"]
