#!/usr/bin/env bash
# Reproduce the numbers in docs/results.md (built-in synthetic dataset). ~1 hour on 2 CPU cores.
# Usage: bash scripts/results.sh [OUT]   (runs go under OUT, default runs/results)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/results}
A=".venv/bin/artstyle --threads ${THREADS:-1}"
export ARTSTYLE_RUNS="$OUT"

# 1. Imbalance strategies: full-scale built-in dataset (scale 1), 64 px, resnet width 16, 4 full epochs, 3 seeds.
$A classify compare --data builtin --size 64 --width 16 --epochs 4 --seeds 3 \
    --strategies none,resample,weighted-loss,logit-adjust,crt --name strategies

# 2. The course's in-class baseline against the default resnet, same wall-clock budget (150 s each), 2 seeds.
$A classify compare --data builtin --size 64 --epochs 1000 --time-budget 150 --seeds 2 \
    --models inclass,resnet --strategies logit-adjust --name models

# 3. Everything else (autoencoder vs PCA, "do styles cluster?", stylizer and its baselines): the demo pipeline's
#    settings on the full-scale built-in dataset. Its report.md holds every table; docs/results.md quotes them.
$A run --profile demo --data builtin --out "$OUT/pipeline-full"

# 4. The model comparison again with a longer budget (300 s each) and the default strategy (crt), 1 seed.
$A classify compare --data builtin --size 64 --epochs 1000 --time-budget 300 --seeds 1 \
    --models inclass,resnet --strategies crt --name models-300s
