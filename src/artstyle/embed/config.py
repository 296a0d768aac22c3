"""The ``artstyle embed train`` settings, importable without torch (the CLI builds ``--help`` from them).

Usage: ``train_autoencoder(EmbedTrainConfig(data="builtin", size=64, latent_dim=256, epochs=20))``.

Defaults and why:

- ``size=64``: a 64 px autoencoder trains about 4x faster than at the classifier's 128 px, and what the
  cluster question is about (palette, composition, coarse texture) survives at 64 px; fine brushwork does
  not, so train at 128 when that matters and a GPU is at hand.
- ``arch="grid"``: the patch-PCA codec plus a non-linear path that works at the latent grid (issue 17): its
  training improves on the PCA start within CPU minutes, where ``spatial``'s did not move it (docs/results.md
  section 6); the dense-bottleneck ``conv`` lost to PCA by 4-5 dB in every budget we tried.
- ``latent_dim=256``: 48x compression of a 64x64x3 image: enough for layout and colour, small enough that
  clustering, t-SNE and UMAP stay fast, and the same order as the classifier's penultimate layer, so the
  ``ae`` and ``classifier`` embeddings can be compared at a similar dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

from artstyle.config import opt
from artstyle.constants import DATA_HELP
from artstyle.settings import TrainSettings

LOSSES = ("mse", "l1", "l1+ssim", "psnr")
ARCHS = ("grid", "grid-fine", "spatial", "conv")
GRID_ARCHS = ("grid", "grid-fine")
"""The architectures that take ``--blocks`` (and that ``stylize --init-from`` can start from)."""


@dataclass
class EmbedTrainConfig(TrainSettings):
    """Settings of ``artstyle embed train`` (one CLI option per field, plus the engine's TrainSettings)."""

    data: str = opt("builtin", DATA_HELP)
    label_column: str = opt("style", "Label column for Hugging Face sources (only used for figures and exports).")
    size: int = opt(64, "Image size in pixels, a multiple of 16 (compute grows with its square).")
    arch: str = opt("grid", "Autoencoder architecture: grid (patch PCA plus a non-linear path at the latent grid; "
                            "latent = a small k x g x g map, trains on crops), grid-fine (grid plus a second "
                            "decoder path that upsamples the grid features twice, for detail finer than its "
                            "patches; the full profile's), spatial (the same PCA start with a "
                            "full-resolution non-linear path, the older model, slow to learn) or conv (dense vector "
                            "bottleneck, the oldest).", choices=ARCHS)
    blocks: int = opt(2, "Residual blocks at the latent grid on each side, encoder and decoder (grid and grid-fine "
                         "only; compute grows about linearly with it, with --width squared).")
    latent_dim: int = opt(256, "Latent vector size (256 is 48x compression of a 64 px image).")
    width: int = opt(32, "Base channel width of the autoencoder (compute grows with its square). Wider is better "
                         "when time allows (the full profile uses 96 at --lr 1e-3); from about 96, lower --lr to "
                         "1e-3 (at 2e-3 a "
                         "width-96 grid-fine diverged within 5 epochs).")
    loss: str = opt("mse", "Reconstruction loss: mse, l1, l1+ssim (0.84 (1-SSIM) + 0.16 L1) or psnr "
                                "(minus each image's PSNR, averaged: what the validation score averages).", choices=LOSSES)
    augment: bool = opt(True, "Random horizontal flips during training.")
    shift: int = opt(0, "Shift each training image by a random 0 to this many px in each direction, the uncovered "
                        "border filled with its mirror image (0 = off): the patches fall on new grid positions every "
                        "epoch. On 10% of the built-in set it cut the gap between training and validation PSNR from "
                        "2.1 to 0.4 dB but raised validation PSNR by only 0.1 dB (docs/results.md section 6).")
    train_crop: int = opt(0, "Train on random crops of this many px of the --size images (0 = whole images; grid, "
                             "grid-fine and spatial only, a multiple of its stride): cheaper steps, more varied "
                             "patches; evaluation stays on whole images.")
    refine_steps: int = opt(0, "Also score the best checkpoint with refined latents: each validation image's code "
                               "improved by this many Adam steps on its PSNR through the frozen decoder (0 = off; the "
                               "full profile uses 50). Same latent size, about N times slower encoding; 50 steps "
                               "gained 0.5 to 1.0 dB on the built-in set and on real photos (docs/results.md "
                               "section 6). Runs after training, outside --time-budget; its step size was tuned "
                               "for grid and grid-fine.")
    pca_samples: int = opt(0, "Training images the PCA baseline and the patch-PCA start of grid, grid-fine and "
                           "spatial are fitted on: 0 = all of them (up to 1 GiB of pixels: 21,845 images at 64 px), or a random subsample "
                           "of this many (faster, but a PCA fitted on fewer images is a weaker baseline).")
    patience: int = opt(3, "Early stopping: epochs without a val PSNR improvement (0 = off).")
    weight_decay: float = opt(1e-4, "AdamW weight decay (small: an autoencoder should not be pulled to zero).")
    name: str = opt("", "Run name (default: <arch>-d<latent_dim>).")
    out: str = opt("", "Explicit run directory (default: runs/embed/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to be an existing, non-empty directory.")
    resume: str = opt("", "Continue the run in this directory exactly where its last checkpoint left off.")
    cache: str = opt("", "Use this prepared cache directory instead of preparing --data.")


__all__ = ["ARCHS", "EmbedTrainConfig", "GRID_ARCHS", "LOSSES"]
