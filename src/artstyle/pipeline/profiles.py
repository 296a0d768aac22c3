"""The pipeline's settings profiles: each stage's settings as a dict of its config fields.

Usage: ``PROFILES["tiny"]["classify"]`` -> ``{"width": 8, "epochs": 1, ...}``; ``artstyle run --profile tiny``.
``tiny`` is for tests, ``demo`` for ``make demo`` on 2 CPU cores, ``full`` for real use.
"""

from __future__ import annotations

from typing import Any

EMBEDDING_KINDS = ("ae", "ae-refined", "ae-style", "classifier", "pixels", "color-hist")

# ae-style (feature statistics over mirrored crops: 8 encoder passes per image) and ae-refined (10 decoder passes
# forward and back per image) only where the budget allows
_KINDS = [k for k in EMBEDDING_KINDS if k not in ("ae-style", "ae-refined")]

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    # For tests: ~300 images at 32 px, a few optimiser steps per stage; end to end in well under 2 minutes
    # on 2 CPU cores. The numbers mean nothing; every code path and every report section runs.
    "tiny": {
        "data": {"data": "builtin:0.02", "size": 32},
        "classify": {"width": 8, "epochs": 1, "max_steps_per_epoch": 3, "batch_size": 32, "workers": 0,
                     "per_class": 16},
        "judge": {"model": "simple-cnn", "width": 8, "seed": 1000, "epochs": 1, "max_steps_per_epoch": 3,
                  "batch_size": 32, "workers": 0},
        "strategies": {"strategies": ["none", "logit-adjust"], "seeds": 1, "max_steps_per_epoch": 2},
        "embed": {"latent_dim": 32, "width": 8, "epochs": 1, "max_steps_per_epoch": 3, "batch_size": 32,
                  "workers": 0, "pca_samples": 64, "patience": 0, "refine_steps": 2},
        "embeddings": {"kinds": _KINDS, "split": "all"},
        "cluster": {"methods": ["kmeans", "gmm"], "maps": ["pca"], "projector": False, "split": "all"},
        "stylize": {"width": 8, "blocks": 1, "epochs": 1, "max_steps_per_epoch": 3, "batch_size": 16,
                    "workers": 0, "eval_pairs": 54, "init_from": "embed"},
        "lora": {"resolution": 32, "max_steps": 2, "batch_size": 1, "gradient_accumulation": 1, "validate_every": 0,
                 "checkpoint_every": 0, "workers": 0, "validation_inference_steps": 2, "log_every": 1},
        "generate": {"n": 1, "steps": 2, "compare": True, "batch": 2},
    },
    # For `make demo`: at most 15 minutes and < 4 GB on 2 CPU cores. 64 px keeps palette and composition;
    # fixed-length epochs (max_steps_per_epoch) let each cosine schedule finish, and time_budget caps every
    # training stage when the machine is slower or busier than expected.
    "demo": {
        "data": {"data": "builtin:0.3", "size": 64},
        # resample: in runs this short it beat logit-adjust and none on balanced accuracy (the strategies stage
        # below measures it again every time).
        "classify": {"width": 16, "epochs": 10, "max_steps_per_epoch": 40, "batch_size": 64, "time_budget": 120,
                     "imbalance": "resample", "per_class": 100},
        "judge": {"model": "simple-cnn", "width": 16, "seed": 1000, "epochs": 8, "max_steps_per_epoch": 30,
                  "batch_size": 64, "time_budget": 60},
        "strategies": {"strategies": ["none", "resample", "crt"], "seeds": 1, "epochs": 4,
                       "max_steps_per_epoch": 25, "time_budget": 40},
        # refine_steps 10: the report shows what refined codes add; a few seconds on the demo's validation images
        "embed": {"width": 16, "latent_dim": 256, "epochs": 8, "max_steps_per_epoch": 30, "batch_size": 64,
                  "time_budget": 90, "patience": 0, "refine_steps": 10},
        "embeddings": {"kinds": _KINDS, "split": "all"},
        # Held-out images only: classifier features of training images would flatter the classifier kind.
        "cluster": {"split": "test", "projector": True},
        # The version-3 stylizer steps several times faster than the old one: more steps fit in the same 150 s.
        # init_from "embed": its first encoder stages start from the embed stage's grid autoencoder (same width, 16);
        # on the real-image benchmark that matched or beat a fresh start in 3 seeds (results.md 5, twenty-first session)
        "stylize": {"width": 16, "blocks": 2, "epochs": 5, "max_steps_per_epoch": 50, "batch_size": 32,
                    "time_budget": 150, "eval_pairs": 200, "init_from": "embed"},
        "lora": {"resolution": 256, "max_steps": 200, "validate_every": 100, "checkpoint_every": 100},
        "generate": {"n": 2, "steps": 20, "compare": True},
    },
    # For real use (a GPU, real WikiArt): 128 px, long training with early stopping, every strategy.
    "full": {
        "data": {"data": "builtin", "size": 128},
        "classify": {"epochs": 40, "patience": 6},
        "judge": {"model": "simple-cnn", "seed": 1000, "epochs": 30, "patience": 6},
        "strategies": {"strategies": ["none", "resample", "weighted-loss", "logit-adjust", "crt"], "seeds": 1,
                       "epochs": 20, "patience": 5},
        # loss psnr: the mean per-image PSNR that val scores; it passed mse on it after ~200 steps. grid-fine: +0.2 dB
        # (real images) and +0.4 dB (built-in) over grid at these 40 epochs, for about 1.15x the time. Width 96 (at
        # lr 1e-3; 2e-3 diverged there): +0.4 to +0.6 dB over 48 for about 4x the time (about 100 minutes on
        # 2 CPU cores for the built-in set; not yet measured on a GPU). refine_steps 50: the
        # validation codes refined through the decoder, +0.5 to +1.0 dB more (results.md 6,
        # fourteenth session)
        "embed": {"size": 64, "arch": "grid-fine", "width": 96, "lr": 1e-3, "epochs": 40, "patience": 5,
                  "loss": "psnr", "refine_steps": 50},
        "embeddings": {"kinds": list(EMBEDDING_KINDS), "split": "all"},
        "cluster": {"split": "test"},
        "stylize": {"epochs": 30, "patience": 5},
        "lora": {"resolution": 512, "max_steps": 3000, "validate_every": 500, "checkpoint_every": 500,
                 "gradient_checkpointing": True},
        "generate": {"n": 4, "steps": 30, "compare": True},
    },
}
PROFILE_NAMES = tuple(PROFILES)


__all__ = ["EMBEDDING_KINDS", "PROFILES", "PROFILE_NAMES"]
