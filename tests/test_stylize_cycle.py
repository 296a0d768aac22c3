"""Issue 12: the stylizer's cycle reconstruction (``stylize train --w-cycle``)."""

from __future__ import annotations

import pytest
import torch

from artstyle.errors import ArtstyleError
from artstyle.models.stylizer import Stylizer
from artstyle.stylize import StylizeConfig
from conftest import tiny_stylize_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

K = 3


def test_the_cycle_renders_the_re_rendering_back_in_the_own_style_and_enters_only_above_zero() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0])
    model = Stylizer(K, width=8, blocks=1)
    with torch.no_grad():  # as if trained: it changes its input, and its zero-initialised layers are not zero
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    base = dict(size=16, w_adv=0.0, loss_jitter=0.0, style_ramp=0)
    off = tiny_stylize_task(StylizeConfig(**base), K)
    torch.manual_seed(1)
    loss_off, logs_off = off.training_loss(model, (images, labels))
    assert "cycle" not in logs_off

    task = tiny_stylize_task(StylizeConfig(**base, w_cycle=2.0), K)
    torch.manual_seed(1)  # the same targets as above
    terms, res = task.losses(model, images, labels, ramp=1.0)
    x = images.float() / 127.5 - 1
    content, code = model.encode(res["out"].clamp(-1, 1))
    manual = model.decode(content, model.style_vectors(labels), code, res["out"].clamp(-1, 1))
    assert torch.allclose(res["cycle"], manual, atol=1e-5)  # the re-rendering, painted back in the own style
    assert torch.allclose(terms["cycle"], (manual - x).abs().mean((1, 2, 3)), atol=1e-5)
    assert float(terms["cycle"].detach().mean()) > 0
    torch.manual_seed(1)
    loss_on, logs_on = task.training_loss(model, (images, labels))
    assert torch.isclose(loss_on, loss_off + 2.0 * logs_on["cycle"], atol=1e-4)

    same = torch.zeros(4, dtype=torch.long)  # every input of style 0: its targets are styles 1 and 2
    terms, _ = task.losses(model, images, same, ramp=1.0)
    model.zero_grad()
    terms["cycle"].mean().backward()
    grads = model.embedding.weight.grad.abs().sum(1)
    assert grads[0] > 0 and grads[1:].sum() > 0  # both passes: the own style's vector (second), the targets' (first)


def test_a_negative_cycle_weight_is_refused() -> None:
    from artstyle.stylize.train import _checked_config

    with pytest.raises(ArtstyleError, match="--w-cycle"):
        _checked_config(StylizeConfig(w_cycle=-1.0))
