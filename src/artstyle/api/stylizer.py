"""A loaded stylize run: re-render one image in chosen styles, with a strength between its own style and the target's.

Usage::

    sty = Stylizer("runs/stylize/<run>")
    out = sty.render("photo.jpg", styles=["Ukiyo-e", "Baroque"], strength=0.6)
    out["renders"]          # uint8 (2, S, S, 3), one per style; out["image"] is the decoded input
    grid = sty.grid(out)    # the captioned grid of `artstyle stylize render`
    render_files(run, ["a.jpg", "photos/"], ["Baroque"])    # what `artstyle stylize render` writes

The strength blends two style vectors before the decoder: the target style's and the image's own. The own
vector is the image's pooled code in ``mean-latent`` runs (what the model reconstructs from). In ``learned``
runs it is the mix of the learned style embeddings weighted by the classifier's probabilities for the image
(``own_probabilities``), or their plain mean when no classifier is given. Strength 1 is exactly
``stylize.stylize_arrays`` (the ``artstyle stylize render`` output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artstyle.api.classifier import pick_device
from artstyle.api.images import ImageLike, UnusableImage, describe, image_bytes
from artstyle.errors import ArtstyleError


class Stylizer:
    """A stylize run loaded for inference (model in eval mode on ``device``)."""

    def __init__(self, run: str | Path, device: str | None = None) -> None:
        from artstyle.stylize import load_stylizer

        from artstyle.inference import on_device

        self.model, self.info = load_stylizer(run)
        self.run: Path = self.info["run"]
        self.precision = self.info.get("precision")  # the run's --precision: autocast on a GPU, fp32 on the CPU
        self.place = on_device(self.model, self.precision, pick_device(device))
        self.device = self.place.device
        self.classes: list[str] = list(self.info["classes"])
        self.size, self.policy, self.synthetic = self.info["size"], self.info["policy"], self.info["synthetic"]

    def style_indices(self, styles: Sequence[str] | str | None) -> list[int]:
        """Indices of ``styles`` (names or aliases; ``None`` or ``"all"``: every style)."""
        from artstyle.stylize import resolve_styles

        return resolve_styles(styles, self.classes)

    def own_weights(self, own_probabilities: dict[str, float] | None) -> np.ndarray:
        """``(K,)`` weights of the stylizer's styles from a classifier's ``{style: p}``, matched by name."""
        from artstyle.data.sources import class_name

        w = np.zeros(len(self.classes))
        if own_probabilities:
            lookup = {class_name(c): i for i, c in enumerate(self.classes)}
            for style, p in own_probabilities.items():
                if class_name(style) in lookup:
                    w[lookup[class_name(style)]] += p
        return w / w.sum() if w.sum() > 0 else np.full(len(self.classes), 1 / len(self.classes))

    def render_arrays(self, images: np.ndarray, targets: Sequence[int], strength: float = 1.0,
                      own_probabilities: dict[str, float] | None = None) -> np.ndarray:
        """Re-render uint8 ``images (N, S, S, 3)`` in styles ``targets (N,)`` -> uint8 ``(N, S, S, 3)``."""
        if not 0.0 <= strength <= 1.0:
            raise ArtstyleError(f"strength {strength} must be between 0 (the image's own style) and 1 (the target)")
        if strength == 1.0:
            from artstyle.stylize import stylize_arrays

            return stylize_arrays(self.model, images, np.asarray(targets), precision=self.precision,
                                  device=self.device)
        return self._blend(images, np.asarray(targets), strength, self.own_weights(own_probabilities))

    def _blend(self, images: np.ndarray, targets: np.ndarray, strength: float, weights: np.ndarray,
               batch_size: int = 64) -> np.ndarray:
        """``stylize_arrays`` with the style vector ``(1 - strength) * own + strength * target``."""
        import torch

        from artstyle.engine import to_uint8

        m, place, out = self.model, self.place, []
        with torch.no_grad(), place.autocast():
            for i in range(0, len(images), batch_size):
                x = place.images(images[i:i + batch_size])
                content, code = m.encode(x)
                target = m.style_vectors(place.labels(targets[i:i + batch_size])).float()
                if m.style_source == "mean-latent":
                    own = code
                else:
                    w = torch.as_tensor(weights, dtype=torch.float32, device=self.device)
                    own = (w[:, None] * m.embedding.weight.float()).sum(0).expand_as(target)
                rendered = m.decode(content, (1 - strength) * own + strength * target, code, x)
                out.append(to_uint8(rendered).permute(0, 2, 3, 1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, *images.shape[1:]), np.uint8)

    def render(self, image: ImageLike, styles: Sequence[str] | str | None = "all", strength: float = 1.0,
               own_probabilities: dict[str, float] | None = None) -> dict[str, Any]:
        """``image`` in each of ``styles``: ``{"image" (decoded input), "styles" (names), "renders" (K, h, w, 3)}``.

        The image keeps its aspect ratio, its short side at the training size, as in ``artstyle stylize render``
        (``stylize.decode_keep_aspect``); it is padded by reflection to the network's multiple and cropped back.
        """
        from artstyle.data.decode import DecodeError
        from artstyle.stylize import decode_keep_aspect, pad_to_multiple

        idx = self.style_indices(styles)
        try:
            arr = decode_keep_aspect(image_bytes(image), self.size)
        except DecodeError as exc:
            raise UnusableImage(describe(image), str(exc)) from None
        h, w = arr.shape[:2]
        padded = pad_to_multiple(arr, self.model.multiple)
        renders = self.render_arrays(np.repeat(padded[None], len(idx), axis=0), idx, strength,
                                     own_probabilities)[:, :h, :w]
        return {"image": arr, "styles": [self.classes[i] for i in idx], "renders": renders, "strength": strength}

    def grid(self, result: dict[str, Any]) -> np.ndarray:
        """The input, then one captioned column per style (``figures.grids.captioned_grid``)."""
        from artstyle.figures.grids import captioned_grid
        from artstyle.styles import display_name
        from artstyle.stylize import fit_square

        images = [result["image"], *result["renders"]]  # each fitted into a square cell, as `stylize render` does
        side = max(result["image"].shape[:2])
        cells = np.stack([fit_square(im, side) for im in images])[None]
        headers = ["Original"] + [display_name(s) for s in result["styles"]]
        return captioned_grid(cells, headers=headers, synthetic=self.synthetic)[0]


def render_files(run: str | Path, images: Sequence[str | Path], styles: Sequence[str] | str | None = "all",
                 out: str | Path | None = None, overwrite: bool = False) -> dict[str, Any]:
    """``artstyle stylize render``: image files in, ``grid.png`` and one PNG per (image, style) out
    (``stylize.render``, which re-renders with the same ``stylize_arrays`` as strength 1 here)."""
    from artstyle.stylize import render

    return render(run, images, styles, out, overwrite)


__all__ = ["Stylizer", "render_files"]
