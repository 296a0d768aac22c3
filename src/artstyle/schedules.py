"""Learning-rate schedules and time budgets for the training engine.

Usage::

    deadline = budget_deadline(cfg.time_budget, started)       # perf_counter value, inf without a budget
    scheduler = cosine_with_warmup(optimizer, warmup_steps, total_steps, deadline)
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch


def budget_deadline(budget: float, started: float, share: float = 1.0) -> float:
    """The ``time.perf_counter()`` value at which ``share`` of a ``budget`` of seconds counted from ``started``
    (the command's start) is spent; ``inf`` without a budget."""
    return started + budget * share if budget > 0 else float("inf")


def cosine_with_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                       deadline: float = float("inf")) -> Any:
    """Linear warm-up over ``warmup_steps``, then cosine decay to 0 at ``total_steps``: torch's own schedulers.

    With a ``deadline`` (``--time-budget``) the decay follows whichever ends first, the steps or the time, so a
    run that the budget stops still ends at a low learning rate instead of being cut off at its peak. No library
    scheduler knows about wall-clock time, hence the one hand-written factor.
    """
    from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR

    if deadline != float("inf"):
        start = time.perf_counter()
        span = max(1e-9, deadline - start)

        def factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / (warmup_steps + 1)
            by_steps = (step - warmup_steps) / max(1, total_steps - warmup_steps)
            progress = min(1.0, max(by_steps, (time.perf_counter() - start) / span))
            return 0.5 * (1.0 + math.cos(math.pi * progress))

        return LambdaLR(optimizer, factor)
    decay = CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup_steps))
    if warmup_steps <= 0:
        return decay
    warmup = LinearLR(optimizer, start_factor=1.0 / (warmup_steps + 1), end_factor=1.0, total_iters=warmup_steps)
    return SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])
