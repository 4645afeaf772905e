"""Benchmark: profile every layer signature a NetAdapt run on MobileNetV1 (32x32) can visit.

Prints the number of rows, the wall time, the summed time of the timed runs themselves, and the
overhead ratio (wall / timed): what session creation, graph building and table writes cost on top
of the measurements. Uses a fresh temporary table unless --lut is given.

    python bench/profile_grid.py                          # full grid, channel step 8
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
    p.add_argument("--input-shape", default="1x3x32x32")
    p.add_argument("--channel-step", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--limit", type=int, default=None, help="profile only the first N signatures")
    p.add_argument("--lut", default=None)
    args = p.parse_args(argv)

    from devices import get_device
    from lut.measure import measure_missing
    from lut.table import LatencyTable
    from netadapt.cli.options import parse_input_shape
    from netadapt.latency import visitable_signatures
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze
    from profilers import ProfileConfig, get_profiler

    shape = parse_input_shape(args.input_shape)
    dev = get_device(args.device, threads=args.threads)
    tmp = tempfile.TemporaryDirectory()
    table = LatencyTable(args.lut or str(Path(tmp.name) / "grid.db"))
    graph = analyze(ModelSpec(args.model).build(), shape)
    sigs = visitable_signatures(graph, args.channel_step)
    if args.limit:
        sigs = sigs[: args.limit]
    by_op = {}
    for s in sigs:
        by_op[s.op] = by_op.get(s.op, 0) + 1
    profiler = get_profiler(dev, ProfileConfig(warmup=args.warmup, repeats=args.repeats))
    started = time.perf_counter()
    summary = measure_missing(table, profiler, sigs, progress=True)
    wall = time.perf_counter() - started
    rows = sum(n for *_, n in table.devices())
    fp = dev.fingerprint()
    print(f"model {args.model} {args.input_shape}, channel step {args.channel_step}, "
          f"{len(graph.groups)} groups, signatures by op: {by_op}")
    print(f"device {dev.name} ({fp.get('processor', '?')}, {args.threads} thread(s), "
          f"onnxruntime {fp.get('ort_version', fp.get('onnxruntime', '?'))}), warmup {args.warmup}, "
          f"repeats {args.repeats}")
    print(f"{'rows':>8} {'wall s':>9} {'timed s':>9} {'overhead':>9} {'ms/row':>8}")
    print(f"{rows:>8} {wall:>9.1f} {summary.timed_seconds:>9.1f} "
          f"{wall / max(summary.timed_seconds, 1e-9):>8.2f}x {1000 * wall / max(rows, 1):>8.1f}")


if __name__ == "__main__":
    main()
