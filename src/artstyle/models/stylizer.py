"""A style-conditioned encoder-decoder that re-renders an image in any of the training styles.

Usage::

    model = Stylizer(num_styles=27, style_source="learned", width=32, blocks=2)
    out = model(x, target)                       # x (N, 3, H, W) in [-1, 1], target (N,) style indices
    pair = model(x, target, own=labels)          # training: {"out", "recon", "code"} from one encoder pass

Architecture (H and W must be multiples of 4):

- encoder, no normalisation: 7x7 conv, two stride-2 convs, one residual block, a 3x3 conv giving
  ``z: (N, 4w, H/4, W/4)``. The *content* passed on is ``instance_norm(z)``; the *code* (the pooled latent)
  is ``z.mean((2, 3)): (N, 4w)``: exactly the per-channel statistics that the instance norm removed.
  The encoder has no normalisation layers of its own because they would remove those statistics before
  the pooling and make the code (nearly) constant.
- decoder, conditioned on a style vector at every stage through AdaIN: ``blocks`` residual blocks at
  H/4 with two AdaIN layers each, then two (nearest upsample, 3x3 conv, AdaIN, ReLU) stages and a 7x7 conv
  with tanh back to ``(N, 3, H, W)``.
- style vectors ``(K, 4w)``: either a learned ``nn.Embedding`` (``style_source="learned"``) or the mean
  code of each style's training images, kept in the buffer ``style_means`` so it is saved with the weights
  (``style_source="mean-latent"``). In mean-latent mode the reconstruction uses each image's *own* code
  (that is what trains the encoder's pooled latent to describe style at all) and a re-rendering uses the
  target style's mean code.
- every convolution pads by reflection: zero padding gave every output a dark/coloured frame (instance
  norm turns the border statistics into a visible edge).
- a shared MLP (LayerNorm, two Linear+ReLU) maps a style vector to one ``(gamma, beta)`` pair per AdaIN
  layer: ``AdaIN(h) = instance_norm(h) * (1 + gamma) + beta``. The per-layer heads start at zero, so an
  untrained model is a plain (unconditioned) autoencoder.

Why AdaIN rather than FiLM: FiLM (``h * (1 + gamma) + beta``) leaves the input's own channel statistics
in place, so a decoder can reconstruct well while treating the style vector as a small perturbation:
the "grey or sepia version of the input" failure. AdaIN first normalises every channel of every image,
so at each stage the channel means and scales (colour, contrast, texture energy) can only come from the
style vector; the content keeps only the spatial layout.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

STYLE_SOURCES = ("learned", "mean-latent")


def instance_norm(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each channel of each image to zero mean, unit variance over space. ``(N, C, H, W)``."""
    return F.instance_norm(h, eps=eps)


class AdaIN(nn.Module):
    """``instance_norm(h) * (1 + gamma) + beta`` with ``(gamma, beta)`` predicted from a style feature."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.channels = channels
        self.affine = nn.Linear(hidden, 2 * channels)
        nn.init.zeros_(self.affine.weight)  # start as plain instance norm: the style effect is learned
        nn.init.zeros_(self.affine.bias)

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``h: (N, C, H, W)``, ``style: (N, hidden)`` -> ``(N, C, H, W)``."""
        gamma, beta = self.affine(style).float().chunk(2, dim=1)
        out = instance_norm(h.float()) * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        return out.to(h.dtype)


class ResBlock(nn.Module):
    """Plain residual block (encoder): conv-ReLU-conv plus the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv2(F.relu(self.conv1(F.relu(h))))


class AdaINResBlock(nn.Module):
    """Residual block of the decoder: AdaIN-ReLU-conv twice, plus the input."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = AdaIN(channels, hidden)
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")
        self.norm2 = AdaIN(channels, hidden)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(h, style)))
        return h + self.conv2(F.relu(self.norm2(out, style)))


class UpBlock(nn.Module):
    """Nearest x2 upsample, 3x3 conv, AdaIN, ReLU (nearest + conv avoids transposed-conv checkerboards)."""

    def __init__(self, cin: int, cout: int, hidden: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1, padding_mode="reflect")
        self.norm = AdaIN(cout, hidden)

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = self.conv(F.interpolate(h, scale_factor=2, mode="nearest"))
        return F.relu(self.norm(h, style))


class Stylizer(nn.Module):
    """Encoder-decoder whose decoder is AdaIN-conditioned on a style vector at every stage."""

    def __init__(self, num_styles: int, style_source: str = "learned", width: int = 32, blocks: int = 2,
                 hidden: int = 128) -> None:
        super().__init__()
        if style_source not in STYLE_SOURCES:
            from artstyle.errors import ArtstyleError

            raise ArtstyleError(f"--style-source {style_source!r} is not one of: {', '.join(STYLE_SOURCES)}")
        if num_styles < 2:
            from artstyle.errors import ArtstyleError

            raise ArtstyleError(f"a stylizer needs at least 2 styles in the data, got {num_styles}")
        self.num_styles, self.style_source = num_styles, style_source
        w, c = width, 4 * width
        self.code_dim = c
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w, 7, 1, 3, padding_mode="reflect"), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 4, 2, 1, padding_mode="reflect"), nn.ReLU(),
            nn.Conv2d(2 * w, c, 4, 2, 1, padding_mode="reflect"), nn.ReLU(),
            ResBlock(c),
            nn.Conv2d(c, c, 3, 1, 1, padding_mode="reflect"),
        )
        if style_source == "learned":
            self.embedding = nn.Embedding(num_styles, c)
            nn.init.normal_(self.embedding.weight, std=1.0)
        # Mean code per style (mean-latent mode; kept in learned mode too, for analysis, but unused there).
        self.register_buffer("style_means", torch.zeros(num_styles, c))
        self.register_buffer("style_seen", torch.zeros(num_styles))
        self.style_mlp = nn.Sequential(nn.LayerNorm(c), nn.Linear(c, hidden), nn.ReLU(),
                                       nn.Linear(hidden, hidden), nn.ReLU())
        self.res = nn.ModuleList([AdaINResBlock(c, hidden) for _ in range(blocks)])
        self.up = nn.ModuleList([UpBlock(c, 2 * w, hidden), UpBlock(2 * w, w, hidden)])
        self.to_rgb = nn.Conv2d(w, 3, 7, 1, 3, padding_mode="reflect")

    # ------------------------------------------------------------ parts

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x: (N, 3, H, W)`` -> ``(content (N, 4w, H/4, W/4), code (N, 4w))``."""
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            from artstyle.errors import ArtstyleError

            raise ArtstyleError(f"the stylizer needs image sizes divisible by 4, got {tuple(x.shape[-2:])}; "
                                "choose another --size")
        z = self.encoder(x)
        return instance_norm(z.float()).to(z.dtype), z.float().mean((2, 3))

    def style_vectors(self, styles: torch.Tensor) -> torch.Tensor:
        """Style vectors ``(N, 4w)`` for style indices ``(N,)``: learned embeddings or mean codes."""
        if self.style_source == "learned":
            return self.embedding(styles)
        return self.style_means[styles]

    def decode(self, content: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """``content: (N, 4w, h, w)``, style ``vectors: (N, 4w)`` -> images ``(N, 3, 4h, 4w)`` in [-1, 1]."""
        s = self.style_mlp(vectors.float())
        h = content
        for block in self.res:
            h = block(h, s)
        for block in self.up:
            h = block(h, s)
        return torch.tanh(self.to_rgb(h))

    # ------------------------------------------------------------ forward

    def forward(self, x: torch.Tensor, target: torch.Tensor, own: torch.Tensor | None = None) -> Any:
        """Re-render ``x: (N, 3, H, W)`` in styles ``target: (N,)`` -> ``(N, 3, H, W)`` in [-1, 1].

        With ``own`` (the true style indices, training), returns ``{"out", "recon", "code"}``: the
        re-rendering, the reconstruction with the own style (the image's own code in mean-latent mode) and
        the pooled codes ``(N, 4w)``, from one encoder pass and one decoder pass over ``2N`` images (one
        ``forward`` call, so DistributedDataParallel sees every parameter used once).
        """
        content, code = self.encode(x)
        if own is None:
            return self.decode(content, self.style_vectors(target))
        own_vec = code if self.style_source == "mean-latent" else self.style_vectors(own)
        both = self.decode(torch.cat([content, content]), torch.cat([self.style_vectors(target), own_vec]))
        out, recon = both.chunk(2)
        return {"out": out, "recon": recon, "code": code}

    # ------------------------------------------------------------ mean codes

    @torch.no_grad()
    def update_style_means(self, code: torch.Tensor, labels: torch.Tensor, momentum: float) -> None:
        """EMA of the mean code per style from one batch (``code (N, 4w)``, ``labels (N,)``).

        A style's first batch sets its mean directly (no bias towards the zero initialisation).
        """
        code = code.detach().float()
        for k in labels.unique().tolist():
            batch_mean = code[labels == k].mean(0)
            m = momentum if self.style_seen[k] > 0 else 0.0
            self.style_means[k].mul_(m).add_(batch_mean, alpha=1 - m)
            self.style_seen[k] += 1

    @torch.no_grad()
    def set_style_means(self, means: torch.Tensor, present: torch.Tensor) -> None:
        """Replace the mean codes of the styles marked in ``present (K,) bool`` with ``means (K, 4w)``."""
        self.style_means[present] = means[present].to(self.style_means)
        self.style_seen[present] = torch.clamp(self.style_seen[present], min=1)


def build_stylizer(args: dict[str, Any]) -> Stylizer:
    """Rebuild from the ``model`` section of a run's config.json."""
    return Stylizer(args["num_styles"], args["style_source"], args.get("width", 32), args.get("blocks", 2),
                    args.get("hidden", 128))
