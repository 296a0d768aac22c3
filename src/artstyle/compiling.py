"""Whether a run compiles its training forward (``--compile``), and how: the engine's ``torch.compile`` policy.

Usage::

    compiles, why = compile_decision(model, "auto", steps=planned_steps, time_budget=570)
    forward = compiled(model) if compiles else model     # evaluation stays eager
    try: ... except compile_errors(): ...                # a graph that cannot be compiled
"""

from __future__ import annotations

import os

import torch

from artstyle.errors import ArtstyleError
from artstyle.settings import COMPILE_MODES

COMPILE_MIN_STEPS = 1000
"""``--compile auto`` compiles runs of at least this many optimiser steps: a cold compile costs 30-60 s on 2 CPU
cores, 230-420 eager steps of the texture classifier (142 ms each), and saves about 40% of each step after it
(docs/benchmarks.md, ``texture-speed``)."""

COMPILE_MIN_BUDGET = 300.0
"""``--compile auto`` stays eager under a ``--time-budget`` shorter than this (seconds): the compile would eat it."""


def compile_decision(model: torch.nn.Module, mode: str, steps: int, time_budget: float = 0.0) -> tuple[bool, str]:
    """Whether to compile the training forward (``--compile``), and why, in words for metrics.json.

    ``auto`` compiles a model whose class sets ``compile_pays = True`` (measured faster compiled, on the CPU) when
    the run plans at least :data:`COMPILE_MIN_STEPS` steps, has no ``time_budget`` under
    :data:`COMPILE_MIN_BUDGET` s and, on the CPU, inductor's C++ compiler (``$CXX``, else ``g++``) is on the PATH.
    """
    import shutil

    if mode not in COMPILE_MODES:
        raise ArtstyleError(f"--compile {mode!r} is not one of: {', '.join(COMPILE_MODES)}")
    if mode != "auto":
        return mode == "on", f"--compile {mode}"
    if not getattr(model, "compile_pays", False):
        return False, f"auto: {type(model).__name__} was not measured faster compiled"
    if steps < COMPILE_MIN_STEPS:
        return False, f"auto: {steps} steps < {COMPILE_MIN_STEPS}, too few to repay compiling"
    if 0 < time_budget < COMPILE_MIN_BUDGET:
        return False, f"auto: --time-budget {time_budget:g} s < {COMPILE_MIN_BUDGET:g} s, too short to repay compiling"
    cxx = os.environ.get("CXX") or "g++"
    if not torch.cuda.is_available() and not shutil.which(cxx):
        return False, f"auto: inductor's C++ compiler ({cxx}) is not on the PATH"
    return True, f"auto: {type(model).__name__}, {steps} steps"


def compiled(model: torch.nn.Module) -> torch.nn.Module:
    """``torch.compile(model)`` sharing its parameters, for the training forward only (evaluation stays eager,
    so its other batch sizes and eval-mode BatchNorm do not trigger recompiles). It compiles on its first call;
    :func:`compile_errors` names the exceptions a failed compile raises."""
    import logging

    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "No CUDA runtime is found" on CPUs
    return torch.compile(model, dynamic=False)


def compile_errors() -> tuple[type[BaseException], ...]:
    """What dynamo and inductor raise when a graph cannot be compiled (forward or, lazily, backward)."""
    from torch._dynamo.exc import TorchDynamoException
    from torch._inductor.exc import InductorError

    return TorchDynamoException, InductorError
