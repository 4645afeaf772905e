"""Benchmark: NetAdapt's candidate phase with 1, 2 and 4 workers, in local worker processes and on Ray, side by
side.

A base model is trained and its start measured once (on the fake device, so the benchmark times fine-tuning,
not latency measurement); each repeat then runs two iterations on a copy of that folder for every executor and
worker count, in alternating order so all see the same load. Torch threads are the same for all: one process
with all of them, or each worker with its share. Ray is a local instance started once on the loopback address
(usage statistics off) with as many CPUs as the most workers, or the cluster at --ray-address; its start is
not timed. Printed per executor and worker count, medians over the repeats: the whole run's wall time, the
candidate phase of iteration 1 (with workers it includes starting them: spawn, imports, data), iteration 2's
wall time and candidate phase (workers already running), and iteration 2's wall time and candidate phase as
ratios to one worker in this process. On a machine that other work keeps busy, the speed-up is smaller than
its core count suggests.

    python bench/parallel_candidates.py                      # resnet20, 3 repeats (minutes)
    python bench/parallel_candidates.py --model digits_cnn --data digits --steps 10 --repeats 1   # quick
    python bench/parallel_candidates.py --executors local --workers 1,2   # without Ray
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
    p.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    p.add_argument("--executors", default="local,ray", help="executors to compare (ray: pip install 'netadapt[ray]')")
    p.add_argument("--ray-address", default=None, help="a running Ray cluster (default: a local one, started here)")
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
    executors = args.executors.split(",")
    configs = [(e, w) for e in executors for w in workers]
    config = RunConfig(budget="50%", model=args.model, data=args.data, holdout=200, device="fake", batch=1,
                       base_epochs=1, schedule=ReductionSchedule(initial=0.05, floor=0.05),
                       finetune=FineTuneConfig(short_steps=args.steps, long_epochs=0, batch_size=args.batch_size),
                       warmup=0, repeats=1, model_repeats=1, seed=args.seed, max_iterations=0)
    if "ray" in executors:
        import os

        import ray

        from netadapt.algorithm.ray_executor import stay_on_loopback

        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        if args.ray_address is None:  # this process's own instance, on loopback, with no token to write
            stay_on_loopback()
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        # started once: the runs' executors find it connected and keep it
        ray.init(address=args.ray_address, num_cpus=None if args.ray_address else max(workers),
                 include_dashboard=False, log_to_driver=False)
    root = Path(tempfile.mkdtemp(prefix="parallel-candidates-"))
    quiet = dict(progress=False, log=lambda *_: None)
    try:
        base = root / "base"
        NetAdaptRun(config, base, lut=str(root / "lut.db"), **quiet).run()  # the start model, measured
        two_iterations = dataclasses.replace(config, max_iterations=2)
        rows = {c: [] for c in configs}
        for r in range(args.repeats):
            for executor, w in configs if r % 2 == 0 else configs[::-1]:
                out = root / f"{executor}-w{w}-r{r}"
                out.mkdir()
                for name in ("base", "iter_000", "config.json"):
                    src = base / name
                    shutil.copytree(src, out / name) if src.is_dir() else shutil.copy(src, out / name)
                execution = ExecutionConfig(workers=w, executor=executor,
                                            ray_address=args.ray_address if executor == "ray" else None)
                t0 = time.perf_counter()
                NetAdaptRun(two_iterations, out, lut=str(root / "lut.db"), execution=execution, **quiet).run()
                total = time.perf_counter() - t0
                phases, counts, chosen = [], [], []
                for k in (1, 2):
                    info = rf.read_json(rf.iteration_dir(out, k) / "info.json")
                    s = info["seconds"]  # one worker in this process: its phases follow each other
                    phases.append(s.get("candidates_wall", s.get("prune", 0) + s.get("finetune", 0)
                                        + s.get("evaluate", 0)))
                    counts.append(sum(1 for c in info["candidates"] if c["feasible"]))
                    chosen.append(info["pruned_group"])
                wall = info["seconds"]["wall"]
                rows[executor, w].append((total, phases[0], wall, phases[1], counts[1], "+".join(chosen)))
                print(f"repeat {r + 1}, {executor} x{w}: {total:.1f} s in all, candidates {phases[0]:.1f} s "
                      f"({counts[0]}); iteration 2 {wall:.1f} s, candidates {phases[1]:.1f} s ({counts[1]}); chose "
                      f"{' then '.join(chosen)}", flush=True)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.model}, {args.steps} fine-tune steps of batch {args.batch_size} per candidate, "
          f"{torch.get_num_threads()} torch thread(s) in the main process, medians of {args.repeats}:")
    print(f"{'executor':>8}  {'workers':>7}  {'run s':>6}  {'iter 1 cand. s':>14}  {'iter 2 s':>8}  "
          f"{'iter 2 cand. s':>14}  {'iter 2 ratio':>12}  {'cand. ratio':>11}  chosen")
    ref = None
    for executor, w in configs:
        total, first, wall, second = (statistics.median(row[k] for row in rows[executor, w]) for k in range(4))
        ref = ref or (wall, second)
        chosen = ",".join(sorted({row[5] for row in rows[executor, w]}))
        print(f"{executor:>8}  {w:>7}  {total:>6.1f}  {first:>14.1f}  {wall:>8.1f}  {second:>14.1f}  "
              f"{wall / ref[0]:>12.2f}  {second / ref[1]:>11.2f}  {chosen}")
    print("ratios: iteration 2's wall time and candidate phase over the first row's (below 1: faster)")


if __name__ == "__main__":
    main()
