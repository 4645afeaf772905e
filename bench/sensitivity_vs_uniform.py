"""Benchmark: per-group ratios from sensitivity analysis vs uniform pruning at the same parameter budget
and at the same measured latency.

The seed lecture's claim: pruning layers by how sensitive they are beats removing the same fraction
everywhere. On CIFAR-10 (the shared JPEG copy, unpacked once into bench/out/), this script

1. takes a trained checkpoint (--checkpoint, e.g. bench/out/train_cifar-resnet20-.../model.pt from
   bench/train_cifar.py) or trains a base model itself (--epochs) with netadapt's holdout split;
2. scans every group at --ratios on the holdout (no fine-tune, as in the lecture);
3. searches the smallest accuracy-drop threshold whose ratios keep at most --keep-params of the
   parameters (sensitivity), the smallest uniform ratio meeting the same budget (uniform), and the
   uniform ratio whose network is as fast as the sensitivity network on ONNX Runtime (uniform@lat,
   timed interleaved with it);
4. prunes each with the same criterion, in --steps rounds of --finetune-steps SGD iterations each,
   and prints parameters, ONNX Runtime latency (batch 1, one thread, all networks timed in
   interleaved rounds) and holdout/test
   accuracy before and after fine-tuning, with the time every part took.

Smoke run (about a minute):  python bench/sensitivity_vs_uniform.py --tiny
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from netadapt.sensitivity.select import fill_budget, smallest_passing  # noqa: E402


def uniform_for_budget(model, shape, limit: float, tol: float = 1e-3) -> float:
    """The smallest uniform ratio whose network keeps at most ``limit`` parameters (bisection)."""
    from netadapt.iterative import counts_for, params_at, uniform_ratios
    from netadapt.pruning import analyze

    graph = analyze(model, shape)
    return smallest_passing(lambda r: params_at(model, graph, counts_for(graph, uniform_ratios(graph, r))) <= limit,
                            0.0, 0.99, tol)


class Timer:
    """Several networks exported to ONNX and timed side by side on the CPU device (one ONNX Runtime
    thread, batch of ``shape``) with the project's profiler."""

    def __init__(self, shape, repeats: int):
        from devices import get_device
        from profilers import ProfileConfig, get_profiler

        self.shape, self.models = shape, {}
        self.profiler = get_profiler(get_device("cpu", threads=1), ProfileConfig(warmup=5, repeats=repeats))

    def add(self, name: str, model) -> None:
        import tempfile

        from netadapt.export import export_onnx

        with tempfile.TemporaryDirectory() as tmp:
            self.models[name] = export_onnx(model, Path(tmp) / "m.onnx", self.shape, verify=False).read_bytes()

    def medians(self, names=None, rounds: int = 5) -> dict[str, float]:
        """Median over ``rounds`` interleaved rounds of each network's median latency (ms)."""
        import statistics

        names = list(names or self.models)
        samples = {n: [] for n in names}
        for _ in range(rounds):
            for n in names:
                samples[n].append(float(self.profiler.measure_model(self.models[n], self.shape).median))
        return {n: statistics.median(v) for n, v in samples.items()}


def uniform_for_latency(base, shape, reference, timer: Timer, tol: float = 0.005) -> float:
    """The uniform ratio whose network is as fast as ``reference`` (bisection; each candidate is timed
    interleaved with the reference, so machine load cancels out of the comparison)."""
    from netadapt.iterative import counts_for, uniform_ratios
    from netadapt.pruning import analyze, apply_channels

    timer.add("reference", reference)
    graph = analyze(base, shape)

    def as_fast(ratio: float) -> bool:
        net = copy.deepcopy(base)
        apply_channels(net, shape, counts_for(graph, uniform_ratios(graph, ratio)))
        timer.add("candidate", net)
        t = timer.medians(["reference", "candidate"], rounds=3)
        return t["candidate"] <= t["reference"]

    return smallest_passing(as_fast, 0.0, 0.95, tol)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=None, help="trained netadapt checkpoint (else train one)")
    p.add_argument("--model", default="vgg11", help="zoo model to train when no checkpoint is given")
    p.add_argument("--width-mult", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=10, help="base training epochs (without --checkpoint)")
    p.add_argument("--ratios", default="0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    p.add_argument("--keep-params", type=float, default=0.5, help="fraction of parameters both networks keep")
    p.add_argument("--criterion", default="l2")
    p.add_argument("--steps", type=int, default=1, help="prune + fine-tune rounds")
    p.add_argument("--finetune-steps", type=int, default=500, help="SGD iterations per round")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--holdout", type=float, default=0.1, help="as netadapt run (the base never saw it)")
    p.add_argument("--eval-limit", type=int, default=2000, help="holdout images for the scan")
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--latency-repeats", type=int, default=50)
    p.add_argument("--latency-rounds", type=int, default=7, help="interleaved rounds of the final timing")
    p.add_argument("--no-match-latency", dest="match_latency", action="store_false",
                   help="skip the uniform network of the sensitivity network's latency")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tar", type=Path, default=HERE.parent.parent / "shared" / "data" / "cifar10-jpg.tar.gz")
    p.add_argument("--work", type=Path, default=HERE / "out")
    p.add_argument("--data", default=None, help="any netadapt data source instead of the CIFAR-10 JPEGs")
    p.add_argument("--tiny", action="store_true", help="smoke run: tiny VGG on 1,000 images, 2 ratios")
    args = p.parse_args(argv)
    if args.tiny:
        args.width_mult, args.epochs, args.train_limit, args.test_limit = 0.125, 1, 1000, 500
        args.ratios, args.finetune_steps, args.eval_limit, args.latency_repeats = "0,0.3,0.6", 20, 200, 10
        args.batch_size = 64

    import torch

    from netadapt.checkpoint import load_checkpoint, save_checkpoint
    from netadapt.criteria.registry import CRITERIA
    from netadapt.data import load_data
    from netadapt.iterative import count_params, iterative_prune, uniform_ratios
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze
    from netadapt.sensitivity import scan, search_threshold, write_csv
    from netadapt.sensitivity.budget import params_cost
    from netadapt.training import TrainConfig, train

    torch.set_num_threads(args.threads)
    seconds = {}
    t = time.perf_counter()
    if args.data is None:
        from train_cifar import unpack

        source = f"imagefolder:{unpack(args.tar, args.work / 'cifar10-jpg')}"
    else:
        source = args.data
    data = load_data(source, holdout=args.holdout, seed=0, train_limit=args.train_limit, test_limit=args.test_limit)
    seconds["load data"] = time.perf_counter() - t
    t = time.perf_counter()
    if args.checkpoint is not None:
        loaded = load_checkpoint(args.checkpoint)
        base, spec, shape = loaded.model, loaded.spec, loaded.input_shape
        tag = f"{spec.name}-{args.checkpoint.parent.name}-n{args.train_limit or 'all'}"
    else:
        tag = f"{args.model}-w{args.width_mult:g}-e{args.epochs}-n{args.train_limit or 'all'}"
    out = args.work / f"sensitivity_vs_uniform-{tag}"
    out.mkdir(parents=True, exist_ok=True)
    if args.checkpoint is None:
        spec = ModelSpec(args.model, {"num_classes": data.num_classes, "in_channels": data.input_shape[0],
                                      "width_mult": args.width_mult})
        shape = (1, *data.input_shape)
        path = out / "base.pt"
        if path.is_file():
            base = load_checkpoint(path).model
        else:
            torch.manual_seed(0)
            base = spec.build()
            train(base, data, TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.05),
                  out_dir=out / "train", progress=False)
            save_checkpoint(path, base, spec, shape)
    seconds["base model"] = time.perf_counter() - t

    holdout = data.holdout
    if args.eval_limit and args.eval_limit < len(holdout):
        from netadapt.data.splits import limit

        holdout = limit(holdout, args.eval_limit, 0)  # random: image folders are in class order
    ratios = [float(x) for x in args.ratios.split(",")]
    t = time.perf_counter()
    baseline, rows = scan(base, shape, holdout, ratios, CRITERIA.create(args.criterion), train=data.train)
    write_csv(rows, out / "sensitivity.csv")
    seconds["sensitivity scan"] = time.perf_counter() - t

    t = time.perf_counter()
    limit = args.keep_params * count_params(base)
    cost = params_cost(base, shape)
    threshold, sens_ratios, _ = search_threshold(rows, cost, limit)
    sens_ratios = fill_budget(rows, cost, limit, threshold, sens_ratios)
    uniform = uniform_for_budget(base, shape, limit)
    graph = analyze(base, shape)
    plans = {"sensitivity": sens_ratios, "uniform": uniform_ratios(graph, uniform)}
    timer = Timer(shape, args.latency_repeats)
    uniform_lat = None
    if args.match_latency:
        from netadapt.iterative import counts_for
        from netadapt.pruning import apply_channels

        reference = copy.deepcopy(base)
        apply_channels(reference, shape, counts_for(graph, sens_ratios))
        uniform_lat = uniform_for_latency(base, shape, reference, timer)
        plans["uniform@lat"] = uniform_ratios(graph, uniform_lat)
    seconds["ratio search"] = time.perf_counter() - t

    results = {}
    for name, plan in plans.items():
        t = time.perf_counter()
        net = copy.deepcopy(base)
        rounds = iterative_prune(net, shape, plan, CRITERIA.create(args.criterion), steps=args.steps,
                                 train=data.train, finetune_steps=0, holdout=holdout, test=data.test)
        after_prune = rounds[-1]
        if args.finetune_steps:
            net = copy.deepcopy(base)
            rounds = iterative_prune(net, shape, plan, CRITERIA.create(args.criterion), steps=args.steps,
                                     train=data.train, finetune_steps=args.finetune_steps,
                                     finetune={"lr": args.lr, "batch_size": args.batch_size,
                                               "augment": data.augment},
                                     holdout=holdout, test=data.test)
        seconds[f"prune+finetune {name}"] = time.perf_counter() - t
        results[name] = {"ratios": plan, "channels": rounds[-1].channels, "params": rounds[-1].params,
                         "test_no_ft": after_prune.test_accuracy, "holdout_no_ft": after_prune.holdout_accuracy,
                         "test": rounds[-1].test_accuracy, "holdout": rounds[-1].holdout_accuracy}
        timer.add(name, net)
    from netadapt.training import evaluate

    dense = {"params": count_params(base), "test": evaluate(base, data.test), "holdout": baseline}
    timer.add("dense", base)
    t = time.perf_counter()
    latency = timer.medians(["dense", *results], rounds=args.latency_rounds)
    seconds["interleaved latency"] = time.perf_counter() - t
    dense["latency_ms"] = latency["dense"]
    for name in results:
        results[name]["latency_ms"] = latency[name]

    print(f"\n{spec.name} on {source} ({len(data.train)} train / {len(data.test)} test images); "
          f"budget {args.keep_params:.0%} of parameters; criterion {args.criterion}; "
          f"{args.steps} round(s) x {args.finetune_steps} fine-tune steps")
    print(f"sensitivity threshold {threshold:.4f}; uniform ratio {uniform:.3f} (equal parameters)"
          + (f", {uniform_lat:.3f} (equal latency)" if uniform_lat is not None else ""))
    print(f"{'network':<12} {'params':>10} {'ORT ms':>8} {'holdout':>8} {'test':>8} {'holdout(no ft)':>14} "
          f"{'test(no ft)':>11}")
    print(f"{'dense':<12} {dense['params']:>10,} {dense['latency_ms']:>8.3f} {dense['holdout']:>8.4f} "
          f"{dense['test']:>8.4f} {'':>14} {'':>11}")
    for name, r in results.items():
        print(f"{name:<12} {r['params']:>10,} {r['latency_ms']:>8.3f} {r['holdout']:>8.4f} {r['test']:>8.4f} "
              f"{r['holdout_no_ft']:>14.4f} {r['test_no_ft']:>11.4f}")
    print("per-group channels: " + ", ".join(
        f"{g}: " + "/".join(str(r["channels"][g]) for r in results.values())
        for g in results["uniform"]["channels"]) + f"  ({'/'.join(results)})")
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    (out / "result.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                 "threshold": threshold, "uniform_ratio": uniform,
                                                 "uniform_ratio_equal_latency": uniform_lat,
                                                 "dense": dense, "results": results, "seconds": seconds},
                                                indent=2) + "\n")
    print(f"wrote {out / 'result.json'}")


if __name__ == "__main__":
    main()
