"""A loaded LoRA run: paint prompts in its styles, as ``artstyle lora generate`` does.

Usage::

    painter = Painter("runs/lora/<run>")                 # reads the run; the base model loads on first use
    images = painter.paint("Ukiyo-e", n=2, steps=20)     # uint8 (2, S, S, 3)
    painter.prompt("Ukiyo-e")                            # "a painting in the style of Ukiyo-e"

The pipeline is the run's base model with DPM-Solver++ and the run's LoRA (``lora.load_pipeline``,
``lora.load_lora_for_inference``), fp16 on CUDA and fp32 elsewhere; image i uses seed ``seed + i``
(``lora.paint``), so the app's images match the command's.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from artstyle.api.classifier import pick_device
from artstyle.errors import ArtstyleError


class Painter:
    """A LoRA run; the diffusion pipeline is loaded on the first :meth:`paint` and then kept."""

    def __init__(self, run: str | Path, device: str | None = None) -> None:
        from artstyle.lora import DEFAULT_MODEL, DEFAULT_TEMPLATE, WEIGHTS_NAME
        from artstyle.runs import find_run, read_json

        self.run = find_run(run)
        if not (self.run / WEIGHTS_NAME).is_file():
            raise ArtstyleError(f"{self.run} has no {WEIGHTS_NAME}: training did not finish; finish it with "
                                f"`artstyle lora train --resume {self.run}`")
        self.train_cfg: dict[str, Any] = read_json(self.run / "config.json").get("config", {})
        classes = read_json(self.run / "classes.json")
        self.styles: list[str] = list(classes["classes"])
        self.synthetic = bool(classes.get("synthetic"))
        self.template: str = self.train_cfg.get("prompt_template", DEFAULT_TEMPLATE)
        self.size = int(self.train_cfg.get("resolution", 512))
        self.pretrained: str = self.train_cfg.get("pretrained", DEFAULT_MODEL)
        self.device = str(pick_device(device))
        self._pipe: Any = None
        self._lock = threading.Lock()

    def prompt(self, style: str, template: str | None = None) -> str:
        """The prompt for ``style`` from ``template`` (default: the run's training template)."""
        from artstyle.lora import check_template, render_prompt, select_styles

        template = template or self.template
        check_template(template)
        return render_prompt(template, select_styles([style], self.styles, flag="style")[0])

    def pipeline(self) -> Any:
        """The base model with the LoRA loaded, on the device (loaded once, thread-safe)."""
        with self._lock:
            if self._pipe is None:
                import torch
                from diffusers import DPMSolverMultistepScheduler

                from artstyle.lora import load_lora_for_inference, load_pipeline

                dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
                pipe = load_pipeline(self.pretrained, self.train_cfg.get("revision", ""),
                                     self.train_cfg.get("variant", ""), dtype=dtype)
                # what the LoRA learned to predict (--prediction-type), as `artstyle lora generate` reads it
                trained = self.train_cfg.get("prediction_type")
                pipe.scheduler = DPMSolverMultistepScheduler.from_config(
                    pipe.scheduler.config, **({"prediction_type": trained} if trained else {}))
                pipe.to(self.device)
                pipe.set_progress_bar_config(disable=True)
                load_lora_for_inference(pipe, self.run, self.train_cfg)
                self._pipe = pipe
            return self._pipe

    def paint(self, style: str, template: str | None = None, n: int = 1, steps: int = 20, guidance: float = 7.5,
              seed: int = 0, lora_scale: float = 1.0) -> np.ndarray:
        """``n`` images ``(n, S, S, 3)`` uint8 of ``style`` (seeds ``seed .. seed + n - 1``)."""
        from artstyle.lora import paint

        if n < 1 or steps < 1:
            raise ArtstyleError("n and steps must be at least 1")
        prompt = self.prompt(style, template)
        return paint(self.pipeline(), prompt, n, seed, steps, guidance, self.size, lora_scale=lora_scale)


__all__ = ["Painter"]
