"""Benchmark: how close is the lookup table's estimate of a whole model to its measured latency?

For each zoo model, at several widths and two input sizes, and for random non-uniformly pruned
variants of each, it prints the table estimate (the sum of the medians of the nodes the device runs,
each timed alone), the measured latency of
the exported ONNX model (median of many runs), and the error; then, once with medians and once with
10th percentiles of every node's and model's samples, the median absolute error and the
share of models within +-5% and +-10% for: a second measurement of the same model (the noise floor;
with ``--passes 2k`` the lowest of k measurements against the lowest of k others),
the raw table, the calibrated estimates (linear corrections fitted on whole-model measurements, over
the SIMPLE, FULL and TRAFFIC feature sets of netadapt.latency.calibration, scored leave-one-out so no model
is scored by a fit that saw it), and the anchored estimates of the pruned variants on the measured unpruned
model: plus the table's difference, and times the table's ratio (what NetAdapt uses inside its loop). Nodes and models are measured
in one run, interleaved model by model.

    python bench/fidelity.py                       # the full grid (minutes)
    python bench/fidelity.py --models resnet20 --widths 0.5,1.0 --variants 1   # quick
    python bench/fidelity.py --batch 32 --sizes 32                              # at the run's batch
    python bench/fidelity.py --source torchvision --models resnet18,mnasnet0_5 --sizes 64 --widths 0.5,1.0
    python bench/fidelity.py --save-calibration --lut ~/.cache/netadapt/lut.db  # store the fit
    python bench/fidelity.py --models vgg11 --json a.json & python bench/fidelity.py --models resnet20 \
        --json b.json; wait; python bench/fidelity.py --merge a.json b.json    # one grid, two processes
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", choices=("zoo", "torchvision"), default="zoo",
                   help="zoo: netadapt's models, widths by their width multiplier; torchvision: the real "
                   "torchvision definitions (needs torchvision; no weights, 10 classes), a width cutting every "
                   "channel group to that share of its channels (on its channel grid)")
    p.add_argument("--models", default="digits_cnn,mobilenet_v1,mobilenet_v2,resnet20,vgg11")
    p.add_argument("--widths", default="0.25,0.5,0.75,1.0")
    p.add_argument("--sizes", default="32,64", help="input sizes (square)")
    p.add_argument("--batch", type=int, default=1, help="batch every node and model is timed at "
                   "(netadapt run measures at 32)")
    p.add_argument("--variants", type=int, default=2, help="random non-uniform prunings per model")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=50, help="timed runs per node")
    p.add_argument("--model-repeats", type=int, default=200, help="timed runs per whole model")
    p.add_argument("--passes", type=int, default=2,
                   help="measure every model this many times, in passes over all models (even, >= 2): "
                   "a model's latency is the lowest of the first half of its measurements and is "
                   "compared with the lowest of the second half for the noise floor")
    p.add_argument("--subtract-overhead", action="store_true",
                   help="subtract an identity graph's per-call time from each node")
    p.add_argument("--lut", default=None, help="table to use (default: a fresh temporary one); every "
                   "model measured is stored in it for the device's calibration")
    p.add_argument("--save-calibration", action="store_true",
                   help="store the calibration with the lower leave-one-out error in --lut")
    p.add_argument("--json", default=None, help="write every model's features and measurements here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=None, metavar="MODEL:WIDTH,...",
                   help="of the --models x --widths grid, measure only these pairs")
    p.add_argument("--jobs", type=int, default=1,
                   help="split the grid over this many processes, each pinned to a physical core of its "
                   "own (for a machine with idle cores), and score the models together")
    p.add_argument("--merge", nargs="+", metavar="JSON", default=None,
                   help="measure nothing: score the models of these --json files together (a grid split "
                   "over processes); with --json, the merged scores are written there")
    return p


def parse_args(argv=None):
    return parser().parse_args(argv)


def build(args, name: str, width: float, shape):
    """The network ``name`` of ``args.source`` at ``width`` for inputs of ``shape`` (eval mode)."""
    if args.source == "zoo":
        from netadapt.models import create_model

        return create_model(name, width_mult=width).eval()
    import torchvision

    from netadapt.latency import group_grid
    from netadapt.pruning import analyze, apply_channels

    kwargs = {"image_size": shape[-1]} if name.startswith("vit") else {}
    with warnings.catch_warnings():  # GoogLeNet's note on its future initialisation
        warnings.simplefilter("ignore", FutureWarning)
        model = getattr(torchvision.models, name)(num_classes=10, **kwargs).eval()
    if width < 1:
        graph = analyze(model, shape)  # the groups that can be cut safely
        target = {}
        for g, grp in graph.groups.items():
            grid = group_grid(grp, grp.size, max(1, grp.size // 8))
            target[g] = min(grid, key=lambda n: (abs(n - width * grp.size), -n))
        apply_channels(model, shape, target)
    return model


def randomly_cut(model, shape, target: dict[str, int]):
    """``model`` cut to ``target`` (group -> count); where that network does not run (ShuffleNetV2's channel
    shuffles need the two halves they interleave to be even), every count rounded down to a multiple of 2, then
    4 and 8, until one runs."""
    import copy

    from netadapt.pruning import apply_channels

    for multiple in (1, 2, 4, 8):
        counts = {g: max(multiple, n - n % multiple) for g, n in target.items()}
        cut = copy.deepcopy(model)
        try:
            apply_channels(cut, shape, counts)
            return cut
        except Exception:  # noqa: BLE001 - a cut that does not run: the next rounding
            continue
    raise SystemExit(f"no random cut of {type(model).__name__} runs, even at multiples of 8")


def models_to_check(args):
    rng = random.Random(args.seed)
    only = {(n, float(w)) for n, w in (u.split(":") for u in args.only.split(","))} if args.only else None
    for name in args.models.split(","):
        if args.source == "zoo":
            from netadapt.models import model_info

            channels = model_info(name).default_input[0]
        else:
            channels = 3
        for size in (int(s) for s in args.sizes.split(",")):
            for width in (float(w) for w in args.widths.split(",")):
                if only is not None and (name, width) not in only:
                    continue
                for variant in range(args.variants + 1):
                    yield name, width, (args.batch, channels, size, size), variant, rng.random()


def summary(label, estimates, measured):
    """Print and return the median |error| and the shares within 5% and 10%."""
    errs = [abs(e / m - 1) for e, m in zip(estimates, measured)]
    within3 = sum(e <= 0.03 for e in errs) / len(errs)
    within5 = sum(e <= 0.05 for e in errs) / len(errs)
    within10 = sum(e <= 0.10 for e in errs) / len(errs)
    print(f"{label:<56} median |err| {100 * statistics.median(errs):5.1f}%   within 3%: {100 * within3:5.1f}%   "
          f"within 5%: {100 * within5:5.1f}%   within 10%: {100 * within10:5.1f}%   (n={len(errs)})")
    return {"median": statistics.median(errs), "within3": within3, "within5": within5, "within10": within10,
            "n": len(errs)}


def score(rows, passes, estimator, overhead=None):
    """Every estimate of every model, with nodes and models read at ``estimator.statistic``.

    ``passes[i]`` holds model i's measurements (Stats), the first from ``rows``' check; the model's
    latency is the lowest of the first half, its repeat measurement the lowest of the second half.
    """
    from netadapt.latency.calibration import features

    stat = estimator.statistic
    keys = [(name, width, size, variant) for name, width, size, variant, _ in rows]
    feats = []
    for *_, res in rows:
        nodes = [(unit, key, estimator.node(key)) for unit, key, _ in res.breakdown]
        f = dict(features(nodes))
        if overhead is not None:  # every node's per-call cost, as LatencyEstimator.call_ms counts it
            f["calls_ms"] = sum(min(ms, overhead(tuple(key.data.shape), key.data.dtype))
                                for _, key, ms in nodes if getattr(key, "data", None) is not None)
        feats.append(f)
    return score_models(keys, feats, [[getattr(m, stat) for m in ms] for ms in passes])


def score_models(keys, feats, passes_ms):
    """The scores of models given as (name, width, size, variant) keys, their table features and every
    measurement of each (ms, in pass order): the latency is the lowest of the first half of the passes,
    the repeat measurement (the noise floor) the lowest of the second half."""
    from netadapt.latency.calibration import FULL, SIMPLE, TRAFFIC, Sample, fit, leave_one_out

    samples, bases = [], {}
    half = len(passes_ms[0]) // 2
    for (name, width, size, variant), f, ms in zip(keys, feats, passes_ms):
        samples.append(Sample(dict(f), min(ms[:half])))
        if not variant:
            bases[(name, width, size)] = samples[-1]
    measured = [s.measured_ms for s in samples]
    scores = {
        "repeat measurement (noise floor)": summary(
            "a second measurement of the same model", [min(ms[half:]) for ms in passes_ms], measured),
        "table": summary("table alone (sum of nodes)", [s.features["table_ms"] for s in samples], measured),
    }
    fits = {}
    for label, fs in (("simple", SIMPLE), ("full", FULL), ("traffic", TRAFFIC)):
        if len(samples) >= 2 * len(fs) + 1:
            scores[label] = summary(f"calibrated ({label}), leave-one-out",
                                    leave_one_out(samples, fs), measured)
            fits[label] = fit(samples, fs)
    # Anchored estimates of every pruned variant on measured(unpruned model of the same width and input):
    # + table(variant) - table(unpruned), and x table(variant) / table(unpruned) (what NetAdapt uses).
    # Without the share of every node's per-call cost that the unpruned model's table exceeds its measurement
    # by, on both sides of the ratio (what the loop predicts with: CandidateEstimates.call_share).
    anchored, scaled, shared, anchored_measured = [], [], [], []
    for (name, width, size, variant), s in zip(keys, samples):
        if variant and (name, width, size) in bases:
            base = bases[(name, width, size)]
            anchored.append(base.measured_ms + s.features["table_ms"] - base.features["table_ms"])
            scaled.append(base.measured_ms * s.features["table_ms"] / base.features["table_ms"])
            anchored_measured.append(s.measured_ms)
            calls, base_calls = s.features.get("calls_ms"), base.features.get("calls_ms")
            if calls is not None and base_calls is not None:
                excess = base.features["table_ms"] - base.measured_ms
                share = min(excess / base_calls, 1.0) if excess > 0 and base_calls > 0 else 0.0
                shared.append(base.measured_ms * (s.features["table_ms"] - share * calls)
                              / (base.features["table_ms"] - share * base_calls))
    if anchored:
        scores["anchored"] = summary("anchored on the unpruned model, by difference",
                                     anchored, anchored_measured)
        scores["anchored_ratio"] = summary("anchored on the unpruned model, by ratio",
                                           scaled, anchored_measured)
    if shared and len(shared) == len(anchored):
        scores["anchored_call_share"] = summary("anchored, by ratio less the per-call share (the loop's)",
                                                shared, anchored_measured)
    for label, calib in fits.items():
        print(f"{label} calibration on all {len(samples)} models: {calib.describe()}")
    return {"scores": scores, "fits": fits, "samples": samples}


def merge(paths):
    """Score the models of several ``--json`` files together, as if one run had measured them all: for a
    grid split over processes (each on a core of its own) on a machine with cores to spare. The files must
    come from one device and the same settings but for ``--models``/``--widths``/``--sizes``/``--json``."""
    from netadapt.latency.estimator import STATISTICS

    runs = [json.loads(Path(p).read_text()) for p in paths]
    differ = {"models", "widths", "sizes", "json", "seed", "only", "jobs", "merge"}
    ref = {k: v for k, v in runs[0]["args"].items() if k not in differ}
    for path, run in zip(paths[1:], runs[1:]):
        other = {k: v for k, v in run["args"].items() if k not in differ}
        if other != ref:
            diff = sorted(k for k in set(ref) | set(other) if ref.get(k) != other.get(k))
            raise SystemExit(f"{path}: other settings than {paths[0]} ({', '.join(diff)}); cannot merge")
        if run["fingerprint"] != runs[0]["fingerprint"]:
            raise SystemExit(f"{path}: measured on another device than {paths[0]}; cannot merge")
    models = [m for run in runs for m in run["models"]]
    keys = [(m["model"], m["width"], m["input"], m["variant"]) for m in models]
    if len(set(keys)) != len(keys):
        raise SystemExit("the files measured some model twice; cannot merge")
    print(f"{len(models)} models from {len(paths)} files, device "
          f"{runs[0]['fingerprint'].get('processor', runs[0]['fingerprint'].get('gpu', '?'))}")
    results = {}
    for stat in STATISTICS:
        print(f"\nlatency statistic: {stat} (of every node's and every model's samples)")
        results[stat] = score_models(keys, [m[f"{stat}_features"] for m in models],
                                     [m[f"{stat}_passes_ms"] for m in models])
    return results


def physical_cpus():
    """One logical CPU of each physical core this process may run on."""
    seen, cpus = set(), []
    for cpu in sorted(os.sched_getaffinity(0)):
        try:
            core = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip()
        except OSError:
            core = str(cpu)
        if core not in seen:
            seen.add(core)
            cpus.append(cpu)
    return cpus


def run_jobs(args, folder):
    """Measure the grid in ``args.jobs`` processes, one per physical core, the (model, width) pairs dealt
    out largest first (by parameter count) to the process with the least so far; returns their --json
    files. Each process measures its models in passes over all of them, as one process would."""
    cpus = physical_cpus()
    if args.jobs > len(cpus):
        raise SystemExit(f"--jobs {args.jobs}: this process may run on {len(cpus)} physical cores only")
    units = [(n, float(w)) for n in args.models.split(",") for w in args.widths.split(",")]
    size = max(int(z) for z in args.sizes.split(","))
    cost = {u: sum(p.numel() for p in build(args, u[0], u[1], (1, 3, size, size)).parameters()) for u in units}
    jobs = [[] for _ in range(args.jobs)]
    for unit in sorted(units, key=cost.get, reverse=True):
        min(jobs, key=lambda j: sum(map(cost.get, j))).append(unit)
    # every setting of this run goes to the processes, but for what splits the grid and where results go
    own = {"help", "jobs", "json", "only", "merge", "lut", "save_calibration"}
    flags = []
    for action in parser()._actions:
        value = getattr(args, action.dest, None)
        if action.dest in own or not action.option_strings or value is None:
            continue
        if action.nargs == 0:  # a switch
            flags += [action.option_strings[0]] if value else []
        else:
            flags += [action.option_strings[0], str(value)]
    procs, outputs = [], []
    for k, (job, cpu) in enumerate(zip(jobs, cpus)):
        if not job:
            continue
        out = Path(folder) / f"job{k}.json"
        log = open(Path(folder) / f"job{k}.log", "w")
        cmd = [sys.executable, __file__, *flags, "--only",
               ",".join(f"{n}:{w}" for n, w in job), "--json", str(out)]
        print(f"job {k} on cpu {cpu}: {', '.join(f'{n} x{w}' for n, w in job)}", flush=True)
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                       preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu})), log, k))
        outputs.append(out)
    for proc, log, k in procs:
        proc.wait()
        log.close()
        text = Path(log.name).read_text()
        if proc.returncode:
            tail = text.strip().splitlines()[-1:]
            raise SystemExit(f"job {k} failed (exit {proc.returncode}): {tail[0] if tail else ''}")
        print(text.split("\nlatency statistic")[0].rstrip(), flush=True)
    return [str(o) for o in outputs]


def write_merged(path, sources, results):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({
        "merged": sources,
        "scores": {stat: r["scores"] for stat, r in results.items()},
        "fits": {stat: {k: dict(v.coef) for k, v in r["fits"].items()} for stat, r in results.items()}},
        indent=1))


def main(argv=None):
    args = parse_args(argv)
    if args.jobs > 1:
        if args.lut or args.save_calibration:
            raise SystemExit("--jobs measures into one temporary table per process: "
                             "--lut and --save-calibration need a single process")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            files = run_jobs(args, folder)
            print(f"{args.jobs} processes, wall time {time.perf_counter() - started:.0f} s", flush=True)
            results = merge(files)
            if args.json:
                write_merged(args.json, files, results)
        return
    if args.merge:
        results = merge(args.merge)
        if args.json:
            write_merged(args.json, args.merge, results)
        return
    import torch

    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.latency import LatencyEstimator, group_grid
    from netadapt.latency.calibration import record
    from netadapt.latency.estimator import STATISTICS
    from netadapt.latency.check import check_model
    from netadapt.pruning import analyze
    from profilers import ProfileConfig, get_profiler

    if args.passes < 2 or args.passes % 2:
        raise SystemExit(f"--passes must be even and >= 2 (got {args.passes})")
    torch.set_num_threads(1)
    dev = get_device(args.device, threads=args.threads)
    tmp = tempfile.TemporaryDirectory()
    table = LatencyTable(args.lut or str(Path(tmp.name) / "fidelity.db"))
    fp = dev.fingerprint()
    node_prof = get_profiler(dev, ProfileConfig(warmup=args.warmup, repeats=args.repeats,
                                                subtract_overhead=args.subtract_overhead))
    model_prof = get_profiler(dev, ProfileConfig(warmup=args.warmup, repeats=args.model_repeats))
    estimator = LatencyEstimator(table, dev, node_prof)
    started = time.perf_counter()
    rows, exported = [], []
    print(f"device {dev.name}: {fp.get('processor', fp.get('gpu', '?'))}, threads {args.threads}, "
          f"node repeats {args.repeats}, model repeats {args.model_repeats}, "
          f"subtract overhead {args.subtract_overhead}", flush=True)
    header = f"{'model':<20}{'width':>6}{'input':>7}{'var':>4}{'nodes':>7}{'table ms':>10}{'meas ms':>10}{'err':>8}"
    print(header, flush=True)
    for name, width, shape, variant, u in models_to_check(args):
        torch.manual_seed(args.seed)
        model = build(args, name, width, shape)
        if variant:
            graph = analyze(model, shape)
            gen = random.Random(f"{args.seed}/{name}/{width}/{shape}/{variant}")
            target = {g: gen.choice(group_grid(grp, grp.size, max(1, grp.size // 8)))
                      for g, grp in graph.groups.items()}
            model = randomly_cut(model, shape, target)
        onnx = Path(tmp.name) / f"m{len(exported)}.onnx"  # kept for the later passes
        res = check_model(model, shape, estimator, model_prof, onnx_path=onnx)
        rows.append((name, width, shape[-1], variant, res))
        if args.lut:  # kept for the device's calibration (netadapt.latency.calibration.refit)
            record(table, fp, res.breakdown, res.measured_ms, "fidelity")
        exported.append((onnx, shape))
        print(f"{name:<20}{width:>6.2f}{shape[-1]:>7}{variant:>4}{res.units:>7}{res.table_ms:>10.4f}"
              f"{res.measured_ms:>10.4f}{100 * res.error:>+7.1f}%", flush=True)
    # More measurements of every model, in later passes over all of them (minutes apart): how far
    # apart two measurements of the same model are on this device is the floor under any estimate's
    # error, and the lowest of several is less moved by other work on a shared machine.
    passes = [[res.measured_stats] for *_, res in rows]
    for _ in range(args.passes - 1):
        for measurements, (onnx, shape) in zip(passes, exported):
            measurements.append(model_prof.measure_model(onnx, shape))
    print(f"nodes measured: {estimator.measured_on_the_spot}; "
          f"wall time {time.perf_counter() - started:.0f} s")
    results = {}
    for stat in STATISTICS:
        print(f"\nlatency statistic: {stat} (of every node's and every model's samples)")
        results[stat] = score(rows, passes, LatencyEstimator(table, dev, statistic=stat),
                              getattr(node_prof, "overhead_ms", None))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "fingerprint": fp,
            "scores": {stat: r["scores"] for stat, r in results.items()},
            "fits": {stat: {k: dict(v.coef) for k, v in r["fits"].items()} for stat, r in results.items()},
            "models": [{"model": n, "width": w, "input": z, "variant": v,
                        **{f"{stat}_measured_ms": r["samples"][i].measured_ms for stat, r in results.items()},
                        **{f"{stat}_passes_ms": [getattr(m, stat) for m in ms] for stat in results},
                        **{f"{stat}_features": dict(r["samples"][i].features) for stat, r in results.items()}}
                       for i, ((n, w, z, v, _), ms) in enumerate(zip(rows, passes))]}, indent=1))
        print(f"samples written to {args.json}")
    fits, scores = results["median"]["fits"], results["median"]["scores"]
    if args.save_calibration and fits:
        best = min(fits, key=lambda k: scores[k]["median"])
        fits[best].save(table, fp)
        print(f"{best} calibration saved to {table.label} for this device")


if __name__ == "__main__":
    main()
