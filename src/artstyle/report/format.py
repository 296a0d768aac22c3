"""How the report writes numbers and durations.

Usage: ``pct(0.612)`` -> ``"61.2%"``, ``f3(None)`` -> ``"-"``, ``secs(150)`` -> ``"2.5 min"``.

A missing or NaN number prints as ``-`` everywhere, so a run that lacks one value still gets its table.
"""

from __future__ import annotations

import math
from typing import Any


def num(x: Any) -> bool:
    """True for a real number that is not NaN."""
    return isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x))


def pct(x: Any, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%" if num(x) else "-"


def f3(x: Any) -> str:
    return f"{x:.3f}" if num(x) else "-"


def secs(x: Any) -> str:
    if not num(x):
        return "-"
    return f"{x:.1f} s" if x < 10 else f"{x:.0f} s" if x < 120 else f"{x / 60:.1f} min"


def training_line(t: dict[str, Any] | None) -> str:
    """One sentence about a run's training (epochs, best epoch, why it stopped, time) from metrics.json."""
    if not t:
        return ""
    parts = [f"{t.get('epochs_run', '?')} epoch(s)"]
    if t.get("weights") == "last":
        parts.append("weights of the last epoch")
    elif t.get("best_epoch") is not None:
        parts.append(f"best epoch {t['best_epoch']} by validation {str(t.get('monitor', '')).replace('_', ' ')}")
    if t.get("stopped"):
        parts.append(f"stopped: {t['stopped']}")
    if num(t.get("train_seconds")):
        parts.append(f"{secs(t['train_seconds'])} of training")
    return "Training: " + "; ".join(parts) + "."


__all__ = ["f3", "num", "pct", "secs", "training_line"]
