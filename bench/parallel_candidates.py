"""Benchmark: NetAdapt's candidate phase with candidates fine-tuned one after another (``--workers 1``) and in
two worker processes (``--workers 2``), side by side.

A base model is trained and its start measured once (on the fake device, so the benchmark times fine-tuning,
not latency measurement); each repeat then runs two iterations on a copy of that folder, alternating between
the worker counts so both see the same load. Torch threads are the same for both: one process with all of
them, or each worker with its share. Printed per worker count, medians over the repeats: the whole run's wall
time, the candidate phase of iteration 1 (with 2 workers it includes starting them: spawn, imports, data) and
of iteration 2 (workers already running), and the candidates per hour of iteration 2. On a machine that other
work keeps busy, the speed-up is smaller than its core count suggests.

    python bench/parallel_candidates.py                      # resnet20, 3 repeats (minutes)
    python bench/parallel_candidates.py --model digits_cnn --data digits --steps 10 --repeats 1   # quick
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="resnet20")
    p.add_argument("--data", default="synthetic:classes=10,size=32,n=1000,channels=3,test=200")
    p.add_argument("--steps", type=int, default=30, help="short-term fine-tune steps per candidate")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", default="1,2", help="worker counts to compare")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch threads of the main process (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    import torch

    from netadapt.algorithm.loop import NetAdaptRun
    from netadapt.config.run import ExecutionConfig, FineTuneConfig, RunConfig
    from netadapt.config.schedule import ReductionSchedule
    from netadapt.runs import folder as rf

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    workers = [int(w) for w in args.workers.split(",")]
    config = RunConfig(budget="50%", model=args.model, data=args.data, holdout=200, device="fake", batch=1,
                       base_epochs=1, schedule=ReductionSchedule(initial=0.05, floor=0.05),
                       finetune=FineTuneConfig(short_steps=args.steps, long_epochs=0, batch_size=args.batch_size),
                       warmup=0, repeats=1, model_repeats=1, seed=args.seed, max_iterations=0)
    root = Path(tempfile.mkdtemp(prefix="parallel-candidates-"))
    quiet = dict(progress=False, log=lambda *_: None)
    try:
        base = root / "base"
        NetAdaptRun(config, base, lut=str(root / "lut.db"), **quiet).run()  # the start model, measured
        two_iterations = dataclasses.replace(config, max_iterations=2)
        rows = {w: [] for w in workers}
        for r in range(args.repeats):
            for w in workers if r % 2 == 0 else workers[::-1]:
                out = root / f"w{w}-r{r}"
                out.mkdir()
                for name in ("base", "iter_000", "config.json"):
                    src = base / name
                    shutil.copytree(src, out / name) if src.is_dir() else shutil.copy(src, out / name)
                t0 = time.perf_counter()
                NetAdaptRun(two_iterations, out, lut=str(root / "lut.db"), execution=ExecutionConfig(workers=w),
                            **quiet).run()
                total = time.perf_counter() - t0
                phases, counts, chosen = [], [], []
                for k in (1, 2):
                    info = rf.read_json(rf.iteration_dir(out, k) / "info.json")
                    s = info["seconds"]  # one worker: its phases follow each other
                    phases.append(s.get("candidates_wall", s.get("prune", 0) + s.get("finetune", 0)
                                        + s.get("evaluate", 0)))
                    counts.append(sum(1 for c in info["candidates"] if c["feasible"]))
                    chosen.append(info["pruned_group"])
                rows[w].append((total, *phases, counts[1], "+".join(chosen)))
                print(f"repeat {r + 1}, {w} worker(s): {total:.1f} s in all, candidates {phases[0]:.1f} s "
                      f"({counts[0]}) and {phases[1]:.1f} s ({counts[1]}), chose {' then '.join(chosen)}", flush=True)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.model}, {args.steps} fine-tune steps of batch {args.batch_size} per candidate, "
          f"{torch.get_num_threads()} torch thread(s) in the main process, medians of {args.repeats}:")
    print(f"{'workers':>7}  {'run s':>6}  {'iter 1 candidates s':>19}  {'iter 2 candidates s':>19}  "
          f"{'candidates/hour':>15}  {'speed-up':>8}  chosen")
    ref = None
    for w in workers:
        total, first, second = (statistics.median(row[k] for row in rows[w]) for k in range(3))
        n = rows[w][0][3]
        ref = ref or second
        chosen = ",".join(sorted({row[4] for row in rows[w]}))
        print(f"{w:>7}  {total:>6.1f}  {first:>19.1f}  {second:>19.1f}  {3600 * n / second:>15.0f}  "
              f"{ref / second:>7.2f}x  {chosen}")


if __name__ == "__main__":
    main()
