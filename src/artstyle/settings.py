"""The training engine's settings, importable without torch (the CLI builds ``--help`` from them).

Usage: ``class ClassifyConfig(TrainSettings): ...``; every stage config that trains subclasses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from artstyle.config import opt

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
COMPILE_MODES = ("auto", "on", "off")


@dataclass
class TrainSettings:
    """Engine settings. Stage configs subclass this, so these options show in every stage's ``--help``."""

    epochs: int = opt(10, "Training epochs (an upper bound when --patience is set).")
    batch_size: int = opt(64, "Images per optimiser step (per process under accelerate launch).")
    lr: float = opt(2e-3, "Peak AdamW learning rate (after warmup, then cosine decay to 0 at the last epoch or when --time-budget is spent, whichever comes first).")
    weight_decay: float = opt(0.05, "AdamW weight decay (not applied to biases and norms).")
    warmup_epochs: float = opt(1.0, "Linear warmup length in epochs.")
    grad_clip: float = opt(1.0, "Clip the gradient norm to this (0 = off).")
    precision: str = opt("auto", "fp32, bf16, fp16 (CUDA only) or auto: bf16 where the hardware has native "
                         "bf16, else fp32.", choices=PRECISIONS)
    channels_last: bool = opt(True, "Use the channels_last memory format for convolutions (usually faster; turn off to compare).")
    compile: str = opt("auto", "Compile the training step with torch.compile (inductor; the first epoch then spends "
                       "30-60 s compiling): on, off, or auto: on for runs of the texture classifier with at least "
                       "1,000 optimiser steps and no --time-budget under 300 s, where it pays on the CPU (1.6x per "
                       "step alone, 1.3-1.4x the epochs in a 10-minute run on 2 cores: docs/results.md, section 7), "
                       "off otherwise or without a C++ compiler ($CXX or g++). If compiling fails, the run stops "
                       "and says to pass --compile off.", choices=COMPILE_MODES)
    workers: int = opt(1, "DataLoader worker processes (augmentation runs there).")
    seed: int = opt(0, "Random seed: same seed, same data order, same result on the CPU.")
    patience: int = opt(0, "Early stopping: epochs without improvement of the validation metric (0 = off).")
    threads: int = opt(0, "torch CPU threads (0 = torch's default). Set it when other processes share the CPU.")
    max_steps_per_epoch: int = opt(0, "Cap on optimiser steps per epoch (0 = full passes); for quick runs.")
    time_budget: float = opt(0.0, "Wall-clock seconds for the whole training command, counted from its start "
                                  "(cache build, validation, checkpoints and crt's head re-training included; crt "
                                  "gets a share by its work). Training stops when it is spent, then the best "
                                  "checkpoint is evaluated (0 = no limit). A run stopped by it counts as finished: "
                                  "--resume does not extend it.")
    progress: bool = opt(True, "Show progress bars.")
