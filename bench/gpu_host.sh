#!/usr/bin/env bash
# What a lent GPU machine is used for, in one go (minutes), the steps named in STEPS (default all three):
#   fidelity: first, while the machine is otherwise idle, the table-fidelity bench at the run's batch
#      (bench/fidelity.py --jobs), once on the grid measured on the 2-core development machine and once on
#      the other widths: a second, quiet machine's answer to how close the table is to whole models.
#   train: two CIFAR-10 bases trained on the GPU, side by side, each fitted to a time budget
#      (bench/train_cifar.py --device cuda --time-budget S): ResNet-20 and MobileNetV1 x0.5.
#   tests: meanwhile, PyTorch on CUDA: the training tests that need a GPU (training, fine-tuning and a
#      NetAdapt run with --train-device cuda), then bench/gpu_check.sh (ONNX Runtime's CUDA provider).
#
#   bash bench/gpu_host.sh RESULTS_DIR CIFAR_TAR [TRAIN_SECONDS]
#   STEPS=fidelity FIDELITY_JOBS=4 bash bench/gpu_host.sh RESULTS_DIR CIFAR_TAR 120
#
# Every step writes its log under RESULTS_DIR and its exit status to RESULTS_DIR/summary.txt; the script
# goes on after a failed step. Cores: training on 0-7, tests on 14-15 (PIN=0: no pinning, for a dry run on a
# smaller machine); the fidelity bench pins its own processes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?results folder}
tar=${2:?CIFAR-10 tar.gz}
budget=${3:-270}
device=${TRAIN_DEVICE:-cuda}           # for a dry run elsewhere: TRAIN_DEVICE=cpu EXTRA_TRAIN_ARGS="--train-limit 500"
extra=${EXTRA_TRAIN_ARGS:-}
models=${FIDELITY_MODELS:-digits_cnn,mobilenet_v1,mobilenet_v2,resnet20,vgg11}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
: > "$out/summary.txt"

step() {  # step NAME TIMEOUT_SECONDS CORES COMMAND...
  local name=$1 limit=$2 cores=$3; shift 3
  local start=$(date +%s)
  local pin=(taskset -c "$cores")
  [ "${PIN:-1}" = 0 ] && pin=()
  timeout "$limit" "${pin[@]}" "$@" > "$out/$name.log" 2> "$out/$name.err"
  local rc=$?
  echo "$name: exit $rc in $(( $(date +%s) - start ))s" >> "$out/summary.txt"
}

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  git rev-parse --short HEAD 2>/dev/null || true
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "no nvidia-smi"
  lscpu | grep -E "Model name|^CPU\(s\)|Thread|Core|Socket|L3" || true
  uptime
  python3 -c "import onnxruntime as ort, torch; print('onnxruntime', ort.__version__, ort.get_available_providers()); print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} > "$out/environment.txt" 2>&1

work="$out/work"
jobs=${FIDELITY_JOBS:-4}
fid_limit=${FIDELITY_SECONDS:-420}   # each of the two fidelity steps
steps=" ${STEPS:-fidelity train tests} "

# 1. The table's fidelity on this machine's CPU while nothing else runs: the grid measured on the 2-core
#    development machine, then the other widths, each split over $jobs processes on physical cores of
#    their own (bench/fidelity.py --jobs) and scored together.
if [[ $steps == *" fidelity "* ]]; then
  step fidelity-grid "$fid_limit" 0-$(( $(nproc) - 1 )) python3 bench/fidelity.py --batch 32 --sizes 32 \
    --widths 0.5,1.0 --variants 1 --jobs "$jobs" --models "$models" --json "$out/fidelity-grid.json"
  step fidelity-other-widths "$fid_limit" 0-$(( $(nproc) - 1 )) python3 bench/fidelity.py --batch 32 \
    --sizes 32 --widths 0.25,0.75 --variants 1 --seed 1 --jobs "$jobs" --models "$models" \
    --json "$out/fidelity-other-widths.json"
fi

# 2. Two CIFAR-10 bases on the GPU, side by side; the first training unpacks and decodes the images into
#    its cache, the second starts once that is done. 3. Meanwhile the CUDA tests and bench/gpu_check.sh.
if [[ $steps == *" train "* ]]; then
  step train-resnet20 $((budget + 200)) 0-3 python3 bench/train_cifar.py --model resnet20 --device "$device" \
    --time-budget "$budget" --epochs 300 --warmup-epochs 1 --label-smoothing 0.1 --threads 4 --tar "$tar" \
    --work "$work" --fresh $extra &
  first=$!
  for _ in $(seq 120); do
    grep -q "^loaded" "$out/train-resnet20.log" 2>/dev/null && break
    kill -0 "$first" 2>/dev/null || break
    sleep 1
  done
  step train-mobilenet_v1 $((budget + 200)) 4-7 python3 bench/train_cifar.py --model mobilenet_v1 --width-mult 0.5 \
    --device "$device" --time-budget "$budget" --epochs 300 --warmup-epochs 1 --label-smoothing 0.1 --threads 4 \
    --tar "$tar" --work "$work" --fresh $extra &
fi
if [[ $steps == *" tests "* ]]; then
  step cuda-tests 300 14-15 python3 -m pytest -q -p no:cacheprovider tests/training/test_device.py \
    tests/algorithm/test_loop_e2e.py -k "cuda or device" -rs
  step gpu-check 120 14-15 bash bench/gpu_check.sh "$out/gpu-check"
fi
wait
for d in "$work"/train_cifar-*; do
  [ -d "$d" ] || continue
  mkdir -p "$out/bases/$(basename "$d")"
  cp "$d"/model.pt "$d"/result.json "$out/bases/$(basename "$d")/" 2>/dev/null
done
rm -rf "$work"
cat "$out/summary.txt"
