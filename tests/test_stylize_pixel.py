"""Issue 12: the stylizer's pixel head (``stylize train --pixel-head``, ``models/pixel_head.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artstyle.errors import ArtstyleError
from artstyle.models.pixel_head import PixelHead
from artstyle.models.stylizer import Stylizer, build_stylizer
from conftest import stylizer_round_trip

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = {"Baroque": 8, "Pop_Art": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)


def test_the_head_starts_as_the_identity_in_a_new_stylizer() -> None:
    head = PixelHead(channels=4, hidden=8)
    y = torch.rand(2, 3, 24, 40) * 2 - 1  # any size: the head needs no multiple of anything
    assert torch.equal(head(y, torch.randn(2, 4, 6, 10), torch.randn(2, 8)), y)
    plain = Stylizer(2, "learned", width=8, blocks=1).eval()
    headed = Stylizer(2, "learned", width=8, blocks=1, pixel_head=True).eval()
    assert headed.pixel.out.weight.abs().max() == 0  # the He initialisation of every conv did not redraw it
    missing, unexpected = headed.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(name.startswith("pixel.") for name in missing)
    x, target = torch.rand(2, 3, 32, 48) * 2 - 1, torch.tensor([0, 1])
    with torch.no_grad():  # the same network plus an untrained head: the head changes nothing
        assert torch.allclose(headed(x, target), plain(x, target), atol=1e-6)


def _contrast(x: torch.Tensor) -> torch.Tensor:
    """A steep tone curve: a non-linear function of each pixel's own value."""
    return 0.8 * torch.tanh(3 * x)


def test_only_the_head_learns_a_function_of_each_pixel() -> None:
    """Trained to apply a steep tone curve to pixel noise (each pixel independent of its neighbours), the stylizer
    with the head leaves a small part of the error; the same network without it, which paints w numbers per 4 x 4
    cell of 48 pixel values, cannot follow each pixel and leaves most of it."""
    errors = {}
    for with_head in (False, True):
        torch.manual_seed(0)
        model = Stylizer(2, "learned", width=8, blocks=1, pixel_head=with_head)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(1)
        for _ in range(300):
            x = torch.rand(8, 3, 16, 16, generator=gen) * 2 - 1
            loss = (model(x, torch.zeros(8, dtype=torch.long)) - _contrast(x)).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        x = torch.rand(4, 3, 16, 16, generator=gen) * 2 - 1
        with torch.no_grad():
            errors[with_head] = float((model.eval()(x, torch.zeros(4, dtype=torch.long)) - _contrast(x)).abs().mean())
    start = float((x - _contrast(x)).abs().mean())  # the identity's error
    assert errors[True] < 0.4 * start, (errors, start)  # measured: 0.24 of it
    assert errors[False] > 0.8 * start, (errors, start)  # measured: all of it


def test_the_head_needs_the_version_3_network_and_older_runs_build_without_it() -> None:
    with pytest.raises(ArtstyleError, match="version-3"):
        Stylizer(2, "learned", width=8, version=2, pixel_head=True)
    args = {"num_styles": 2, "style_source": "learned", "width": 8, "blocks": 1, "version": 3}
    assert build_stylizer(args).pixel is None  # a run written before --pixel-head
    assert isinstance(build_stylizer({**args, "pixel_head": True}).pixel, PixelHead)


def test_a_run_records_its_head_and_loads_it_back(tmp_path: Path) -> None:
    _, cfg, model = stylizer_round_trip(tmp_path, CLASSES, TINY, pixel_head=True)
    assert cfg["model"]["pixel_head"] is True and cfg["config"]["pixel_head"] is True
    assert model.pixel is not None and "pixel.local.weight" in model.state_dict()
