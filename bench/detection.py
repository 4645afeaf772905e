"""Benchmark: NetAdapt against the uniform width on the zoo detector (``yolo_tiny`` on digit canvases).

For each seed: ``netadapt.prune`` of the detection task (``netadapt.tasks.detection``) to --budget of the
start's latency measured on --device at batch 1; then the uniform arm: every channel group of the same start
model cut to the same fraction of its channels (rounded to the run's channel grid, the run's criterion picking
which stay). Uniform widths are first only measured (paired against the same start model as the run), the
two that bracket NetAdapt's final latency are fine-tuned exactly as NetAdapt's final network was (one
``train`` call of --short-steps per iteration it went through, then --long-steps), and their mAP is read at
NetAdapt's measured latency on the line between them. Every arm uses the task's own loop and metric
(mAP@0.5:0.95 on 300 held-out canvases, digits never seen in training), seeded per call.

Needs the base detector of ``bench/train_detector.py`` (--base). Results are kept per (seed, arm) under --out,
so an interrupted bench resumes. Smoke run: --budget 90% --short-steps 2 --long-steps 2 --max-iterations 1.

    python bench/train_detector.py                       # the base detector, about 20 minutes
    python bench/detection.py --seeds 0 1                # NetAdapt vs uniform at 50%, two seeds
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def uniform_point(task, inputs, run_dir: Path, width: float, step: int, out: Path, measurer, log) -> dict:
    """The uniform network at ``width``: its channels and latency measured against the run's start (cached)."""
    from netadapt.baseline.uniform import uniform_prune
    from netadapt.criteria import create_criterion
    from netadapt.runs import folder as rf

    path = out / f"w{width:.4f}" / "measured.json"
    if path.is_file():
        return json.loads(path.read_text())
    start = rf.read_json(rf.iteration_dir(run_dir, 0) / "info.json")
    model = uniform_prune(task.model, inputs, width, create_criterion("l2"), step=step, frozen=start["frozen_groups"])
    onnx = measurer.export(model, path.parent)
    point = {"width": width, **measurer.against_start(onnx, rf.iteration_dir(run_dir, 0), None),
             "params": sum(p.numel() for p in model.parameters())}
    rf.write_json(path, point)
    log(f"  uniform width {width:.3f}: {point['measured_ms']:.4f} ms")
    return point


def fine_tuned(task, inputs, run_dir: Path, point: dict, iterations: int, short: int, long: int, seed: int,
               out: Path, log) -> dict:
    """``point``'s network fine-tuned as NetAdapt's final one was, and its scores (cached)."""
    from netadapt.baseline.uniform import uniform_prune
    from netadapt.criteria import create_criterion
    from netadapt.runs import folder as rf
    from netadapt.seeding import derive_seed, seed_everything
    from netadapt.task.calls import as_score

    path = out / f"w{point['width']:.4f}" / f"tuned-{iterations}x{short}+{long}.json"
    if path.is_file():
        return json.loads(path.read_text())
    start = rf.read_json(rf.iteration_dir(run_dir, 0) / "info.json")
    model = uniform_prune(task.model, inputs, point["width"], create_criterion("l2"), step=point["step"],
                          frozen=start["frozen_groups"])
    t0 = time.perf_counter()
    for i in range(iterations):
        seed_everything(derive_seed(seed, "uniform", i))
        task.train(model, short)
    seed_everything(derive_seed(seed, "uniform", "final"))
    task.train(model, long)
    score, metrics = as_score(task.evaluate(model))
    tuned = {**point, "score": score, **metrics, "finetune_seconds": time.perf_counter() - t0}
    rf.write_json(path, tuned)
    log(f"  uniform width {point['width']:.3f} fine-tuned: mAP {score:.4f} at {point['measured_ms']:.4f} ms")
    return tuned


def run_seed(args, seed: int, log) -> dict:
    import torch

    import netadapt
    from devices import usable_device
    from lut.table import LatencyTable
    from netadapt.algorithm.measure import Measurer
    from netadapt.baseline.compare import bracket, interpolate, latency_ratio
    from netadapt.inputs import ExampleInputs
    from netadapt.latency.estimator import LatencyEstimator
    from netadapt.runs import folder as rf
    from netadapt.tasks.detection import make_task
    from profilers import ProfileConfig, get_profiler

    task = make_task(checkpoint=args.base, seed=0, batch=args.batch, width=args.width)
    run_dir = args.out / f"netadapt-b{args.batch}-s{seed}"
    t0 = time.perf_counter()
    result = netadapt.prune(task, budget=args.budget, out=run_dir, device=args.device, seed=seed,
                            short_term_steps=args.short_steps, long_term_steps=args.long_steps,
                            lut=str(args.out / "lut.db"), channel_step=args.channel_step,
                            initial_reduction=args.initial_reduction, reduction_floor=args.reduction_floor,
                            max_iterations=args.max_iterations, progress=not args.quiet, log=log)
    wall = time.perf_counter() - t0
    start, final = result.iterations[0], result.final
    iterations = final["from_iteration"]
    device = usable_device(args.device)
    table = LatencyTable(str(args.out / "lut.db"))
    inputs = ExampleInputs.of(task.example_inputs, task.model)
    estimator = LatencyEstimator(table, device, get_profiler(device, ProfileConfig()))
    measurer = Measurer(device, table, estimator, get_profiler(device, ProfileConfig(repeats=40)), inputs,
                        log=log, record_models=False)
    uniform = args.out / f"uniform-b{args.batch}-s{seed}"
    with torch.no_grad():
        points = [{**uniform_point(task, inputs, run_dir, w, args.channel_step, uniform, measurer, log),
                   "step": args.channel_step} for w in args.widths]
    curve = [(p["measured_ms"], p) for p in points]
    pair = bracket([(ms, i) for i, (ms, _) in enumerate(curve)], result.measured_ms)
    row = {"seed": seed, "batch": args.batch, "start_ms": start.measured_ms, "start_map": start.score, "budget_ms": result.budget_ms,
           "netadapt_ms": result.measured_ms, "netadapt_map": result.score,
           "netadapt_map50": final.get("metrics", {}).get("map50"), "met": result.met, "iterations": iterations,
           "netadapt_wall_s": wall}
    if pair is None:
        row["uniform"] = "NetAdapt's latency lies outside the measured uniform widths"
        return row
    tuned = [fine_tuned(task, inputs, run_dir, curve[int(i)][1], iterations, args.short_steps, args.long_steps,
                        seed, uniform, log) for _, i in pair]
    line = [(t["measured_ms"], t["score"]) for t in tuned]
    row.update({"uniform": [{k: t[k] for k in ("width", "measured_ms", "score", "map50")} for t in tuned],
                "uniform_map_at_netadapt_ms": interpolate(line, result.measured_ms),
                "latency_ratio_at_equal_map": latency_ratio((result.measured_ms, result.score), line)})
    row["gain"] = row["netadapt_map"] - row["uniform_map_at_netadapt_ms"]
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--budget", default="50%")
    p.add_argument("--base", type=Path, default=HERE / "out" / "detector" / "yolo_tiny.pt")
    p.add_argument("--width", type=float, default=0.125, help="the base detector's width (as it was trained)")
    p.add_argument("--out", type=Path, default=HERE / "out" / "detection")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=1, help="the batch latency is measured at")
    p.add_argument("--short-steps", type=int, default=10)
    p.add_argument("--long-steps", type=int, default=300)
    p.add_argument("--channel-step", type=int, default=8)
    p.add_argument("--initial-reduction", type=float, default=0.06)
    p.add_argument("--reduction-floor", type=float, default=0.03)
    p.add_argument("--max-iterations", type=int, default=100)
    p.add_argument("--widths", type=float, nargs="+",
                   default=[round(0.30 + 0.05 * k, 2) for k in range(14)])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    if not args.base.is_file():
        raise SystemExit(f"{args.base} is missing: train the base detector first (python bench/train_detector.py)")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        print(f"seed {seed}:", flush=True)
        row = run_seed(args, seed, lambda m: print(m, flush=True))
        rows.append(row)
        (args.out / f"results-b{args.batch}.json").write_text(json.dumps(rows, indent=2))
    print(f"\n{'seed':>4} {'start ms':>9} {'budget':>8} {'NetAdapt ms':>11} {'mAP':>6} {'uniform mAP at that ms':>22} "
          f"{'gain':>7} {'latency ratio':>13}")
    for r in rows:
        uni = r.get("uniform_map_at_netadapt_ms", math.nan)
        print(f"{r['seed']:>4} {r['start_ms']:>9.4f} {r['budget_ms']:>8.4f} {r['netadapt_ms']:>11.4f} "
              f"{r['netadapt_map']:>6.4f} {uni:>22.4f} {r.get('gain', math.nan):>+7.4f} "
              f"{r.get('latency_ratio_at_equal_map', math.nan):>13.2f}")


if __name__ == "__main__":
    main()
