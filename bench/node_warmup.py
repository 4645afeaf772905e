"""Benchmark: does a node's timing need ten warm-up runs, or do fewer give the same median?

Fills a fresh table as `netadapt profile` does (the first NetAdapt iteration's networks of ``--model``) to
get the nodes a run really looks up, then times every one of those nodes again, each in a fresh session as
the profiler does, with ``--warmup-a`` and with ``--warmup-b`` untimed runs before the timed ones,
alternating A and B (AB, then BA, ``--rounds`` times: ``2 x rounds`` takes of each setting per node, no
retakes). Prints, per setting, the wall time and the time inside timed runs per node, and across the nodes:

  - noise: how far two takes of the same setting differ (median and 90th percentile of |take1/take2 - 1|);
  - bias: how far B's median (over its takes) lies from A's (median over the nodes of B/A - 1, signed, and
    of |B/A - 1|), and the sum over the nodes of B's medians against A's.

A bias within the noise says the warm-up runs left out changed nothing the timing can see.

    python bench/node_warmup.py                                     # MobileNetV1, 10 against 2
    python bench/node_warmup.py --model resnet20 --warmup-b 0
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def nodes_of_first_iteration(args, lut: str) -> tuple:
    """(device, the node keys the first iteration's search looks up), measured once into a fresh table."""
    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.algorithm.search import first_iteration_search
    from netadapt.cli.options import parse_input_shape
    from netadapt.latency import LatencyEstimator
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze
    from profilers import ProfileConfig, get_profiler

    shape = parse_input_shape(args.input_shape)
    dev = get_device(args.device, threads=args.threads)
    table = LatencyTable(lut)
    profiler = get_profiler(dev, ProfileConfig(warmup=args.warmup_a, repeats=args.repeats))
    net = ModelSpec(args.model).build().eval()
    first_iteration_search(LatencyEstimator(table, dev, profiler), net, analyze(net, shape), args.channel_step)
    return dev, [row.key for row in table.rows(dev)]


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--input-shape", default="32x3x32x32")
    p.add_argument("--channel-step", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup-a", type=int, default=10, help="untimed runs before each take of setting A")
    p.add_argument("--warmup-b", type=int, default=2, help="untimed runs before each take of setting B")
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--rounds", type=int, default=1, help="AB then BA, this many times per node")
    p.add_argument("--limit", type=int, default=None, help="only the first N nodes")
    args = p.parse_args(argv)

    import torch

    from profilers import ProfileConfig, get_profiler

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        dev, keys = nodes_of_first_iteration(args, str(Path(tmp) / "table.db"))
    keys = keys[: args.limit]
    settings = {"A": args.warmup_a, "B": args.warmup_b}
    profilers = {s: get_profiler(dev, ProfileConfig(warmup=w, repeats=args.repeats, retakes=0))
                 for s, w in settings.items()}
    wall = {s: 0.0 for s in settings}
    takes: dict[str, list[list[float]]] = {s: [] for s in settings}
    for key in keys:
        medians = {s: [] for s in settings}
        for order in ["AB", "BA"] * args.rounds:
            for s in order:
                t0 = time.perf_counter()
                medians[s].append(profilers[s].measure_node(key).median)
                wall[s] += time.perf_counter() - t0
        for s in settings:
            takes[s].append(medians[s])
    fp = dev.fingerprint()
    print(f"model {args.model} {args.input_shape}, {len(keys)} nodes of the first iteration's search; device "
          f"{dev.name} ({fp.get('processor', '?')}, {args.threads} thread(s)); repeats {args.repeats}, "
          f"{2 * args.rounds} takes per setting and node, alternating")
    print(f"{'setting':>8} {'warm-up':>7} {'wall ms/node':>12} {'timed ms/node':>13} {'noise med':>9} "
          f"{'noise p90':>9}")
    n, takes_per = len(keys), 2 * args.rounds
    for s, w in settings.items():
        noise = [abs(t[0] / t[1] - 1) for t in takes[s] if len(t) > 1 and t[1] > 0]
        timed = profilers[s].timed_seconds
        print(f"{s:>8} {w:>7} {1e3 * wall[s] / (n * takes_per):>12.2f} {1e3 * timed / (n * takes_per):>13.2f} "
              f"{100 * statistics.median(noise):>8.2f}% {100 * _p90(noise):>8.2f}%")
    bias = [statistics.median(b) / statistics.median(a) - 1 for a, b in zip(takes["A"], takes["B"])]
    total = {s: sum(statistics.median(t) for t in takes[s]) for s in settings}
    print(f"B against A: median {100 * statistics.median(bias):+.2f}%, median |B/A - 1| "
          f"{100 * statistics.median(abs(b) for b in bias):.2f}%, p90 {100 * _p90([abs(b) for b in bias]):.2f}%; "
          f"sum of the nodes' medians {100 * (total['B'] / total['A'] - 1):+.2f}%; wall per node "
          f"{wall['B'] / wall['A']:.2f}x")


if __name__ == "__main__":
    main()
