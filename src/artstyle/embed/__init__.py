"""Compressed representations of paintings: a from-scratch autoencoder, a PCA baseline, embeddings export.

Usage::

    from artstyle.embed import EmbedTrainConfig, export_embeddings, load_autoencoder, train_autoencoder

    run = train_autoencoder(EmbedTrainConfig(data="builtin", size=64, latent_dim=256, epochs=20))
    model, info = load_autoencoder(run)                  # needs only the run directory
    export_embeddings("builtin", "ae", run=run)          # -> RUN/embeddings-ae.npz (artstyle.embeddings format)

Submodules by role: ``config`` (EmbedTrainConfig, torch-free), ``task`` (losses, the engine's task),
``measure`` (reconstructions, PCA baseline, their scores), ``train`` (train_autoencoder, load_autoencoder),
``embedders`` (the export kinds), ``export`` (export_embeddings). Pictures are in ``artstyle.figures.embed``.

Importing this package does not import torch: the names below that need it load their submodule on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from artstyle.embed.config import LOSSES, EmbedTrainConfig

_LAZY = {
    "AutoencoderTask": "task", "image_scores": "task", "reconstruction_loss": "task",
    "fit_pca": "measure", "pca_metrics": "measure", "reconstruct": "measure", "reconstruction_metrics": "measure",
    "load_autoencoder": "train", "train_autoencoder": "train",
    "EMBEDDERS": "embedders", "Embedder": "embedders", "color_histogram": "embedders", "thumbnails": "embedders",
    "export_embeddings": "export",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value  # later look-ups (and monkeypatching) see a plain module attribute
    return value


__all__ = ["EmbedTrainConfig", "LOSSES", *_LAZY]
