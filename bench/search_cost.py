"""Benchmark: what one NetAdapt iteration's search costs, first and later iterations, with and without the
rules carried from the iteration before (``CandidateEstimates(previous=...)``), side by side.

For each model: the first iteration's search (every group's largest count meeting the default schedule's
first target, rules learnt jointly where they can be), then the group with the largest predicted saving is
cut as an iteration would keep it, and the second iteration's search is run twice on copies of the same
table: once from scratch (how every iteration searched before), once taking over the first one's rules.
"Search" is wall time of the search on ``--device`` at ``--batch``, node timings included. The carried search
must look at the same networks: run again on the table the scratch search left, it times no node anew and finds
the same counts and estimates ("same"; a difference is printed).

Models: netadapt zoo names (``resnet20``, ``mobilenet_v1``, ``yolo_tiny``: the detection task's network) and
``torchvision.models:<name>`` (DenseNet-121, ConvNeXt-tiny, VGG-11; needs torchvision, e.g. the
``../venvs/yolo`` environment of ``bench/yolov8n.py``):

    python bench/search_cost.py --models resnet20 mobilenet_v1 yolo_tiny
    ../venvs/yolo/bin/python bench/search_cost.py --models torchvision.models:densenet121 --size 64
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(name: str, size: int, batch: int):
    """(model, input shape) for a zoo name, ``yolo_tiny`` or a ``module:factory`` target."""
    import torch

    from netadapt.models import create_model

    torch.manual_seed(0)
    if name == "yolo_tiny":
        return create_model(name, num_classes=10, width_mult=0.25).eval(), (batch, 3, 96, 96)
    if ":" in name:
        from netadapt.importing import import_target

        return import_target(name, "model")(num_classes=10).eval(), (batch, 3, size, size)
    channels = 1 if name.startswith("digits") else 3
    return create_model(name, num_classes=10).eval(), (batch, channels, size, size)


def copy_table(source: Path, target: Path) -> None:
    """A copy of a SQLite table, its write-ahead log included (a copy of the file alone may miss rows)."""
    import sqlite3

    target.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def estimator_on(lut: Path, device, repeats: int):
    from lut.table import LatencyTable
    from netadapt.latency.estimator import LatencyEstimator
    from profilers import ProfileConfig, get_profiler

    est = LatencyEstimator(LatencyTable(str(lut)), device, get_profiler(device, ProfileConfig(repeats=repeats)))
    est.exports = 0
    plain = est.export

    def counted(model, shape):
        est.exports += 1
        return plain(model, shape)

    est.export = counted
    return est


def search(estimator, model, graph, step: int, previous=None):
    """One iteration's search at the default schedule's first target: (estimates, results, seconds)."""
    from netadapt.algorithm.estimates import CandidateEstimates
    from netadapt.algorithm.search import largest_counts_meeting
    from netadapt.config.run import RunConfig
    from netadapt.latency.grid import probe_grids

    t0 = time.perf_counter()
    est = CandidateEstimates(estimator, model, graph, float("nan"), grids=probe_grids(graph, graph.sizes(), step),
                             previous=previous)
    est.anchor_ms = start = est.current_ms
    target = start - RunConfig().schedule.reduction_ms(0, start)
    found = largest_counts_meeting(est, {g: (graph.groups[g].size, None) for g in graph.groups}, step, target)
    return est, found, time.perf_counter() - t0


def phases(estimator) -> dict[str, float]:
    """The estimator's seconds per phase (export, units, synthesis, measure), rounded for the results file."""
    return {k: round(v, 2) for k, v in estimator.seconds.items()}


def row(name: str, args, out: Path) -> dict:
    from devices import usable_device
    from netadapt.pruning import analyze, keep_channels

    model, shape = build(name, args.size, args.batch)
    graph = analyze(model, shape)
    device = usable_device(args.device)
    folder = out / name.replace(":", "_").replace(".", "_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    first_est = estimator_on(folder / "lut.db", device, args.repeats)
    first, found, first_s = search(first_est, model, graph, args.step)
    feasible = {g: r for g, r in found.items() if isinstance(r, tuple)}
    cut = min(feasible, key=lambda g: feasible[g][1])  # the largest predicted saving
    nxt = copy.deepcopy(model)
    nxt_graph = keep_channels(nxt, graph, {cut: list(range(feasible[cut][0]))})
    arms = {}
    for arm in (["carried", "scratch"] if args.carried_first else ["scratch", "carried"]):
        lut = folder / f"lut-{arm}.db"
        copy_table(folder / "lut.db", lut)
        est = estimator_on(lut, device, args.repeats)
        estimates, results, seconds = search(est, nxt, nxt_graph, args.step,
                                             previous=first if arm == "carried" else None)
        arms[arm] = {"seconds": seconds, "exports": est.exports, "written": estimates.synthesised,
                     "carried": estimates.carried, "nodes_timed": est.measured_on_the_spot,
                     "phases": phases(est),
                     "results": {g: (list(r) if isinstance(r, tuple) else repr(r)) for g, r in results.items()}}
    # the same networks? The carried search again, on the table the scratch search left: every node it looks
    # up is then already there (none timed on the spot), and it finds the same counts and estimates
    copy_table(folder / "lut-scratch.db", folder / "lut-check.db")
    est = estimator_on(folder / "lut-check.db", device, args.repeats)
    _, again, _ = search(est, nxt, nxt_graph, args.step, previous=first)
    again = {g: (list(r) if isinstance(r, tuple) else repr(r)) for g, r in again.items()}
    same = est.measured_on_the_spot == 0 and all(
        a == b or (isinstance(a, list) and isinstance(b, list) and a[0] == b[0] and math.isclose(a[1], b[1], rel_tol=1e-9))
        for a, b in ((again[g], arms["scratch"]["results"][g]) for g in again))  # sums in another order
    if not same:
        diff = {g: (arms["scratch"]["results"][g], again[g]) for g in again if arms["scratch"]["results"][g] != again[g]}
        print(f"  {name}: the carried search differs ({est.measured_on_the_spot} nodes new): {diff}")
    return {"model": name, "groups": len(graph.groups), "first_s": first_s, "first_exports": first_est.exports,
            "first_nodes_timed": first_est.measured_on_the_spot,
            "first_phases": phases(first_est),
            "cut": cut, "same_results": same,
            **{f"{arm}_{k}": v[k] for arm, v in arms.items()
               for k in ("seconds", "exports", "written", "carried", "nodes_timed", "phases")}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["resnet20", "mobilenet_v1", "yolo_tiny"])
    p.add_argument("--size", type=int, default=32, help="input height and width (yolo_tiny: always 96)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--step", type=int, default=8, help="channel step")
    p.add_argument("--repeats", type=int, default=50, help="timed runs per node")
    p.add_argument("--carried-first", action="store_true", help="run the carried arm before the scratch one")
    p.add_argument("--out", type=Path, default=HERE / "out" / "search_cost")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / f"results-b{args.batch}.json"
    rows = json.loads(results_path.read_text()) if results_path.exists() else []
    for name in args.models:
        print(f"{name} ...", flush=True)
        r = row(name, args, args.out)
        rows = [x for x in rows if x["model"] != name] + [r]
        results_path.write_text(json.dumps(rows, indent=2))
    print(f"\n{'model':<32} {'groups':>6} {'first s':>8} {'exports':>7} | {'2nd, scratch s':>14} {'exports':>7} | "
          f"{'2nd, carried s':>14} {'exports':>7} {'carried':>7} | {'ratio':>5} same")
    for r in rows:
        print(f"{r['model']:<32} {r['groups']:>6} {r['first_s']:>8.1f} {r['first_exports']:>7} | "
              f"{r['scratch_seconds']:>14.1f} {r['scratch_exports']:>7} | {r['carried_seconds']:>14.1f} "
              f"{r['carried_exports']:>7} {r['carried_carried']:>7} | "
              f"{r['carried_seconds'] / r['scratch_seconds']:>5.2f} {r['same_results']}")
    for r in rows:  # where each search's seconds went (rows of older runs lack them)
        for arm in ("first", "scratch", "carried"):
            if f"{arm}_phases" in r:
                spent = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(r[f"{arm}_phases"].items()))
                print(f"  {r['model']} {arm}: {r[f'{arm}_nodes_timed']} nodes timed; {spent}")


if __name__ == "__main__":
    main()
