"""Issue 12: the stylizer's detail gains (``stylize train --detail-gain``, ``models/detail.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from artstyle.errors import ArtstyleError
from artstyle.models.detail import DetailGain, detail_bands
from artstyle.models.stylizer import Stylizer, build_stylizer
from artstyle.runs import read_json, write_json
from artstyle.stylize import StylizeConfig, load_stylizer, train_stylizer
from artstyle.stylize.load import stylize_arrays
from conftest import stylize_assets, stylizer_round_trip

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = {"Baroque": 8, "Pop_Art": 6}
TINY = dict(size=32, batch_size=8, workers=0, progress=False, width=8, threads=1)


def _noisy_ramp(size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth colour ramp ``(1, 3, S, S)`` and the same ramp with 1 px noise, both in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(-0.6, 0.6, size)[None, None, None, :].expand(1, 3, size, size).clone()
    ramp[:, 1] *= -0.5
    return ramp, ramp + 0.3 * (torch.rand(1, 3, size, size, generator=gen) - 0.5)


def test_the_bands_add_up_to_the_image_and_sort_detail_by_scale() -> None:
    ramp, noisy = _noisy_ramp()
    base, mid, fine = detail_bands(noisy)
    assert torch.allclose(base + mid + fine, noisy, atol=1e-6)
    flat = torch.full((1, 3, 16, 24), 0.3)  # a flat picture has no detail in either band
    assert all(b.abs().max() < 1e-6 for b in detail_bands(flat)[1:])
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 1.0 - 0.5
    _, mid, fine = detail_bands(checker.expand(1, 3, 16, 16))
    assert mid.abs().max() < 1e-6 and fine.abs().mean() > 0.45  # a 1 px pattern is all fine detail


def test_gains_start_at_one_and_can_smooth_the_detail_away() -> None:
    """At initialisation the gains return the input exactly (an untrained stylizer changes nothing more than it
    did before); gains near 0 leave the 8 x 8 block means, bilinearly smoothed; a gain of 2 doubles the detail."""
    ramp, noisy = _noisy_ramp()
    gain = DetailGain(4)
    h = torch.randn(1, 4, 8, 8)
    assert torch.allclose(gain(h, noisy), noisy, atol=1e-6)
    with torch.no_grad():
        gain.conv.bias.fill_(-20.0)
    smooth = gain(h, noisy)
    assert (smooth - ramp).abs().mean() < 0.3 * (noisy - ramp).abs().mean()
    with torch.no_grad():
        gain.conv.bias.fill_(20.0)
    base, mid, fine = detail_bands(noisy)
    assert torch.allclose(gain(h, noisy), base + 2 * mid + 2 * fine, atol=1e-5)


def test_a_reach_of_32_adds_a_band_of_8_to_32_px() -> None:
    """``--detail-reach 32``: four bands that still sum to the image, on any side that is a multiple of 8, with each
    32 px block mean on its own block; stripes 16 px wide land mostly in the new coarse band; gains near 0 leave
    the 32 px block means."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 40, 56, generator=gen) * 2 - 1  # sides not multiples of 32: the last blocks are partial
    bands = detail_bands(x, 32)
    assert len(bands) == 4 and torch.allclose(sum(bands), x, atol=1e-5)
    assert torch.allclose(bands[2], detail_bands(x, 8)[1]) and torch.allclose(bands[3], detail_bands(x, 8)[2])
    step = torch.zeros(1, 1, 8, 40)
    step[..., :32] = 1.0  # a full 32 px block of ones, then a partial block of zeros
    base = detail_bands(step, 32)[0]
    assert torch.allclose(base[..., :16], torch.ones(1, 1, 8, 16))  # the block mean sits on its own block
    assert base[..., 39].max() < 0.6  # and the partial block keeps its own mean, not stretched over the side
    stripes = ((torch.arange(64) // 16) % 2 * 1.0 - 0.5)[None, None, None, :].expand(1, 3, 64, 64)  # period 32 px
    _, coarse, mid, fine = detail_bands(stripes, 32)
    assert coarse.abs().mean() > 2 * mid.abs().mean() and coarse.abs().mean() > 2 * fine.abs().mean()
    gain = DetailGain(4, reach=32)
    assert gain.conv.out_channels == 3
    h = torch.randn(1, 4, 16, 16)
    assert torch.allclose(gain(h, stripes), stripes, atol=1e-5)  # the identity at initialisation
    with torch.no_grad():
        gain.conv.bias.fill_(-20.0)
    assert gain(h, stripes).abs().max() < 0.05  # 32 px blocks of this pattern average to 0: it is smoothed away
    with pytest.raises(ValueError, match="reach 16"):
        DetailGain(4, reach=16)


def test_a_stylizer_learns_to_remove_detail_only_with_gains() -> None:
    """Trained for a few hundred steps to turn noisy ramps into clean ones, the stylizer with gains removes most of
    the noise; the same network without them, which can only add a decoded change through its bottleneck, removes
    almost none."""
    errors = {}
    for with_gain in (False, True):
        torch.manual_seed(0)
        model = Stylizer(2, "learned", width=8, blocks=1, detail_gain=with_gain)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        for step in range(150):
            pairs = [_noisy_ramp(seed=step * 8 + i) for i in range(8)]
            clean, noisy = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
            loss = (model(noisy, torch.zeros(8, dtype=torch.long)) - clean).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        clean, noisy = _noisy_ramp(seed=10_000)
        with torch.no_grad():
            errors[with_gain] = float((model.eval()(noisy, torch.zeros(1, dtype=torch.long)) - clean).abs().mean())
    noise = float((noisy - clean).abs().mean())
    assert errors[True] < 0.25 * noise, (errors, noise)  # measured: 0.09 of the noise left
    assert errors[False] > 0.8 * noise, (errors, noise)  # measured: all of it


def test_gains_need_the_version_3_network_and_older_runs_build_without_them() -> None:
    with pytest.raises(ArtstyleError, match="version-3"):
        Stylizer(2, "learned", width=8, version=2, detail_gain=True)
    args = {"num_styles": 2, "style_source": "learned", "width": 8, "blocks": 1, "version": 3}
    assert build_stylizer(args).detail is None  # a run written before --detail-gain
    assert build_stylizer({**args, "detail_gain": True}).detail.reach == 8  # a run written before --detail-reach
    assert build_stylizer({**args, "detail_gain": True, "detail_reach": 32}).detail.conv.out_channels == 3


def test_a_run_records_its_gains_and_loads_them_back(tmp_path: Path) -> None:
    run, cfg, model = stylizer_round_trip(tmp_path, CLASSES, TINY, detail_gain=True)
    assert cfg["model"]["detail_gain"] is True and cfg["config"]["detail_gain"] is True
    assert model.detail is not None and "detail.conv.weight" in model.state_dict()
    cfg["model"]["detail_gain"] = False  # the weights then hold a tensor the network lacks: a clear error, not junk
    write_json(run / "config.json", cfg)
    with pytest.raises(ArtstyleError, match="does not match the architecture in config.json"):
        load_stylizer(run)


def test_a_run_with_a_reach_of_32_records_it_and_a_wrong_reach_is_refused(tmp_path: Path) -> None:
    assets = stylize_assets(tmp_path / "assets", CLASSES, TINY)
    common = dict(data=str(assets["data"]), cache=str(assets["cache"].root), epochs=1, max_steps_per_epoch=2,
                  classifier=str(assets["clf"]), **TINY)
    with pytest.raises(ArtstyleError, match="--detail-reach 16"):
        train_stylizer(StylizeConfig(detail_reach=16, out=str(tmp_path / "bad"), **common))
    with pytest.raises(ArtstyleError, match="--no-detail-gain"):  # a reach without gains would be silently unused
        train_stylizer(StylizeConfig(detail_reach=32, detail_gain=False, out=str(tmp_path / "bad2"), **common))
    run = train_stylizer(StylizeConfig(detail_reach=32, out=str(tmp_path / "far"), **common))
    assert read_json(run / "config.json")["model"]["detail_reach"] == 32
    model, _ = load_stylizer(run)
    assert model.detail.reach == 32 and model.detail.conv.out_channels == 3
    x = assets["cache"].images[assets["cache"].indices("test")[:2]]
    assert stylize_arrays(model, x, np.array([1, 0])).shape == x.shape
