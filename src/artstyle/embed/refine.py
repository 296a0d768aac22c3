"""Latent refinement: each image's code improved by gradient steps through the frozen decoder.

Usage::

    z = refine_latents(model, x, steps=50)     # images (N, 3, S, S) in [-1, 1] -> latents (N, D)
    recon = model.decode(z)

Why (issue 17): an encoder is one forward pass that has to guess the code its decoder reads best, and on the
built-in set the gap between that guess and the best code is large. Starting from the encoder's code, Adam steps
on each image's own reconstruction error (its PSNR) raise the validation PSNR of the width-96 ``grid-fine`` model
by about 0.8 dB in 10 steps and 0.9 dB in 25 (docs/results.md, section 6). The latent keeps its size (the
comparison with PCA-256 stays at 256 numbers); only encoding costs more: ``steps`` decoder passes forward and back
per image. This is the "semi-amortised" inference of Kim et al. 2018 and the latent optimisation of neural image
codecs (Campos et al. 2019), applied at test time only; the weights do not change.

The loss is each image's PSNR on the eval-mode output (clamped to [-1, 1], batch-norm statistics frozen), summed
over the batch, so an image's code depends on that image alone and not on which batch it came in. Adam runs
element-wise, so the step size ``lr`` is in latent units whatever the batch.
"""

from __future__ import annotations

import torch

from artstyle.embed.task import reconstruction_loss

REFINE_LR = 0.05
"""Adam's step size on the latent (the latents of ``grid`` and ``grid-fine`` spread by about 1 to 12 per channel).
On the width-96 built-in run 0.05 and 0.1 tied within 0.04 dB after 10, 25 and 50 steps; 0.02 and 0.2 were
behind after 10 (a scratch check on 256 validation images, docs/results.md section 6). Tuned on the scale of
``grid``'s latents; ``conv``'s dense latent has another scale, where this step was not measured."""


def refine_latents(model: torch.nn.Module, x: torch.Tensor, steps: int, lr: float | None = None) -> torch.Tensor:
    """Latents ``(N, D)`` of images ``x`` ``(N, 3, S, S)`` in [-1, 1]: the encoder's, then ``steps`` Adam steps
    (step ``lr``, None = ``REFINE_LR``) on minus each image's PSNR through the frozen decoder (0 steps: the
    encoder's code). The model's weights get no gradient and its mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            z = model.encode(x).float()
        if steps > 0:
            z = z.clone().requires_grad_(True)
            opt = torch.optim.Adam([z], lr=lr or REFINE_LR)
            target = x.float()
            with torch.enable_grad():
                for _ in range(steps):
                    loss = reconstruction_loss(model.decode(z), target, "psnr").sum()
                    (grad,) = torch.autograd.grad(loss, [z])  # the latent's gradient only, none for the weights
                    z.grad = grad
                    opt.step()
    finally:
        model.train(was_training)
    return z.detach()


__all__ = ["REFINE_LR", "refine_latents"]
