"""What this process runs on: Python, OS, CPU, accelerator and package versions.

Usage: ``env = collect_environment()`` -> ``{"python": "3.11.9", "device": "cpu", "packages": {...}, ...}``.

The pipeline records it in ``pipeline.json`` when it starts; the report prints it. Torch is imported inside
the function only (for its thread count and device), so importing this module costs nothing.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

PACKAGES = ("artstyle", "torch", "torchvision", "numpy", "scikit-learn", "umap-learn", "scipy", "accelerate",
            "diffusers", "transformers", "peft", "datasets", "pillow", "matplotlib", "safetensors")


def collect_environment() -> dict[str, Any]:
    """Python, OS, CPU, accelerator and package versions of this process."""
    from importlib import metadata

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "machine": platform.machine(), "cpu_count": os.cpu_count(), "packages": versions,
                           "recorded": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           # `artstyle --threads N` takes effect when training starts, after this is recorded
                           "threads_setting": int(os.environ.get("ARTSTYLE_THREADS") or 0) or None}
    try:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["device"] = f"cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            env["device"] = "mps"
        else:
            env["device"] = "cpu"
    except ImportError:
        env["device"] = "unknown (torch is not importable)"
    return env


__all__ = ["PACKAGES", "collect_environment"]
