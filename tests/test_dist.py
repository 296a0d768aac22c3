"""artstyle.dist: a network trained outside accelerate's DDP wrapper (the stylizer's --w-adv discriminator) stays
one network across processes."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.multiprocessing as mp

from artstyle.dist import average_gradients, broadcast_module


def _two_ranks(rank: int, store: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        torch.manual_seed(rank)  # different initial weights in each process
        net = torch.nn.Linear(3, 2)
        net.register_buffer("seen", torch.full((1,), float(rank)))
        broadcast_module(net)
        start = {k: v.clone() for k, v in net.state_dict().items()}
        x = torch.full((4, 3), float(rank + 1))  # different data in each process
        net(x).pow(2).mean().backward()
        average_gradients(net)
        torch.save({"start": start, "grad": net.weight.grad.clone(), "x": x}, Path(out) / f"{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_broadcast_and_averaged_gradients_keep_two_processes_in_step(tmp_path: Path) -> None:
    mp.spawn(_two_ranks, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"{r}.pt") for r in (0, 1))
    for k in r0["start"]:  # rank 1 starts from rank 0's parameters and buffers
        assert torch.equal(r0["start"][k], r1["start"][k]), k
    assert r1["start"]["seen"].item() == 0.0
    net = torch.nn.Linear(3, 2)
    net.load_state_dict({k: v for k, v in r0["start"].items() if k != "seen"})
    grads = []
    for x in (r0["x"], r1["x"]):  # the mean of the two processes' own gradients
        net.zero_grad()
        net(x).pow(2).mean().backward()
        grads.append(net.weight.grad.clone())
    assert torch.allclose(r0["grad"], (grads[0] + grads[1]) / 2) and torch.equal(r0["grad"], r1["grad"])


def _discriminator_steps(rank: int, store: str, out: str) -> None:
    import numpy as np
    import torch.distributed as dist

    from artstyle.models.discriminator import PatchDiscriminator
    from artstyle.stylize import StylizeConfig
    from artstyle.stylize.task import StylizeTask

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        torch.manual_seed(rank)  # each process builds its own discriminator and draws its own batches
        task = StylizeTask(StylizeConfig(w_adv=0.2), torch.nn.Linear(1, 1), 16, np.arange(3), np.arange(3), None,
                           discriminator=PatchDiscriminator(3, width=8))
        for _ in range(2):
            real, fake = torch.rand(4, 3, 16, 16) * 2 - 1, torch.rand(4, 3, 16, 16) * 2 - 1
            task.discriminator_step(real, torch.randint(0, 3, (4,)), fake, torch.randint(0, 3, (4,)))
        torch.save(task.disc.state_dict(), Path(out) / f"disc{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_stylize_discriminator_steps_stay_one_network_across_processes(tmp_path: Path) -> None:
    """StylizeTask.discriminator_step itself (the --w-adv path): two processes with different starting weights and
    different batches hold the same discriminator after two steps, and it moved."""
    mp.spawn(_discriminator_steps, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    d0, d1 = (torch.load(tmp_path / f"disc{r}.pt") for r in (0, 1))
    assert d0.keys() == d1.keys() and all(torch.equal(d0[k], d1[k]) for k in d0)
    from artstyle.models.discriminator import PatchDiscriminator

    torch.manual_seed(0)  # rank 0's starting weights
    fresh = PatchDiscriminator(3, width=8).state_dict()
    assert any(not torch.equal(fresh[k], d0[k]) for k in fresh if k.endswith(".original"))


def test_single_process_is_a_no_op() -> None:
    net = torch.nn.Linear(3, 2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net(torch.ones(1, 3)).sum().backward()
    grad = net.weight.grad.clone()
    broadcast_module(net)
    average_gradients(net)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items()) and torch.equal(grad, net.weight.grad)
