#!/usr/bin/env bash
# The one GPU check of artstyle (issue "Ready for a GPU and for all of WikiArt"): classifier fp32/bf16, evaluation,
# stylizer, LoRA on the tiny random pipeline with and without --cache-latents, accelerate launch on 2 GPUs where
# they exist. Prints a Markdown table; under 8 minutes on one recent GPU. Needs no downloads.
#
# Usage, from the repository root on a CUDA machine:
#
#     bash benchmarks/gpu_check.sh              # installs the package into .venv first if needed
#     DOC=1 bash benchmarks/gpu_check.sh        # also writes the table into docs/benchmarks.md
#     bash benchmarks/gpu_check.sh --allow-cpu --scale 0.02 --epochs 1 --lora-steps 2   # smoke-test on a CPU
#
# Extra arguments go to benchmarks/gpu_check.py (see its --help). Also see benchmarks/lora_gpu_check.sh for the
# LoRA resume and generation checks under fp16/bf16.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv && .venv/bin/python -m pip install --quiet -e '.[dev]'
    fi
    PY=.venv/bin/python
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" benchmarks/gpu_check.py ${DOC:+--doc} "$@"
