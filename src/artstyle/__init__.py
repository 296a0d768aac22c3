"""artstyle: model paintings by art style (classify, autoencode and cluster, stylize, LoRA, report).

Usage: ``artstyle --help`` on the command line, or import the stage functions, e.g.
``from artstyle.classify import train_classifier``.
"""

__version__ = "0.1.0"
