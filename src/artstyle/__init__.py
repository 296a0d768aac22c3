"""artstyle: model paintings by art style (classify, autoencode and cluster, stylize, LoRA, report).

Usage: ``artstyle --help`` on the command line, or from Python::

    import artstyle
    studio = artstyle.load("runs/pipeline/<ts>-demo")      # the runs, loaded for inference
    studio.predict("photo.jpg")["top"]

or import the stage functions, e.g. ``from artstyle.classify import train_classifier``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # artstyle.load is the API's; imported on first use so that `import artstyle` (and the CLI) stays light.
    if name in ("load", "Studio"):
        import artstyle.api

        return getattr(artstyle.api, name)
    raise AttributeError(f"module 'artstyle' has no attribute {name!r}")


__all__ = ["load", "Studio", "__version__"]
