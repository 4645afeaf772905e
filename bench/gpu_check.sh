#!/usr/bin/env bash
# The CUDA checks, in one go, on a machine with an NVIDIA GPU: the device tests, a profile, a short run and
# the fidelity bench on cuda, each with its own log and exit status in the results folder.
#
#   bash bench/gpu_check.sh [RESULTS_DIR]        # default: bench/out/gpu-check
#
# Needs: this repository installed (`pip install "torch==..." -e ".[test]"`) and onnxruntime-gpu in place of
# onnxruntime. It stops at once, with one line, when ONNX Runtime offers no CUDA provider. Every step runs
# even if an earlier one failed; the script's exit status is the number of failed steps.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/out/gpu-check}"
mkdir -p "$out"
export NETADAPT_LUT="$out/lut.db"   # a table of its own
export PYTHONUNBUFFERED=1

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  git rev-parse --short HEAD 2>/dev/null || true
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "no nvidia-smi"
  python3 -c "import onnxruntime as ort, torch; print('onnxruntime', ort.__version__, ort.get_available_providers()); print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} > "$out/environment.txt" 2>&1
cat "$out/environment.txt"

if ! python3 -c "import onnxruntime as ort, sys; sys.exit('CUDAExecutionProvider' not in ort.get_available_providers())"; then
  echo "gpu_check: ONNX Runtime has no CUDAExecutionProvider here (install onnxruntime-gpu); nothing run" | tee "$out/summary.txt"
  exit 2
fi

failed=0
step() {  # step NAME TIMEOUT_SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  local start=$(date +%s)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local took=$(( $(date +%s) - start ))
  echo "$name: exit $rc in ${took}s" | tee -a "$out/summary.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
}

: > "$out/summary.txt"
step devices 300 netadapt devices
step device-tests 600 python3 -m pytest -q tests/devices tests/profilers -p no:cacheprovider
step profile 900 netadapt profile --device cuda --model resnet20 --input-shape 32x3x32x32 --no-progress
step lut-check 300 netadapt lut check --device cuda --model resnet20 --input-shape 32x3x32x32 --no-layers --json
step run 1200 netadapt run --device cuda --budget 60% --model resnet20 --data synthetic:classes=10,size=32,n=512 \
  --batch 32 --base-epochs 1 --short-term-steps 5 --long-term-epochs 1 --no-progress --out "$out/run"
step verify 300 netadapt verify "$out/run"
step fidelity 1800 python3 bench/fidelity.py --device cuda --models resnet20,mobilenet_v1 --widths 0.5,1.0 \
  --variants 2 --lut "$out/fidelity-lut.db" --json "$out/fidelity.json"
echo "failed steps: $failed" | tee -a "$out/summary.txt"
exit "$failed"
