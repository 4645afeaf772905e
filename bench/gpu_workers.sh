#!/usr/bin/env bash
# A GPU per worker, on a machine with one CUDA GPU (at most 8 minutes):
#   1. `netadapt run` with one worker on --train-device cuda:0 (the short built-in default: digits_cnn on the
#      digits, latency on the fake device so only training uses the GPU);
#   2. the same from the same base model with --workers 2 --train-device cuda:0,cuda:0 (two workers on one GPU).
# It checks that both runs finish, that during the second one two processes computed on the GPU at the same
# time (nvidia-smi, sampled every second), and prints each run's iterations (pruned group, channels, holdout
# accuracy, seconds of fine-tuning) side by side; on a GPU the scores may differ in their last digits.
#
#     bash bench/gpu_workers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
deadline=$(( $(date +%s) + 470 ))
command -v nvidia-smi >/dev/null || { echo "no nvidia-smi: not a CUDA machine"; exit 1; }
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'this torch sees no CUDA GPU')"
command -v netadapt >/dev/null || python3 -m pip install -q --no-deps -e .
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
work=$(mktemp -d)
sampler=""
cleanup() { [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export NETADAPT_LUT="$work/lut.db"
args=(--budget 70% --device fake --base-epochs 1 --short-term-steps 20 --long-term-epochs 0 --max-iterations 2
      --no-progress)

left() { echo $(( deadline - $(date +%s) )); }

# 1. one worker on cuda:0
t0=$(date +%s)
timeout "$(left)" netadapt run "${args[@]}" --train-device cuda:0 --out "$work/one" > "$work/one.log" 2>&1 \
  || { tail -20 "$work/one.log"; echo "FAIL: one worker on cuda:0"; exit 1; }
echo "one worker on cuda:0: $(( $(date +%s) - t0 )) s"

# 2. two workers on cuda:0, from the same base model and start measurement
mkdir "$work/two"
cp -r "$work/one/base" "$work/one/iter_000" "$work/one/config.json" "$work/one/run.toml" "$work/two/"
# each second: how many processes compute on the GPU, and how many of them are spawned candidate workers
( while true; do
    pids=$(nvidia-smi --query-compute-apps=pid --format=csv,noheader | sort -u)
    workers=0
    for p in $pids; do tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q spawn_main && workers=$((workers + 1)); done
    echo "$(echo $pids | wc -w) $workers"
    sleep 1
  done ) > "$work/gpu_pids.txt" 2>/dev/null &
sampler=$!
t0=$(date +%s)
timeout "$(left)" netadapt run "${args[@]}" --workers 2 --train-device cuda:0,cuda:0 --out "$work/two" \
  > "$work/two.log" 2>&1 || { tail -20 "$work/two.log"; echo "FAIL: two workers on cuda:0,cuda:0"; exit 1; }
echo "two workers on cuda:0,cuda:0: $(( $(date +%s) - t0 )) s"
kill "$sampler"; sampler=""

python3 - "$work" <<'EOF'
import json, sys
from pathlib import Path

work = Path(sys.argv[1])
samples = [tuple(map(int, line.split())) for line in (work / "gpu_pids.txt").read_text().splitlines()
           if len(line.split()) == 2]
most = max((s[0] for s in samples), default=0)
workers = max((s[1] for s in samples), default=0)
print(f"during the two-worker run, at most {most} process(es) computed on the GPU at once, {workers} of them "
      "candidate workers (0 where nvidia-smi shows another PID namespace's ids)")
for k in (1, 2):
    rows = []
    for run in ("one", "two"):
        info = json.loads((work / run / f"iter_{k:03d}" / "info.json").read_text())
        rows.append(f"{run}: {info['pruned_group']} {sum(info['channels'].values())} channels, holdout "
                    f"{info['holdout_accuracy']:.4f}, fine-tune {info['seconds'].get('finetune', 0):.1f} s, "
                    f"candidates {info['seconds'].get('candidates_wall', 0):.1f} s")
    print(f"iteration {k}: " + " | ".join(rows))
same = all(json.loads((work / "one" / f"iter_{k:03d}" / "info.json").read_text())["channels"]
           == json.loads((work / "two" / f"iter_{k:03d}" / "info.json").read_text())["channels"] for k in (1, 2))
print("same channels in both runs:", same)
if not (workers >= 2 or (workers == 0 and most >= 2)):  # 0: PIDs from another namespace, not told apart
    sys.exit("FAIL: the two workers never computed on the GPU at the same time")
print("OK")
EOF
