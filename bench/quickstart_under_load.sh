#!/usr/bin/env bash
# The README quick start beside CPU-bound work: does "met" hold when the final model is measured again?
#
#   bash bench/quickstart_under_load.sh [RUNS] [LOAD_PROCESSES] [RESULTS_DIR]    # default 3 runs, 1 process
#
# Starts LOAD_PROCESSES busy Python loops, then runs `netadapt run --budget 70%` RUNS times, each with a
# fresh table and run folder, each followed by `netadapt verify` of its final model; stops the load and
# prints every run's final line, its stop line and the re-measurement, with the wall time and load average.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
load=${2:-1}
out=${3:-bench/out/quickstart-under-load}
rm -rf "$out"
mkdir -p "$out"
netadapt=(python3 -m netadapt.cli)

pids=()
for _ in $(seq "$load"); do
  python3 -c "while True: pass" &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT

for r in $(seq "$runs"); do
  start=$(date +%s)
  NETADAPT_LUT="$out/lut-$r.db" "${netadapt[@]}" run --budget 70% --out "$out/run-$r" --no-progress \
    > "$out/run-$r.log" 2>&1
  took=$(( $(date +%s) - start ))
  NETADAPT_LUT="$out/lut-$r.db" "${netadapt[@]}" verify "$out/run-$r" > "$out/verify-$r.log" 2>&1
  echo "run $r: ${took} s, load $(cut -d' ' -f1 /proc/loadavg)"
  grep -E "^Start:|^final|^stopped" "$out/run-$r.log"
  tail -n 1 "$out/verify-$r.log"
done
