"""Benchmark: fill a fresh lookup table as `netadapt profile` does, and say where the time went.

Two scopes, as the command has: ``first-iteration`` (the networks the first NetAdapt iteration's search
probes, the command's default) and ``grid`` (every count on the channel grid, one group cut at a time).
Each network is exported (or, once two exports of its group agree, written from them), optimised for the
device and inspected; every distinct node it runs is timed and stored. Prints, per run: networks (and how
many were written rather than exported), nodes, the wall time, the time inside the timed runs, the
overhead ratio (wall / timed) and the split (export, writing graphs, optimise+inspect, node sessions and
table writes, timed runs, other).

``--compare graphs`` runs every network exported and with written graphs alternately, ``--rounds`` times
each, each run with a fresh table, and prints the median wall times and their ratio; ``--compare inspection``
does the same with every optimised graph run to read its tensors against reading the shapes ONNX Runtime
declares when it loads the graph (``profilers.units.graph_units``); ``--compare rules`` with each group's
rule learnt from two cuts of its own against every group's learnt from three cuts of all of them at once
(``joint_cuts``), and the device's optimised graphs read back with their weights against without them;
``--compare joint`` and ``--compare weights`` each of those two alone; ``--compare batches`` written graphs
optimised one by one against up to 16 side by side in one model (``LatencyEstimator.units_of_many``).

    python bench/profile_grid.py                                    # MobileNetV1, first iteration
    python bench/profile_grid.py --scope grid --channel-step 32     # the grid, coarse (quick)
    python bench/profile_grid.py --compare graphs --rounds 2        # written graphs against exports
    python bench/profile_grid.py --compare inspection --rounds 3    # declared shapes against a run
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from profilers.base import NODE_WARMUP

# What --compare puts side by side: (label, options of profile_once) of each arm, the previous method first.
_BEFORE = {"joint": False, "weightless": False}
ARMS = {"graphs": [("exported", {"synthesis": False, **_BEFORE}), ("written", {"synthesis": True, **_BEFORE})],
        "inspection": [("run", {"inspect_by_run": True, **_BEFORE}), ("declared", _BEFORE)],
        "rules": [("own cuts", _BEFORE), ("joint", {})],
        "joint": [("own cuts", {"joint": False}), ("joint", {})],
        "weights": [("weights", {"weightless": False}), ("weightless", {})],
        "batches": [("one by one", {"batch": 0}), ("batches", {})]}


def profile_once(args, lut: str, synthesis: bool = True, inspect_by_run: bool = False, joint: bool = True,
                 weightless: bool = True, batch: int = 16) -> dict:
    """One profile of ``args.model`` into the table at ``lut``: counts, wall time and its split."""
    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.algorithm.estimates import CandidateEstimates
    from netadapt.algorithm.search import first_iteration_search
    from netadapt.cli.options import parse_input_shape
    from netadapt.latency import LatencyEstimator, visitable_configs
    from netadapt.latency.estimator import time_split
    from netadapt.latency.grid import probe_grids
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze
    from profilers import ProfileConfig, get_profiler

    shape = parse_input_shape(args.input_shape)
    dev = get_device(args.device, threads=args.threads)
    table = LatencyTable(lut)
    profiler = get_profiler(dev, ProfileConfig(warmup=args.warmup, repeats=args.repeats))
    estimator = LatencyEstimator(table, dev, profiler, inspect_by_run=inspect_by_run, weightless=weightless,
                                 batch=batch)
    net = ModelSpec(args.model).build().eval()
    started = time.perf_counter()
    graph = analyze(net, shape)
    analysed = time.perf_counter() - started
    if args.scope == "grid":
        grids = probe_grids(graph, graph.sizes(), args.channel_step) if joint else None
        estimates = CandidateEstimates(estimator, net, graph, anchor_ms=1.0, synthesis=synthesis, grids=grids)
        configs = visitable_configs(graph, args.channel_step)[: args.limit]
        for i, sizes in enumerate(configs):
            if i % max(batch, 1) == 0:
                estimates.prefetch(configs[i:i + batch])  # the next batch's nodes from one optimisation
            estimates.table_ms(sizes)  # times what the table lacks, each row in its own transaction
    else:  # what `netadapt profile` does by default
        estimates = first_iteration_search(estimator, net, graph, args.channel_step, synthesis=synthesis,
                                           joint=joint)
    wall = time.perf_counter() - started
    timed = profiler.timed_seconds
    split = {"analysing": analysed, **time_split(wall - analysed, estimator.seconds, timed)}
    return {"synthesis": synthesis, "inspection": "run" if inspect_by_run else "declared",
            "rules": "joint" if estimates.joint_exports else "own", "weights": "no" if weightless else "yes",
            "batch": batch if estimates.estimator.batch else 0,
            "networks": estimates.probes + 1 + estimates.joint_exports, "joint": estimates.joint_exports,
            "written": estimates.synthesised,
            "nodes": estimator.measured_on_the_spot, "retaken": profiler.retaken, "wall": wall, "timed": timed,
            "split": split, "device": dev, "groups": len(graph.groups)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--input-shape", default="32x3x32x32")
    p.add_argument("--scope", choices=["first-iteration", "grid"], default="first-iteration")
    p.add_argument("--channel-step", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=NODE_WARMUP, help="as `netadapt profile --warmup`")
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--limit", type=int, default=None, help="grid scope: only the first N networks")
    p.add_argument("--no-synthesis", action="store_true", help="export every network")
    p.add_argument("--compare", choices=sorted(ARMS), default=None,
                   help="graphs: exported and written alternately; inspection: optimised graphs run to read "
                        "their tensors and read from the shapes declared; rules: each group's rule from its own "
                        "two cuts and graphs read back with weights, against rules from three joint cuts and "
                        "graphs without weights (joint, weights: each alone); batches: written graphs optimised one by "
                        "one and in batches; fresh tables")
    p.add_argument("--rounds", type=int, default=2, help="with --compare: runs of each")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    arms = ARMS[args.compare] * args.rounds if args.compare else [("", {"synthesis": not args.no_synthesis})]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, options) in enumerate(arms):
            run = profile_once(args, str(Path(tmp) / f"table-{i}.db"), **options)
            runs.append({"arm": label, **run})
    dev = runs[0]["device"]
    fp = dev.fingerprint()
    print(f"model {args.model} {args.input_shape}, scope {args.scope}, channel step {args.channel_step}, "
          f"{runs[0]['groups']} groups; device {dev.name} ({fp.get('processor', '?')}, {args.threads} thread(s), "
          f"onnxruntime {fp.get('onnxruntime', '?')}), warmup {args.warmup}, repeats {args.repeats}; "
          "a fresh table per run")
    names = list(runs[0]["split"])
    print(f"{'graphs':>8} {'inspect':>8} {'rules':>5} {'weights':>7} {'batch':>5} {'networks':>8} {'joint':>5} "
          f"{'written':>7} "
          f"{'nodes':>6} {'retaken':>7} {'wall s':>7} {'timed s':>7} {'overhead':>8}  "
          + " ".join(f"{n:>{max(8, len(n))}}" for n in names))
    for r in runs:
        print(f"{'written' if r['synthesis'] else 'exported':>8} {r['inspection']:>8} {r['rules']:>5} "
              f"{r['weights']:>7} {r['batch']:>5} {r['networks']:>8} {r['joint']:>5} "
              f"{r['written']:>7} {r['nodes']:>6} {r['retaken']:>7} {r['wall']:>7.1f} {r['timed']:>7.1f} "
              f"{r['wall'] / max(r['timed'], 1e-9):>7.1f}x  "
              + " ".join(f"{r['split'][n]:>{max(8, len(n))}.1f}" for n in names))
    if args.compare:
        (old, *_), (new, *_) = ARMS[args.compare]

        def median(value, arm):
            return statistics.median(value(r) for r in runs if r["arm"] == arm)

        wall = {a: median(lambda r: r["wall"], a) for a in (old, new)}
        units = {a: median(lambda r: r["split"]["optimising and inspecting"] / r["networks"], a) for a in (old, new)}
        over = {a: median(lambda r: r["wall"] / max(r["timed"], 1e-9), a) for a in (old, new)}
        print(f"median wall: {old} {wall[old]:.1f} s, {new} {wall[new]:.1f} s: {wall[new] / wall[old]:.2f}x the "
              f"time; optimise+inspect per network {1e3 * units[old]:.0f} and {1e3 * units[new]:.0f} ms: "
              f"{units[new] / units[old]:.2f}x; overhead {over[old]:.1f}x and {over[new]:.1f}x the timed runs")


if __name__ == "__main__":
    main()
