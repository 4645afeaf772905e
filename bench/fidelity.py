"""Benchmark: how close is the lookup table's estimate of a whole model to its measured latency?

For each zoo model, at several widths and two input sizes, and for random non-uniformly pruned
variants of each, it prints the table estimate (sum of per-layer medians), the measured latency of
the exported ONNX model (median of many runs), and the error; then the median absolute error and the
share of models within +-5% and +-10%, for the raw table and for the calibrated estimate (a linear
correction fitted on whole-model measurements, scored leave-one-out so no model is scored by a fit
that saw it). Layers and models are measured in one run, interleaved model by model.

    python bench/fidelity.py                       # the full grid (minutes)
    python bench/fidelity.py --models resnet20 --widths 0.5,1.0 --variants 1   # quick
    python bench/fidelity.py --save-calibration --lut ~/.cache/netadapt/lut.db  # store the fit
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="digits_cnn,mobilenet_v1,mobilenet_v2,resnet20,vgg11")
    p.add_argument("--widths", default="0.25,0.5,0.75,1.0")
    p.add_argument("--sizes", default="32,64", help="input sizes (square)")
    p.add_argument("--variants", type=int, default=2, help="random non-uniform prunings per model")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=50, help="timed runs per layer")
    p.add_argument("--model-repeats", type=int, default=200, help="timed runs per whole model")
    p.add_argument("--subtract-overhead", action="store_true",
                   help="subtract an identity graph's per-call time from each layer")
    p.add_argument("--lut", default=None, help="table to use (default: a fresh temporary one)")
    p.add_argument("--save-calibration", action="store_true", help="store the fitted calibration in --lut")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def models_to_check(args):
    from netadapt.models import model_info

    rng = random.Random(args.seed)
    for name in args.models.split(","):
        channels = model_info(name).default_input[0]
        for size in (int(s) for s in args.sizes.split(",")):
            for width in (float(w) for w in args.widths.split(",")):
                for variant in range(args.variants + 1):
                    yield name, width, (1, channels, size, size), variant, rng.random()


def main(argv=None):
    args = parse_args(argv)
    import torch

    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.latency import LatencyEstimator, channel_grid
    from netadapt.latency.calibration import Sample, fit, leave_one_out
    from netadapt.latency.check import check_model
    from netadapt.models import create_model
    from netadapt.pruning import analyze, apply_channels
    from profilers import ProfileConfig, get_profiler

    torch.set_num_threads(1)
    dev = get_device(args.device, threads=args.threads)
    tmp = tempfile.TemporaryDirectory()
    table = LatencyTable(args.lut or str(Path(tmp.name) / "fidelity.db"))
    fp = dev.fingerprint()
    layer_prof = get_profiler(dev, ProfileConfig(warmup=args.warmup, repeats=args.repeats,
                                                 subtract_overhead=args.subtract_overhead))
    model_prof = get_profiler(dev, ProfileConfig(warmup=args.warmup, repeats=args.model_repeats))
    estimator = LatencyEstimator(table, fp, layer_prof)
    started = time.perf_counter()
    rows, samples = [], []
    print(f"device {dev.name}: {fp.get('processor', fp.get('gpu', '?'))}, threads {args.threads}, "
          f"layer repeats {args.repeats}, model repeats {args.model_repeats}, "
          f"subtract overhead {args.subtract_overhead}", flush=True)
    header = f"{'model':<14}{'width':>6}{'input':>7}{'var':>4}{'layers':>7}{'table ms':>10}{'meas ms':>10}{'err':>8}"
    print(header, flush=True)
    for name, width, shape, variant, u in models_to_check(args):
        torch.manual_seed(args.seed)
        model = create_model(name, width_mult=width).eval()
        if variant:
            graph = analyze(model, shape)
            gen = random.Random(f"{args.seed}/{name}/{width}/{shape}/{variant}")
            target = {g: gen.choice(channel_grid(n, max(1, n // 8))) for g, n in graph.sizes().items()}
            apply_channels(model, shape, target)
        res = check_model(model, shape, estimator, model_prof)
        rows.append((name, width, shape[-1], variant, res))
        samples.append(Sample(res.table_ms, res.units, res.measured_ms))
        print(f"{name:<14}{width:>6.2f}{shape[-1]:>7}{variant:>4}{res.units:>7}{res.table_ms:>10.4f}"
              f"{res.measured_ms:>10.4f}{100 * res.error:>+7.1f}%", flush=True)
    loo = leave_one_out(samples) if len(samples) > 3 else [s.table_ms for s in samples]

    def summary(label, estimates):
        errs = [abs(e / s.measured_ms - 1) for e, s in zip(estimates, samples)]
        within5 = sum(e <= 0.05 for e in errs) / len(errs)
        within10 = sum(e <= 0.10 for e in errs) / len(errs)
        print(f"{label:<34} median |err| {100 * statistics.median(errs):5.1f}%   within 5%: "
              f"{100 * within5:5.1f}%   within 10%: {100 * within10:5.1f}%   (n={len(errs)})")

    print()
    summary("table alone (sum of layers)", [s.table_ms for s in samples])
    summary("calibrated, leave-one-out", loo)
    calib = fit(samples)
    print(f"calibration on all {len(samples)} models: measured = {calib.scale:.3f} x table "
          f"{calib.per_unit_ms * 1000:+.1f} us x layers {calib.offset_ms * 1000:+.1f} us")
    print(f"layers measured: {estimator.measured_on_the_spot}; wall time {time.perf_counter() - started:.0f} s")
    if args.save_calibration:
        calib.save(table, fp)
        print(f"calibration saved to {table.label} for this device")


if __name__ == "__main__":
    main()
