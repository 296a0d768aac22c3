"""The main job: every stage in order, into one resumable pipeline run directory, then the report.

Usage::

    run = run_pipeline(PipelineConfig(profile="demo"))                # runs/pipeline/<timestamp>-demo/
    run_pipeline(PipelineConfig(out=str(run)))                         # resume: stages already done are skipped

    artstyle run --profile tiny|demo|full [--data SRC] [--config pipeline.toml] [--pretrained ID] [--out DIR]

Submodules: ``config`` (PipelineConfig, the settings sections, resolve_settings; torch-free), ``profiles``
(tiny / demo / full), ``stages`` (one function per stage and the ``STAGES`` table), ``state`` (the
pipeline directory and pipeline.json), ``run`` (run_pipeline). Each stage writes its run directory under
``<pipeline>/stages/<stage>/``. Importing this package does not import torch; the stages import it when they run.
"""

from __future__ import annotations

from artstyle.pipeline.config import PipelineConfig, pipeline_command, resolve_settings
from artstyle.pipeline.profiles import PROFILE_NAMES, PROFILES
from artstyle.pipeline.run import run_pipeline
from artstyle.pipeline.stages import STAGE_KEYS, STAGES

__all__ = ["PROFILES", "PROFILE_NAMES", "STAGES", "STAGE_KEYS", "PipelineConfig", "pipeline_command",
           "resolve_settings", "run_pipeline"]
