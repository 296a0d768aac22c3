#!/usr/bin/env bash
# Reproduce the numbers in docs/results.md (built-in synthetic dataset) and write them there. ~40 min on 2 CPU cores.
# Usage: bash scripts/results.sh [OUT]   (runs go under OUT, default runs/results; OUT must not hold them yet)
# At the end, scripts/results_doc.py copies every table from the runs into docs/results.md's marked blocks, and
# scripts/gallery.py copies the figures into docs/gallery/. Nothing in those blocks is typed by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/results}
A=".venv/bin/artstyle --threads ${THREADS:-2}"
PY=.venv/bin/python
export ARTSTYLE_RUNS="$OUT"

# 1. Imbalance strategies: full-scale built-in dataset (scale 1), 64 px, resnet width 16, 4 full epochs, 3 seeds.
$A classify compare --data builtin --size 64 --width 16 --epochs 4 --seeds 3 \
    --strategies none,resample,weighted-loss,logit-adjust,crt --out "$OUT/strategies"

# 2. The course's in-class baseline against the default resnet, same wall-clock budget (150 s each), 2 seeds.
$A classify compare --data builtin --size 64 --epochs 1000 --time-budget 150 --seeds 2 \
    --models inclass,resnet --strategies logit-adjust --out "$OUT/models"

# 3. Everything else (autoencoder vs PCA, "do styles cluster?", stylizer and its baselines): the demo pipeline's
#    settings on the full-scale built-in dataset. Its report.md holds every table; results_doc.py quotes them.
$A run --profile demo --data builtin --out "$OUT/pipeline-full"

# 4. The model comparison again with a longer budget (300 s each) and the default strategy (crt), 1 seed.
$A classify compare --data builtin --size 64 --epochs 1000 --time-budget 300 --seeds 1 \
    --models inclass,resnet --strategies crt --out "$OUT/models-300s"

# 5. Write the tables into docs/results.md and the figures into docs/gallery/.
$PY scripts/results_doc.py "$OUT/pipeline-full" --compare strategies="$OUT/strategies" \
    --compare models="$OUT/models" --compare models-300s="$OUT/models-300s"
$PY scripts/gallery.py "$OUT/pipeline-full" --strategies "$OUT/strategies"
