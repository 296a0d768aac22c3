"""Names and values that several layers share, defined once. Imports nothing.

Usage: ``from artstyle.constants import IMAGE_EXTENSIONS, SYNTHETIC_MARKER, DATA_HELP``.
"""

from __future__ import annotations

# Files an image folder may hold; anything else is skipped and listed with the reason.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")

# The splits a prepared cache has (a source without val/test gets them carved, seeded and stratified).
SPLITS = ("train", "val", "test")
# The splits the built-in dataset writes to disk (val is carved from train like any image folder's).
SYNTH_SPLITS = ("train", "test")
# What `embed export --split` accepts.
EXPORT_SPLITS = ("all", *SPLITS)

# The file the built-in dataset writes last into its root; its presence marks a complete synthetic dataset.
SYNTHETIC_MARKER = "artstyle-synthetic.json"
# Printed on every figure, grid and report made from the built-in dataset.
SYNTHETIC_NOTE = "SYNTHETIC DATA: artstyle's built-in procedurally painted dataset, not WikiArt"

# How the resnet classifier pools its last feature map (models.classifier builds them).
CLASSIFIER_POOLS = ("avg", "gem", "cov")

# The help text of every --data option.
DATA_HELP = ("Dataset: 'builtin' (synthetic, default; 'builtin:0.1' for a tenth), an image-folder root "
             "(ROOT/{train,test}/<Style>/* or ROOT/<Style>/*), 'hf:<hub id>' such as hf:huggan/wikiart, a "
             "save_to_disk directory, or parquet files in the huggan/wikiart schema.")
