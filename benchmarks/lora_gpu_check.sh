#!/usr/bin/env bash
# GPU check of `artstyle lora`: the fp16 and bf16 training paths, resume with the fp16 GradScaler state, and
# generation, on the tiny random Stable Diffusion of tests/tiny_sd.py (no downloads; a few minutes at most).
#
# Usage (from the repository root, on a machine with a CUDA GPU and the package installed):
#
#     bash benchmarks/lora_gpu_check.sh                 # work dir /tmp/artstyle-lora-gpu-check
#     PYTHON=.venv/bin/python STEPS=40 bash benchmarks/lora_gpu_check.sh
#
# Prints OK or FAIL per mode with the final loss, and exits non-zero when any mode failed. The tiny model
# paints noise: this checks that mixed precision, checkpoints and generation work on CUDA, not image quality.

set -u
PY=${PYTHON:-python}
STEPS=${STEPS:-20}
WORK=${WORK:-/tmp/artstyle-lora-gpu-check}
ART=("$PY" -m artstyle.cli)
export HF_HUB_OFFLINE=1 ARTSTYLE_CACHE="$WORK/cache" ARTSTYLE_RUNS="$WORK/runs" PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"

rm -rf "$WORK" && mkdir -p "$WORK"
"$PY" -c "import torch, sys; ok = torch.cuda.is_available(); print('cuda:', ok, torch.cuda.get_device_name(0) if ok else ''); sys.exit(0 if ok else 1)" \
    || { echo "FAIL: no CUDA GPU visible to torch"; exit 1; }
"$PY" tests/tiny_sd.py "$WORK/tiny-sd" >/dev/null || { echo "FAIL: could not build the tiny pipeline"; exit 1; }
"$PY" - "$WORK/paintings" <<'EOF' || { echo "FAIL: could not write the test images"; exit 1; }
import sys
from pathlib import Path
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
for ci, style in enumerate(["Baroque", "Pop_Art", "Ukiyo_e"]):
    for split, n in (("train", 8), ("test", 2)):
        for i in range(n):
            arr = np.clip(np.array([ci * 90, 255 - ci * 90, 60]) + rng.integers(-40, 40, (80, 80, 3)), 0, 255)
            path = Path(sys.argv[1]) / split / style / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr.astype(np.uint8)).save(path)
EOF

final_loss() {  # last loss in a run's metrics.jsonl, or "none"
    "$PY" -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(f\"{r[-1]['loss']:.4f} (step {r[-1]['step']})\")" \
        "$1/metrics.jsonl" 2>/dev/null || echo none
}

status=0
check() {  # check MODE EXTRA_TRAIN_FLAGS...
    local mode=$1; shift
    local run="$WORK/run-$mode" log="$WORK/$mode.log" ok=1
    "${ART[@]}" lora train --pretrained "$WORK/tiny-sd" --data "$WORK/paintings" --out "$run" --overwrite \
        --precision "$mode" --max-steps "$STEPS" --resolution 64 --batch-size 2 --gradient-accumulation 2 \
        --learning-rate 1e-3 --gradient-checkpointing --snr-gamma 5 --checkpoint-every $((STEPS / 2)) \
        --validate-every $((STEPS / 2)) --validation-inference-steps 4 --log-every 5 --workers 2 --no-progress \
        "$@" >"$log" 2>&1 || ok=0
    # resume: continue 4 more steps from the latest checkpoint (loads the GradScaler state under fp16)
    [ $ok = 1 ] && { "${ART[@]}" lora train --resume "$run" --max-steps $((STEPS + 4)) --no-progress >>"$log" 2>&1 || ok=0; }
    [ $ok = 1 ] && { "${ART[@]}" lora generate "$run" --styles all --n 2 --steps 4 --compare --no-progress >>"$log" 2>&1 || ok=0; }
    [ $ok = 1 ] && [ -f "$run/figures/generate/Baroque-compare.png" ] && [ -f "$run/pytorch_lora_weights.safetensors" ] || ok=0
    local loss; loss=$(final_loss "$run")
    case $loss in *nan*|*inf*|none) ok=0 ;; esac
    if [ $ok = 1 ]; then
        echo "OK   $mode: final loss $loss"
    else
        echo "FAIL $mode: final loss $loss; last lines of $log:"
        tail -n 15 "$log" | sed 's/^/     /'
        status=1
    fi
}

check fp16 --train-text-encoder   # fp16 + text-encoder LoRA: both adapters must stay fp32 for the GradScaler
check bf16
exit $status
