"""A style-conditioned encoder-decoder that re-renders an image in any of the training styles.

Usage::

    model = Stylizer(num_styles=27, style_source="learned", width=16, blocks=2)   # version 3
    out = model(x, target)                       # x (N, 3, H, W) in [-1, 1], target (N,) style indices
    pair = model(x, target, own=labels)          # training: {"out", "recon", "code"} from one encoder pass

Architecture, version 3 (new runs since issue 12's speed work; H and W multiples of 8). Every convolution works
on a grid of 1/4 or 1/8 of the image side, so a step costs about a tenth of version 2's:

- encoder, named as ``models.autoencoder``'s ``grid`` encoder (``--init-from`` copies a grid run of the same width):
  pixel unshuffle folds each 4x4 pixel block into 48 channels, a 3x3 conv to ``w`` channels, a stride-2 4x4 conv
  to ``2w`` at H/8, and a 3x3 conv to the content ``z: (N, 4w, H/8, W/8)``; the code is ``z.mean((2, 3))``;
- decoder: ``blocks`` relative-modulated residual blocks at H/8 (as version 2's), one 3x3 conv to ``4w``
  channels with pixel shuffle to ``w`` channels at H/4 (modulated), and a 3x3 conv to 48 values per H/4 cell
  that pixel shuffle lays out as its 4x4 pixels: a CHANGE added to the input image. The full-resolution detail
  and the content's colours pass through untouched unless the style changes them; the output is clamped to
  [-1, 1] in eval mode only (training keeps the gradient at saturated pixels). With ``detail_gain``
  (``stylize train --detail-gain``, the default since issue 12's twentieth session) the change is added to the
  input with its own 1-2 px and 2-8 px detail scaled by gains in (0, 2) that the decoder predicts per 4 x 4 cell
  (``models.detail``), so a style can also remove the photograph's detail. With ``pixel_head`` (``stylize train
  --pixel-head``) a last style-modulated step at full resolution changes each pixel from its own 3 x 3
  neighbourhood and the upsampled decoder features (``models.pixel_head``): a per-pixel non-linear function, such
  as a palette, a few colour levels or pixel-thin strokes, which the 4 x 4 cells alone cannot make.

Version 2 (runs of issue 12 before the speed work; H and W multiples of 4):

- encoder, no normalisation: the first stages of ``models.autoencoder``'s spatial encoder, with the same
  names and shapes at the same width (so ``stylize train --init-from EMBED_RUN`` can start from them): 3x3
  conv, two stride-2 4x4 convs (a residual block after the second), LeakyReLU, and a 3x3 conv giving
  ``z: (N, 4w, H/4, W/4)``. The content passed on is ``z`` itself; the *code* is ``z.mean((2, 3)): (N, 4w)``.
- decoder: ``blocks`` residual blocks at H/4, two (nearest upsample, 3x3 conv, modulation, ReLU) stages and a
  7x7 conv with tanh. Every stage is modulated *relative to the features' own statistics*:
  ``h + gamma * (h - mean(h)) + beta``, with ``(gamma, beta)`` from a shared MLP of ``[style vector, the
  image's own code]``. The heads start at zero, so an untrained model is a plain autoencoder that keeps
  each image's colours; a style moves the statistics away from the image's own, knowing where they start.
- style vectors ``(K, 4w)``: a learned ``nn.Embedding`` (``style_source="learned"``) or the mean code of each
  style's training images in the buffer ``style_means`` (``"mean-latent"``; the reconstruction then uses the
  image's own code). Every convolution pads by reflection (zero padding drew a frame).

Version 1 (older runs, rebuilt from a config.json without ``version``): a 7x7/ReLU encoder, the content
``instance_norm(z)`` and absolute AdaIN ``instance_norm(h) * (1 + gamma) + beta`` from the style vector alone
at every decoder stage. Why it was replaced (issue 12): instance-normalising every stage removes each image's
channel means and scales, so the colours could only come from the style vector: two plain images of
different colours decoded to the same picture, a red|blue card came back in the style's average palette, and
every re-rendering in one style took one tone.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.models.detail import DetailGain
from artstyle.models.pixel_head import PixelHead

STYLE_SOURCES = ("learned", "mean-latent")


def instance_norm(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each channel of each image to zero mean, unit variance over space. ``(N, C, H, W)``."""
    return F.instance_norm(h, eps=eps)


class AdaIN(nn.Module):
    """``instance_norm(h) * (1 + gamma) + beta`` with ``(gamma, beta)`` predicted from a style feature.

    ``relative=True`` (version 2) modulates around the features' OWN statistics instead:
    ``h + gamma * (h - mean(h)) + beta``, so zero heads are the identity and each image keeps its colour.
    """

    def __init__(self, channels: int, hidden: int, relative: bool = False) -> None:
        super().__init__()
        self.channels, self.relative = channels, relative
        self.affine = nn.Linear(hidden, 2 * channels)
        nn.init.zeros_(self.affine.weight)  # start as plain instance norm: the style effect is learned
        nn.init.zeros_(self.affine.bias)

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``h: (N, C, H, W)``, ``style: (N, hidden)`` -> ``(N, C, H, W)``."""
        gamma, beta = self.affine(style).float().chunk(2, dim=1)
        gamma, beta, hf = gamma[:, :, None, None], beta[:, :, None, None], h.float()
        if self.relative:
            out = hf + gamma * (hf - hf.mean((2, 3), keepdim=True)) + beta
        else:
            out = instance_norm(hf) * (1 + gamma) + beta
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

    def __init__(self, channels: int, hidden: int, relative: bool = False) -> None:
        super().__init__()
        self.slope = 0.2 if relative else 0.0  # 0: ReLU (version 1); leaky where features are not normalised
        self.norm1 = AdaIN(channels, hidden, relative)
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")
        self.norm2 = AdaIN(channels, hidden, relative)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.leaky_relu(self.norm1(h, style), self.slope))
        return h + self.conv2(F.leaky_relu(self.norm2(out, style), self.slope))


class UpBlock(nn.Module):
    """Nearest x2 upsample, 3x3 conv, AdaIN, ReLU (nearest + conv avoids transposed-conv checkerboards)."""

    def __init__(self, cin: int, cout: int, hidden: int, relative: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1, padding_mode="reflect")
        self.slope = 0.2 if relative else 0.0  # 0: ReLU (version 1); leaky where features are not normalised
        self.norm = AdaIN(cout, hidden, relative)

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = self.conv(F.interpolate(h, scale_factor=2, mode="nearest"))
        return F.leaky_relu(self.norm(h, style), self.slope)


class ShuffleUp(nn.Module):
    """Version 3: 3x3 conv to ``4 * cout`` channels, pixel shuffle x2 (no checkerboard: every output pixel comes from
    the same kernel taps' sub-position), relative modulation, LeakyReLU."""

    def __init__(self, cin: int, cout: int, hidden: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 4 * cout, 3, 1, 1, padding_mode="reflect")
        self.norm = AdaIN(cout, hidden, relative=True)

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(F.pixel_shuffle(self.conv(h), 2), style), 0.2)


@torch.no_grad()
def icnr_(weight: torch.Tensor, scale: int) -> torch.Tensor:
    """ICNR (Aitken et al. 2017): give the ``scale ** 2`` sub-pixel positions that a ``pixel_shuffle(scale)`` of
    this convolution's output fills the same kernel, so at initialisation the shuffle is a nearest-neighbour
    upsampling. With independent kernels an untrained version-3 stylizer already added fixed patterns of its two
    shuffles' periods (8 and 4 px) to every image."""
    groups = scale * scale
    out, *rest = weight.shape
    base = weight[::groups].clone()  # (out / groups, ...): one kernel per output colour
    weight.copy_(base.repeat_interleave(groups, dim=0).reshape(out, *rest))
    return weight


class _Residual(nn.Module):
    """``x + conv(act(conv(x)))``, laid out (and named) as the spatial autoencoder's, so ``--init-from`` matches it."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_act_conv(c, c), nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _act_conv(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    """Conv -> LeakyReLU, named as the autoencoder's ``_act_conv`` (``stride=2, kernel=4`` halves the size)."""
    pad = (kernel - stride) // 2 if stride == 2 else kernel // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, pad, padding_mode="reflect"), nn.LeakyReLU(0.2))


def _encoder(width: int, version: int) -> nn.Sequential:
    """``(N, 3, H, W) -> (N, 4w, H/4, W/4)``. Version 2 mirrors the first stages of ``models.autoencoder``'s
    spatial encoder (same names and shapes at the same width), then one conv to the bottleneck width."""
    w, c = width, 4 * width
    if version == 1:
        return nn.Sequential(
            nn.Conv2d(3, w, 7, 1, 3, padding_mode="reflect"), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 4, 2, 1, padding_mode="reflect"), nn.ReLU(),
            nn.Conv2d(2 * w, c, 4, 2, 1, padding_mode="reflect"), nn.ReLU(),
            ResBlock(c),
            nn.Conv2d(c, c, 3, 1, 1, padding_mode="reflect"),
        )
    if version == 3:  # named as models.autoencoder's grid encoder: --init-from copies a grid run's first stages
        return nn.ModuleList([_act_conv(48, w), _act_conv(w, 2 * w, 2, 4),
                              nn.Conv2d(2 * w, c, 3, 1, 1, padding_mode="reflect")])
    stem = max(8, w // 2)
    return nn.Sequential(_act_conv(3, stem), nn.Sequential(_act_conv(stem, w, 2, 4)),
                         nn.Sequential(_act_conv(w, 2 * w, 2, 4), _Residual(2 * w)),
                         nn.Conv2d(2 * w, c, 3, 1, 1, padding_mode="reflect"))


def size_multiple(version: int) -> int:
    """What image sides must be a multiple of for a stylizer network ``version``: version 3 halves three times
    (pixel unshuffle by 4, then a stride-2 conv), versions 1 and 2 twice."""
    return 8 if version >= 3 else 4


class Stylizer(nn.Module):
    """Encoder-decoder whose decoder is AdaIN-conditioned on a style vector at every stage.

    ``version=1``: the original network (content instance-normalised, absolute AdaIN); kept so that older
    runs load. ``version=2`` (new runs): unnormalised content, relative AdaIN and the image's own code next to
    the style vector (see the module docstring).
    """

    def __init__(self, num_styles: int, style_source: str = "learned", width: int = 32, blocks: int = 2,
                 hidden: int = 128, version: int = 3, detail_gain: bool = False, detail_reach: int = 8,
                 pixel_head: bool = False) -> None:
        super().__init__()
        from artstyle.errors import ArtstyleError

        if style_source not in STYLE_SOURCES:
            raise ArtstyleError(f"--style-source {style_source!r} is not one of: {', '.join(STYLE_SOURCES)}")
        if num_styles < 2:
            raise ArtstyleError(f"a stylizer needs at least 2 styles in the data, got {num_styles}")
        if version not in (1, 2, 3):
            raise ArtstyleError(f"stylizer version {version} is unknown (1, 2 or 3); is the run from a newer artstyle?")
        if (detail_gain or pixel_head) and version != 3:
            raise ArtstyleError(f"detail gains and the pixel head need a version-3 stylizer, not version {version}")
        self.num_styles, self.style_source, self.version = num_styles, style_source, version
        w, c = width, 4 * width
        self.code_dim = c
        self.encoder = _encoder(width, version)
        if style_source == "learned":
            self.embedding = nn.Embedding(num_styles, c)
            nn.init.normal_(self.embedding.weight, std=1.0)
        # Mean code per style (mean-latent mode; kept in learned mode too, for analysis, but unused there).
        self.register_buffer("style_means", torch.zeros(num_styles, c))
        self.register_buffer("style_seen", torch.zeros(num_styles))
        self.multiple = size_multiple(version)  # image sides must be multiples of this
        cond = c if version == 1 else 2 * c  # versions 2, 3: [style vector, the image's own code]
        self.style_mlp = nn.Sequential(nn.LayerNorm(cond), nn.Linear(cond, hidden), nn.ReLU(),
                                       nn.Linear(hidden, hidden), nn.ReLU())
        rel = version >= 2
        self.res = nn.ModuleList([AdaINResBlock(c, hidden, rel) for _ in range(blocks)])
        if version == 3:  # H/8 -> H/4 by pixel shuffle, one modulated stage, then 16 pixels per H/4 cell
            self.up = nn.ModuleList([ShuffleUp(c, w, hidden)])
            self.to_rgb = nn.Conv2d(w, 48, 3, 1, 1, padding_mode="reflect")
            # --detail-gain: keep, drop or boost x's own detail, up to --detail-reach px
            self.detail = DetailGain(w, detail_reach) if detail_gain else None
            # --pixel-head: a last style-modulated step per pixel at full resolution
            self.pixel = PixelHead(w, hidden) if pixel_head else None
        else:
            self.up = nn.ModuleList([UpBlock(c, 2 * w, hidden, rel), UpBlock(2 * w, w, hidden, rel)])
            self.to_rgb = nn.Conv2d(w, 3, 7, 1, 3, padding_mode="reflect")
            self.detail = self.pixel = None
        if version >= 2:
            self._init_v2()

    @torch.no_grad()
    def _init_v2(self) -> None:
        """He initialisation for the (leaky) convolutions, and every residual branch starting at zero.

        Without normalisation layers, PyTorch's default conv init shrinks the signal at every layer: an
        untrained version-2 network then put out one flat colour, and the losses could not pull it out of it.
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, (_Residual, AdaINResBlock)):
                last = m.body[-1] if isinstance(m, _Residual) else m.conv2
                nn.init.zeros_(last.weight)
        self.to_rgb.weight.mul_(0.1)  # start in tanh's linear range, not saturated
        if self.detail is not None:  # kaiming above re-drew its conv: back to gains of 1
            nn.init.zeros_(self.detail.conv.weight)
        if self.pixel is not None:  # and the pixel head's last conv: back to the identity
            nn.init.zeros_(self.pixel.out.weight)
        if self.version == 3:  # both pixel shuffles start as nearest-neighbour upsampling: no 8 or 4 px pattern
            icnr_(self.up[0].conv.weight, 2)
            icnr_(self.to_rgb.weight, 4)

    # ------------------------------------------------------------ parts

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x: (N, 3, H, W)`` -> ``(content (N, 4w, H/4, W/4), code (N, 4w))``; version 3's content is at H/8."""
        m = self.multiple
        if x.shape[-1] % m or x.shape[-2] % m:
            from artstyle.errors import ArtstyleError

            raise ArtstyleError(f"the stylizer needs image sizes divisible by {m}, got {tuple(x.shape[-2:])}; "
                                "choose another --size")
        if self.version == 3:
            h = F.pixel_unshuffle(x, 4)
            for stage in self.encoder:
                h = stage(h)
            return h, h.float().mean((2, 3))
        z = self.encoder(x)
        content = instance_norm(z.float()).to(z.dtype) if self.version == 1 else z
        return content, z.float().mean((2, 3))

    def style_vectors(self, styles: torch.Tensor) -> torch.Tensor:
        """Style vectors ``(N, 4w)`` for style indices ``(N,)``: learned embeddings or mean codes."""
        if self.style_source == "learned":
            return self.embedding(styles)
        return self.style_means[styles]

    def decode(self, content: torch.Tensor, vectors: torch.Tensor, code: torch.Tensor | None = None,
               x: torch.Tensor | None = None) -> torch.Tensor:
        """``content: (N, 4w, h, w)``, style ``vectors: (N, 4w)`` -> images ``(N, 3, 4h, 4w)`` in [-1, 1]
        (``8h, 8w`` for version 3).

        Versions 2 and 3 also condition on the image's own ``code (N, 4w)`` (default: the content's spatial
        mean). Version 3 (content at H/8) returns ``x (N, 3, 8h, 8w)`` plus the decoded change: unclamped while
        training (no dead gradient at saturated pixels), clamped to [-1, 1] in eval mode.
        """
        cond = vectors.float()
        if self.version >= 2:
            own = content.float().mean((2, 3)) if code is None else code.float()
            cond = torch.cat([cond, own], 1)
        s = self.style_mlp(cond)
        h = content
        for block in self.res:
            h = block(h, s)
        for block in self.up:
            h = block(h, s)
        if self.version == 3:
            if x is None:
                raise ValueError("a version-3 stylizer decodes a change to its input: pass the input image as x")
            kept = x if self.detail is None else self.detail(h, x)
            out = kept + F.pixel_shuffle(self.to_rgb(h), 4).to(kept.dtype)
            if self.pixel is not None:
                out = self.pixel(out, h, s)
            return out if self.training else out.clamp(-1, 1)
        return torch.tanh(self.to_rgb(h))

    # ------------------------------------------------------------ forward

    def forward(self, x: torch.Tensor, target: torch.Tensor, own: torch.Tensor | None = None,
                cycle: bool = False) -> Any:
        """Re-render ``x: (N, 3, H, W)`` in styles ``target: (N,)`` -> ``(N, 3, H, W)`` in [-1, 1].

        With ``own`` (the true style indices, training), returns ``{"out", "recon", "code"}``: the
        re-rendering, the reconstruction with the own style (the image's own code in mean-latent mode) and
        the pooled codes ``(N, 4w)``, from one encoder pass and one decoder pass over ``2N`` images (one
        ``forward`` call, so DistributedDataParallel sees every parameter used once). ``cycle`` (training,
        ``--w-cycle``) adds ``"cycle"``: the re-rendering rendered back in the own style, in the same call.
        """
        content, code = self.encode(x)
        if own is None:
            return self.decode(content, self.style_vectors(target), code, x)
        own_vec = code if self.style_source == "mean-latent" else self.style_vectors(own)
        both = self.decode(torch.cat([content, content]), torch.cat([self.style_vectors(target), own_vec]),
                           torch.cat([code, code]), torch.cat([x, x]))
        out, recon = both.chunk(2)
        res = {"out": out, "recon": recon, "code": code}
        if cycle:  # StarGAN's cycle: what the re-rendering keeps must suffice to paint the input back
            back_in = out.clamp(-1, 1)
            back_content, back_code = self.encode(back_in)
            res["cycle"] = self.decode(back_content, own_vec, back_code, back_in)
        return res

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
    version = args.get("version", 1)  # runs without "version" are version 1
    gains = bool(args.get("detail_gain", False)) and version == 3  # runs before --detail-gain: none
    return Stylizer(args["num_styles"], args["style_source"], args.get("width", 32), args.get("blocks", 2),
                    args.get("hidden", 128), version, gains, int(args.get("detail_reach", 8)),
                    bool(args.get("pixel_head", False)) and version == 3)  # runs before --pixel-head: none
