#!/usr/bin/env bash
# GPU check of `artstyle lora`: the fp16 and bf16 training paths, with and without --cache-latents, resume with
# the fp16 GradScaler state, and generation, on the tiny random Stable Diffusion of tests/tiny_sd.py (no
# downloads; a few minutes at most).
#
# Usage (from the repository root, on a machine with a CUDA GPU and the package installed):
#
#     bash benchmarks/lora_gpu_check.sh                 # work dir /tmp/artstyle-lora-gpu-check
#     PYTHON=.venv/bin/python STEPS=40 bash benchmarks/lora_gpu_check.sh
#
# Prints OK or FAIL per check with the final loss and the mean step time, and exits non-zero when any failed.
# The tiny model paints noise: this checks that mixed precision, the latent cache, checkpoints and generation
# work on CUDA, not image quality.

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

final_loss() {  # final_loss RUN: its last loss, and the mean step time of its first $STEPS steps; or "none"
    "$PY" - "$1/metrics.jsonl" "$STEPS" <<'EOF' 2>/dev/null || echo none
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
first = [r for r in rows if r["step"] <= int(sys.argv[2])]  # the resumed run's clock starts again
ms = (first[-1]["seconds"] - first[0]["seconds"]) / max(1, first[-1]["step"] - first[0]["step"]) * 1e3
print(f"{rows[-1]['loss']:.4f} (step {rows[-1]['step']}; {ms:.0f} ms/step before the resume)")
EOF
}

status=0
check() {  # check NAME PRECISION EXTRA_TRAIN_FLAGS...
    local name=$1 mode=$2; shift 2
    local run="$WORK/run-$name" log="$WORK/$name.log" ok=1
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
        echo "OK   $name: final loss $loss"
    else
        echo "FAIL $name: final loss $loss; last lines of $log:"
        tail -n 15 "$log" | sed 's/^/     /'
        status=1
    fi
}

# fp16 + text-encoder LoRA: both adapters must stay fp32 for the GradScaler (latents cached, prompts not)
check fp16-te fp16 --train-text-encoder --cache-latents on
check fp16-cached fp16 --cache-latents on --noise-offset 0.05
check fp16-pixels fp16 --cache-latents off
check bf16-cached bf16 --cache-latents on --prediction-type v_prediction
check bf16-pixels bf16 --cache-latents off --crop random
exit $status
