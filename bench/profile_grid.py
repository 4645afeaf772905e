"""Benchmark: profile the nodes the first NetAdapt iteration on a model can visit, as `netadapt profile` does.

Every network on the channel grid (one group cut at a time) is exported, optimised for the device and
inspected; every distinct node it runs is timed and stored. Prints the number of networks and nodes, the
wall time, the summed time of the timed runs themselves, the overhead ratio (wall / timed), and where the
wall time went: exporting, reading the optimised graphs, session building and warm-up, timed runs, table
writes. Uses a fresh temporary table unless --lut is given.

    python bench/profile_grid.py                          # MobileNetV1 32x32, batch 32, channel step 8
    python bench/profile_grid.py --channel-step 32        # a coarser grid (quick)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--input-shape", default="32x3x32x32")
    p.add_argument("--channel-step", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--limit", type=int, default=None, help="read only the first N networks of the grid")
    p.add_argument("--lut", default=None)
    args = p.parse_args(argv)

    import torch

    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.cli.options import parse_input_shape
    from netadapt.latency import LatencyEstimator, visitable_configs
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze, shrunk_copy
    from profilers import ProfileConfig, get_profiler

    torch.set_num_threads(1)
    shape = parse_input_shape(args.input_shape)
    dev = get_device(args.device, threads=args.threads)
    tmp = tempfile.TemporaryDirectory()
    table = LatencyTable(args.lut or str(Path(tmp.name) / "grid.db"))
    profiler = get_profiler(dev, ProfileConfig(warmup=args.warmup, repeats=args.repeats))
    estimator = LatencyEstimator(table, dev, profiler)
    net = ModelSpec(args.model).build().eval()
    started = time.perf_counter()
    graph = analyze(net, shape)
    analysed = time.perf_counter() - started
    configs = [{}] + visitable_configs(graph, args.channel_step)
    if args.limit:
        configs = configs[: args.limit]
    nodes = set()
    for sizes in configs:
        units = estimator.units(shrunk_copy(net, graph, sizes), shape)
        estimator.ensure(u.key for u in units)  # times what the table lacks, each row in its own transaction
        nodes.update(u.key.key_id for u in units)
    wall = time.perf_counter() - started
    fp = dev.fingerprint()
    timed = profiler.timed_seconds
    measure = estimator.seconds.get("measure", 0.0)
    split = {"analyse": analysed, "export": estimator.seconds.get("export", 0.0),
             "optimise+inspect": estimator.seconds.get("units", 0.0),
             "sessions+warm-up+writes": measure - timed, "timed runs": timed}
    split["other"] = wall - sum(split.values())
    print(f"model {args.model} {args.input_shape}, channel step {args.channel_step}, {len(graph.groups)} groups, "
          f"{len(configs)} networks, {len(nodes)} distinct nodes, {estimator.measured_on_the_spot} measured")
    print(f"device {dev.name} ({fp.get('processor', '?')}, {args.threads} thread(s), onnxruntime "
          f"{fp.get('onnxruntime', '?')}), warmup {args.warmup}, repeats {args.repeats}")
    print(f"{'wall s':>9} {'timed s':>9} {'overhead':>9} {'ms/node':>8}")
    print(f"{wall:>9.1f} {timed:>9.1f} {wall / max(timed, 1e-9):>8.2f}x "
          f"{1000 * wall / max(len(nodes), 1):>8.1f}")
    print("where the wall time went: " + ", ".join(f"{k} {v:.1f} s ({100 * v / wall:.0f}%)"
                                                  for k, v in split.items()))


if __name__ == "__main__":
    main()
