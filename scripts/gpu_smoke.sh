#!/usr/bin/env bash
# The GPU smoke test (docs/gpu.md): the hub-id path on a CUDA GPU in under 10 minutes.
#   scripts/gpu_smoke.sh OUT_DIR [--cpu] [--ray]     log: OUT_DIR/smoke.log
# On a lent machine without vLLM/lm-eval/trl, install the project's wheels first (docs/gpu.md).
set -euo pipefail
out="${1:?usage: scripts/gpu_smoke.sh OUT_DIR [--cpu] [--ray]}"; shift
cd "$(dirname "$0")/.."
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$out/nvidia-smi.csv"
timeout "${SMOKE_TIMEOUT:-570}" python3 scripts/gpu_smoke.py "$out" "$@" 2>&1 | tee "$out/smoke.log"
exit "${PIPESTATUS[0]}"
