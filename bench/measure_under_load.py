"""Benchmark: a whole-model latency ratio measured under load, the block way and the paired way.

Exports a zoo model at width 1.0 (the reference, "ref") and at a smaller width ("new"), then on
the CPU device estimates the ratio new/ref, and ref/ref (two sessions of one model: the true ratio
is exactly 1), again and again with

  block:  blocks of runs: 3 rounds of (10 warm-up + 40 runs of A, then 10 + 40 of B); the median
          of the round ratios (both sessions built once, as netadapt.latency.paired.block_ratio);
  paired: netadapt.latency.paired.compare_timers: A and B alternated run by run, the median of the
          pair ratios with its 95% interval, at least 30 pairs, until the interval's half-width is
          1% of the ratio (at most 480 pairs or --max-seconds),

the two methods interleaved, under three conditions the script starts and stops itself: quiet (no
load of its own; the machine may still be shared), busy (--load-procs processes that stream a
32 MB array through memory without a pause) and switching (the same load, on and off every
--switch-period seconds).

For every method x condition x comparison it prints: the median of the estimates, their spread
(max - min and p10-p90, in % of the median), for ref/ref the largest |ratio - 1| and (paired) how
many intervals contain 1, the mean 95% interval width (paired, in %), the mean pairs and the
seconds per estimate.

What it demonstrates (one run, AMD EPYC KVM guest with 2 cores shared with other work, 1 ORT
thread, resnet20 at batch 32, 32x32, ref about 12.5 ms, new = width 0.75, 10 estimates per row):

  - ref/ref, whose true ratio is 1: the largest |ratio - 1| of one estimate was 4.1% (quiet),
    7.8% (busy) and 1.6% (switching) with blocks, and 0.45%, 1.06% and 0.48% paired; all 30
    paired 95% intervals contained 1.
  - new/ref: the p10-p90 spread of the estimates was 1.7% / 14.6% / 2.2% with blocks (max - min
    39% when busy), and 0.9% / 3.8% / 2.0% paired; the medians of both methods agree (0.896-0.901).
  - the paired interval widens with the load (about 1.4-1.5% wide quiet, 3-3.4% busy) and the
    paired method then takes more pairs (about 45 -> 100) and time (1.4 s -> 5 s per estimate;
    blocks: 3.6 s -> 7 s).
  So the tolerance shown: one paired estimate lands within about +-1% of the truth on a quiet
  machine and about +-2% under load, where one block estimate of ref against itself was off by up
  to 4% quiet and 8% under load, and the block estimates of new/ref spanned 39% under load. On
  this machine the switching load on the other core hardly disturbed either method; "busy" did,
  by time-sharing the cores with other processes (estimates took twice as long).

    python bench/measure_under_load.py                          # about 8 minutes
    python bench/measure_under_load.py --reps 3 --batch 8       # quick
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

Timer = Callable[[], float]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="resnet20")
    p.add_argument("--width", type=float, default=0.75, help="width multiplier of the new model")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=32, help="input size (square)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=10, help="estimates per method, condition and comparison")
    p.add_argument("--conditions", default="quiet,busy,switching")
    p.add_argument("--load-procs", type=int, default=1, help="load processes (busy and switching)")
    p.add_argument("--switch-period", type=float, default=0.5, help="seconds on, then off, of the switching load")
    p.add_argument("--runs", type=int, default=40, help="block: timed runs per block")
    p.add_argument("--rounds", type=int, default=3, help="block: rounds")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--min-pairs", type=int, default=30)
    p.add_argument("--max-pairs", type=int, default=480)
    p.add_argument("--precision", type=float, default=0.01, help="paired: target relative half-width")
    p.add_argument("--max-seconds", type=float, default=10.0, help="paired: time limit per estimate")
    p.add_argument("--pin", action="store_true", help="pin this process to CPU 0 and the load to the others")
    return p.parse_args(argv)


def _load_worker(stop, period: float, cpus) -> None:
    """Stream a 32 MB array through memory until ``stop`` is set; with ``period`` > 0, only every
    other ``period`` seconds (sleeping in between)."""
    import numpy as np

    if cpus:
        os.sched_setaffinity(0, cpus)
    a = np.ones(4_000_000)
    b = np.empty_like(a)
    while not stop.is_set():
        if period > 0:
            now = time.monotonic()
            if int(now / period) % 2:
                time.sleep(period - now % period)
                continue
        np.copyto(b, a)
        a, b = b, a


class Load:
    """A context manager running the load processes of one condition (none for quiet)."""

    def __init__(self, condition: str, procs: int, period: float, pin: bool):
        self.condition, self.procs, self.period, self.pin = condition, procs, period, pin
        self.ctx = multiprocessing.get_context("spawn")
        self.stop = self.ctx.Event()
        self.workers = []

    def __enter__(self):
        if self.condition == "quiet":
            return self
        period = self.period if self.condition == "switching" else 0.0
        cpus = sorted(os.sched_getaffinity(0) - {0}) if self.pin else None
        for _ in range(self.procs):
            w = self.ctx.Process(target=_load_worker, args=(self.stop, period, cpus), daemon=True)
            w.start()
            self.workers.append(w)
        time.sleep(1.0)  # let the workers start and fill their arrays
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for w in self.workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join()
        return False


def _quantile(values, q):
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# ---- the block method, the comparison's other arm ------------------------------------------------

@dataclass(frozen=True)
class BlockConfig:
    """Today's block method: ``rounds`` x (``runs`` of A, then ``runs`` of B).

    Attributes:
        runs: timed runs per block.
        rounds: rounds; the ratio is the median of the rounds' ratios.
        warmup: untimed runs before each block.
    """

    runs: int = 40
    rounds: int = 3
    warmup: int = 10


@dataclass(frozen=True)
class BlockResult:
    """The latency ratio A / B from blocks of runs.

    Attributes:
        ratio: median over rounds of (median of A's block / median of B's block).
        round_ratios: each round's ratio.
        a_ms: median of A's block medians, in milliseconds.
        b_ms: median of B's block medians, in milliseconds.
        seconds: wall time spent.
    """

    ratio: float
    round_ratios: tuple[float, ...]
    a_ms: float
    b_ms: float
    seconds: float


def block_ratio(timer_a: Timer, timer_b: Timer, config: BlockConfig | None = None,
                clock: Callable[[], float] = time.perf_counter) -> BlockResult:
    """Estimate latency(A) / latency(B) the block way: ``runs`` of A, then ``runs`` of B, per round.

    Args:
        timer_a: times model A once (milliseconds).
        timer_b: times model B once (milliseconds).
        config: runs, rounds and warm-up.
        clock: seconds, for ``seconds``.
    """
    cfg = config or BlockConfig()
    start = clock()

    def block(timer: Timer) -> float:
        for _ in range(cfg.warmup):
            timer()
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            return statistics.median(timer() for _ in range(cfg.runs))
        finally:
            if gc_enabled:
                gc.enable()

    rounds = [(block(timer_a), block(timer_b)) for _ in range(cfg.rounds)]
    return BlockResult(ratio=statistics.median(a / b for a, b in rounds),
                       round_ratios=tuple(a / b for a, b in rounds),
                       a_ms=statistics.median(a for a, _ in rounds),
                       b_ms=statistics.median(b for _, b in rounds), seconds=clock() - start)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from devices import get_device
    from netadapt.export import export_onnx
    from netadapt.latency.paired import PairedConfig, compare_timers, model_timer
    from netadapt.models import create_model, model_info

    torch.set_num_threads(1)
    if args.pin:
        os.sched_setaffinity(0, {0})
    conditions = args.conditions.split(",")
    for c in conditions:
        if c not in ("quiet", "busy", "switching"):
            raise SystemExit(f"unknown condition {c!r}; valid: quiet, busy, switching")
    shape = (args.batch, model_info(args.model).default_input[0], args.size, args.size)
    device = get_device(args.device, threads=args.threads)
    block_cfg = BlockConfig(runs=args.runs, rounds=args.rounds, warmup=args.warmup)
    paired_cfg = PairedConfig(warmup=args.warmup, min_pairs=args.min_pairs, max_pairs=args.max_pairs,
                              precision=args.precision, max_seconds=args.max_seconds)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        ref_path = export_onnx(create_model(args.model), Path(tmp) / "ref.onnx", shape)
        new_path = export_onnx(create_model(args.model, width_mult=args.width), Path(tmp) / "new.onnx", shape)
        timers = {"ref": model_timer(device, ref_path, shape), "ref2": model_timer(device, ref_path, shape),
                  "new": model_timer(device, new_path, shape)}
        comparisons = {"new/ref": ("new", "ref"), "ref/ref": ("ref", "ref2")}
        print(f"{args.model} at {'x'.join(map(str, shape))}, new = width {args.width}, on {device!r}; "
              f"{args.reps} estimates per row; load: {args.load_procs} process(es), switching every "
              f"{args.switch_period} s; paired: {args.min_pairs}-{args.max_pairs} pairs, "
              f"precision {args.precision:.0%}, <= {args.max_seconds} s", flush=True)
        results = {}  # (condition, method, comparison) -> list of results
        t_start = time.perf_counter()
        for condition in conditions:
            with Load(condition, args.load_procs, args.switch_period, args.pin):
                load1 = os.getloadavg()[0]
                for rep in range(args.reps):
                    for label, (a, b) in comparisons.items():
                        methods = ("block", "paired") if rep % 2 == 0 else ("paired", "block")
                        for method in methods:
                            if method == "block":
                                r = block_ratio(timers[a], timers[b], block_cfg)
                            else:
                                r = compare_timers(timers[a], timers[b], config=paired_cfg)
                            results.setdefault((condition, method, label), []).append(r)
            print(f"  {condition}: done at {time.perf_counter() - t_start:.0f} s (load average at its "
                  f"start {load1:.2f})", flush=True)

    header = (f"{'condition':<10} {'method':<7} {'ratio':<8} {'median':>7} {'max-min':>8} {'p10-p90':>8} "
              f"{'max|r-1|':>9} {'CI ∋ 1':>7} {'CI width':>9} {'pairs':>6} {'s/est':>6}")
    print()
    print(header)
    print("-" * len(header))
    for condition in conditions:
        for method in ("block", "paired"):
            for label in comparisons:
                rs = results[(condition, method, label)]
                ratios = [r.ratio for r in rs]
                med = statistics.median(ratios)
                spread = 100 * (max(ratios) - min(ratios)) / med
                p1090 = 100 * (_quantile(ratios, 0.9) - _quantile(ratios, 0.1)) / med
                self_err = f"{100 * max(abs(x - 1) for x in ratios):8.2f}%" if label == "ref/ref" else ""
                if method == "paired":
                    width = f"{100 * statistics.mean((r.high - r.low) / r.ratio for r in rs):8.2f}%"
                    pairs = f"{statistics.mean(r.pairs for r in rs):6.0f}"
                    covers = (f"{sum(r.low <= 1.0 <= r.high for r in rs)}/{len(rs)}"
                              if label == "ref/ref" else "")
                else:
                    width, pairs, covers = "", "", ""
                secs = statistics.mean(r.seconds for r in rs)
                print(f"{condition:<10} {method:<7} {label:<8} {med:7.4f} {spread:7.2f}% {p1090:7.2f}% "
                      f"{self_err:>9} {covers:>7} {width:>9} {pairs:>6} {secs:6.2f}")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
