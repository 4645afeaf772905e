"""Benchmark: how well the table predicts one NetAdapt iteration's cut at the batch a user deploys at.

For each architecture it does what the first iteration of `netadapt run` does for a sample of its channel
groups: it measures the start model, asks the table for the largest count of the group that meets the
schedule's first target (``--reduction`` below the start, by the loop's own search), builds that network, and
measures it against the start, run by run (the loop's paired measurement). It prints, per cut, the
predicted and the measured ratio to the start and the error of several predictors:

- ``ratio``: the start's measurement times the table's ratio;
- ``difference``: the start's measurement minus the table's difference;
- ``no-call``: the table's ratio after taking each node's per-call cost (an identity graph on its input,
  timed in its own session) off every node;
- ``call-share``: the table's ratio after taking the share of every node's per-call cost off it that makes
  the table's start equal the start's measurement (none when the table is below it): what the loop predicts
  with (``CandidateEstimates.predicted``, which where the measurement exceeds the table charges the excess to
  the weights instead), and so what picks each cut's count here.

Then, per architecture and over all, the share of cuts each predictor gets within 3% and 5% of the
measurement and the median absolute error, beside the noise floor: the start measured against a second
session of itself, the same way.

    python bench/iteration_estimates.py                                     # the families at batch 1
    python bench/iteration_estimates.py --families resnet18,densenet --cuts 4
    python bench/iteration_estimates.py --source torchvision --input 64     # needs torchvision

Results are appended to --json (one record per architecture); architectures already there are skipped, so
an interrupted bench resumes.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"

TORCHVISION = ("resnet18", "mnasnet0_5", "squeezenet1_1", "densenet121", "regnet_y_400mf", "mobilenet_v2",
               "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x0_5", "googlenet", "resnet50",
               "convnext_tiny")
PREDICTORS = ("ratio", "difference", "no-call", "call-share")


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", choices=("families", "torchvision"), default="families")
    p.add_argument("--families", default=None, help="comma-separated names (default: all of the source)")
    p.add_argument("--input", type=int, default=None, help="input size (torchvision; default 64)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--cuts", type=int, default=8, help="groups cut per architecture (a seeded sample)")
    p.add_argument("--reduction", type=float, default=0.025, help="the first target: this far below the start")
    p.add_argument("--step", type=int, default=8, help="channel step")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--pairs", type=int, default=240, help="runs of each model in a paired measurement")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="append results here and skip architectures already in it")
    return p


def _models(args):
    if args.source == "families":
        sys.path.append(str(TESTS))  # after the installed packages: tests/ has folders named like them
        from families import FAMILIES, build

        names = args.families.split(",") if args.families else sorted(FAMILIES)
        for name in names:
            yield name, (lambda n=name: build(n, num_classes=10)), FAMILIES[name][1]
    else:
        import importlib

        tv = importlib.import_module("torchvision.models")
        size = args.input or 64
        for name in (args.families.split(",") if args.families else TORCHVISION):
            kwargs = {"num_classes": 10, **({"aux_logits": False, "init_weights": True} if name == "googlenet" else {})}
            yield name, (lambda n=name, k=kwargs: getattr(tv, n)(**k)), (3, size, size)


def _paired(device, a, b, shape, pairs):
    from netadapt.latency.paired import PairedConfig, compare_models

    config = PairedConfig(min_pairs=pairs, max_pairs=pairs, max_seconds=None)
    return compare_models(device, a, b, shape, config=config)


def measure_architecture(name, make, chw, args) -> dict:
    import torch

    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.algorithm.estimates import CandidateEstimates
    from netadapt.algorithm.search import largest_count_meeting
    from netadapt.export import export_bytes
    from netadapt.pruning import analyze, shrunk_copy
    from profilers import ProfileConfig, get_profiler

    torch.manual_seed(args.seed)
    model = make().eval()
    shape = (args.batch, *chw)
    t0 = time.perf_counter()
    graph = analyze(model, shape)
    device = get_device("cpu", threads=args.threads)
    folder = tempfile.mkdtemp(prefix="iteration-estimates-")
    table = LatencyTable(str(Path(folder) / "lut.db"))
    profiler = get_profiler(device, ProfileConfig(warmup=10, repeats=50))
    from netadapt.latency import LatencyEstimator

    estimator = LatencyEstimator(table, device, profiler)
    start = export_bytes(model, shape)
    floor = _paired(device, start, export_bytes(model, shape), shape, args.pairs)
    start_ms = floor.b_ms
    estimates = CandidateEstimates(estimator, model, graph, start_ms)
    table_start = estimates.current_ms
    no_call_start = table_start - estimator.call_ms(estimates.units({}))
    share = estimates.call_share()
    rng = random.Random(args.seed)
    groups = [g for g, grp in graph.groups.items() if grp.size > grp.min_size]
    sample = rng.sample(groups, min(args.cuts, len(groups)))
    cuts = []
    for g in sample:
        # the loop halves a step no group can give, down to a tenth of it
        reduction, found = args.reduction, None
        while found is None and reduction >= args.reduction / 10:
            found = largest_count_meeting(estimates, g, graph.groups[g].size, args.step, start_ms * (1 - reduction))
            reduction = reduction if found else reduction / 2
        if found is None:
            print(f"  {name:<20}{g[:38]:<40}{graph.groups[g].size:>5}: no count saves {args.reduction / 10:.2%}")
            cuts.append({"group": g, "cut": None})
            continue
        count, _ = found
        sizes = {g: count}
        table_ms = estimates.table_ms(sizes)
        no_call = table_ms - estimator.call_ms(estimates.units(sizes))
        cand = export_bytes(shrunk_copy(model, graph, sizes), shape)
        measured = _paired(device, cand, start, shape, args.pairs)
        predicted = {"ratio": table_ms / table_start,
                     "difference": 1 - (table_start - table_ms) / start_ms,
                     "no-call": no_call / no_call_start,
                     "call-share": estimates.predicted_of(sizes) / start_ms}
        cuts.append({"group": g, "size": graph.groups[g].size, "cut": count, "reduction": reduction,
                     "table_ms": table_ms, "no_call_ms": no_call,
                     "measured_ratio": measured.ratio,
                     "interval": [measured.low, measured.high],
                     "predicted": predicted,
                     "error": {k: v / measured.ratio - 1 for k, v in predicted.items()}})
        print(f"  {name:<20}{g[:38]:<40}{graph.groups[g].size:>5}->{count:<5}measured {measured.ratio:.4f}  "
              + "  ".join(f"{k} {v:.4f} ({cuts[-1]['error'][k]:+.1%})" for k, v in predicted.items()), flush=True)
    return {"architecture": name, "source": args.source, "input": list(shape), "groups": len(graph.groups),
            "start_ms": start_ms, "table_ms": table_start, "no_call_ms": no_call_start, "call_share": share,
            "noise_floor": floor.ratio - 1,
            "seconds": time.perf_counter() - t0, "cuts": cuts}


def summarise(records) -> list[str]:
    lines = [f"{'architecture':<22}{'start ms':>9}{'floor':>8}{'cuts':>6}"
             + "".join(f"{p + ' <=3%':>16}{'<=5%':>6}{'median':>8}" for p in PREDICTORS)]
    everything = {p: [] for p in PREDICTORS}
    for r in records:
        made = [c for c in r["cuts"] if c.get("cut") is not None]
        row = f"{r['architecture']:<22}{r['start_ms']:>9.3f}{r['noise_floor']:>+8.1%}{len(made):>6}"
        for p in PREDICTORS:
            errors = [abs(c["error"][p]) for c in made if p in c["error"]]
            everything[p] += errors
            row += _scores(errors)
        lines.append(row)
    lines.append(f"{'all':<22}{'':>9}{'':>8}{len(everything['ratio']):>6}"
                 + "".join(_scores(everything[p]) for p in PREDICTORS))
    floors = [abs(r["noise_floor"]) for r in records]
    if floors:
        lines.append(f"noise floor (start vs itself): median {statistics.median(floors):.1%}, "
                     f"within 3% in {sum(f <= 0.03 for f in floors)}/{len(floors)}")
    return lines


def _scores(errors) -> str:
    if not errors:
        return f"{'-':>16}{'-':>6}{'-':>8}"
    n = len(errors)
    return (f"{sum(e <= 0.03 for e in errors) / n:>16.0%}{sum(e <= 0.05 for e in errors) / n:>6.0%}"
            f"{statistics.median(errors):>8.1%}")


def main(argv=None):
    args = parser().parse_args(argv)
    import devices, lut, netadapt, profilers  # noqa: F401 - before tests/ (with folders of these names) is on the path
    records = []
    path = Path(args.json) if args.json else None
    if path and path.exists():
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    done = {r["architecture"] for r in records}
    print(f"batch {args.batch}, threads {args.threads}, first target {args.reduction:.1%} below the start, "
          f"{args.pairs} pairs per measurement", flush=True)
    for name, make, chw in _models(args):
        if name in done:
            continue
        try:
            record = measure_architecture(name, make, chw, args)
        except Exception as exc:  # noqa: BLE001 - one architecture's failure is reported, the others go on
            print(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", flush=True)
            continue
        records.append(record)
        if path:
            with open(path, "a") as f:
                f.write(json.dumps(record) + "\n")
    print("\n".join(summarise(records)))


if __name__ == "__main__":
    main()
