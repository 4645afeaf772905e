"""NetAdapt vs the uniform width multiplier on CIFAR-10, measured on this machine's CPU.

One NetAdapt run goes to the deepest budget (35% of the starting latency by default) and passes through
the shallower ones: the first iteration at or under each shallower budget is long-term fine-tuned the same
way the run's final model is, which is where a run to that budget would have stopped (up to its last step,
which a dedicated run would clamp to the budget). For each of those iterations a uniform-width network of
the same measured latency is built (netadapt.baseline: bisection over the width, the base checkpoint pruned
uniformly with the run's criterion, the same short-term steps and long-term epochs), plus a few more uniform
points for the curve. The table compares test accuracy at equal latency, and reads the latency ratio at
equal accuracy off the interpolated uniform curve.

Everything lands in bench/out/ (gitignored) and every part is skipped when its output exists, so a killed
benchmark resumes by running the same command again.

    python bench/netadapt_vs_uniform.py                      # the default: 33 minutes on 2 quiet cores
    python bench/netadapt_vs_uniform.py --train-limit 300 --test-limit 200 --base-epochs 1 \\
        --short-steps 2 --long-epochs 1 --max-iterations 2   # a smoke test
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tarfile
import time
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
ARCHIVE = Path("/work/shared/data/cifar10-jpg.tar.gz")


class Clock:
    """Wall seconds per named part, printed at the end so a full run can be sized."""

    def __init__(self):
        self.parts: dict[str, float] = {}
        self.t0 = time.perf_counter()

    def part(self, name):
        clock = self

        class _Part:
            def __enter__(self):
                self.t = time.perf_counter()
                click.echo(f"[{time.perf_counter() - clock.t0:7.1f} s] {name} ...")

            def __exit__(self, *exc):
                clock.parts[name] = clock.parts.get(name, 0.0) + time.perf_counter() - self.t

        return _Part()


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:8]


def unpack(archive: Path, out: Path) -> Path:
    """``out/cifar10`` with train/ and test/ class folders (unpacked once)."""
    root = out / "cifar10"
    if (root / "test").is_dir() and (root / ".complete").is_file():
        return root
    if not archive.is_file():
        raise click.ClickException(f"{archive} not found (see /work/shared/data/README.md)")
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    (root / ".complete").write_text("ok")
    return root


def subset(root: Path, out: Path, train_limit: int | None, test_limit: int | None) -> Path:
    """A class-balanced image folder of at most the given sizes, made of symbolic links (``root`` if no limit)."""
    if train_limit is None and test_limit is None:
        return root
    folder = out / f"cifar10-sub-{train_limit}-{test_limit}"
    if (folder / ".complete").is_file():
        return folder
    for split, n in (("train", train_limit), ("test", test_limit)):
        classes = sorted(p.name for p in (root / split).iterdir() if p.is_dir())
        per_class = None if n is None else max(1, n // len(classes))
        for name in classes:
            dest = folder / split / name
            dest.mkdir(parents=True, exist_ok=True)
            for src in sorted((root / split / name).iterdir())[:per_class]:
                link = dest / src.name
                if not link.exists():
                    link.symlink_to(src.resolve())
    (folder / ".complete").write_text("ok")
    return folder


def train_base(s: dict, data_source: str, out: Path, log) -> tuple[Path, float]:
    """The base checkpoint (trained once) and its test accuracy."""
    from netadapt.checkpoint import read_checkpoint, save_checkpoint
    from netadapt.data import load_data
    from netadapt.models.spec import ModelSpec
    from netadapt.training import TrainConfig, train

    if s["base_checkpoint"]:
        path = Path(s["base_checkpoint"]).resolve()
        if path.is_file():
            return path, read_checkpoint(path)["extra"].get("test_accuracy", math.nan)
    else:
        key = _hash({k: s[k] for k in ("model", "width_mult", "train_limit", "base_epochs", "base_lr",
                                       "batch_size", "holdout", "seed")})
        path = out / f"base-{s['model']}-{key}.pt"
        if path.is_file():
            return path, read_checkpoint(path)["extra"].get("test_accuracy", math.nan)
    import torch

    data = load_data(data_source, holdout=s["holdout"], seed=s["seed"])
    spec = ModelSpec(s["model"], {"num_classes": data.num_classes, "in_channels": 3,
                                  "width_mult": s["width_mult"], "stem": "cifar"})
    torch.manual_seed(s["seed"])
    model = spec.build()
    log(f"training the base {spec.name} (width {s['width_mult']}) on {len(data.train)} images "
        f"for {s['base_epochs']} epochs")
    result = train(model, data, TrainConfig(epochs=s["base_epochs"], lr=s["base_lr"], batch_size=s["batch_size"],
                                            seed=s["seed"]),
                   out_dir=path.with_suffix(".train"), progress=s["progress"], resume=True)
    save_checkpoint(path, model, spec, (1, *data.input_shape), extra={"test_accuracy": result.test_accuracy})
    return path, result.test_accuracy


def run_config(s: dict, data_source: str, checkpoint: Path):
    from netadapt.algorithm.config import FineTuneConfig, RunConfig
    from netadapt.algorithm.schedule import ReductionSchedule

    return RunConfig(
        budget=f"{min(s['budgets']):g}%", model=s["model"], checkpoint=str(checkpoint), data=data_source,
        holdout=s["holdout"], eval_limit=s["eval_limit"], device=s["device"], threads=s["threads"],
        warmup=s["warmup"], repeats=s["repeats"], model_repeats=s["model_repeats"],
        channel_step=s["channel_step"],
        schedule=ReductionSchedule(s["initial_reduction"], s["reduction_decay"], s["reduction_floor"]),
        finetune=FineTuneConfig(short_steps=s["short_steps"], long_epochs=s["long_epochs"],
                                batch_size=s["batch_size"]),
        max_iterations=s["max_iterations"], seed=s["seed"])


def long_term(run_dir: Path, iteration: int, config, out: Path, progress: bool) -> dict:
    """Long-term fine-tune one iteration's model as the run does its final one; measure and test it."""
    from devices import get_device
    from netadapt.checkpoint import load_checkpoint
    from netadapt.data import load_data
    from netadapt.export import export_onnx
    from netadapt.runs import folder as rf
    from netadapt.training import TrainConfig, evaluate, train
    from profilers import ProfileConfig, get_profiler

    out.mkdir(parents=True, exist_ok=True)
    done = out / f"netadapt_iter_{iteration:03d}.json"
    if done.is_file():
        return rf.read_json(done)
    if iteration == rf.read_json(run_dir / "final" / "info.json")["from_iteration"]:
        final = rf.read_json(run_dir / "final" / "info.json")
        info = {"iteration": iteration, "measured_ms": final["measured_ms"], "test_accuracy": final["test_accuracy"],
                "seconds": final["seconds"]}
        rf.write_json(done, info)
        return info
    t0 = time.perf_counter()
    ft = config.finetune
    loaded = load_checkpoint(rf.iteration_dir(run_dir, iteration) / "model.pt")
    data = load_data(config.data, holdout=config.holdout, seed=config.seed)
    model = loaded.model
    if ft.long_epochs > 0:
        train(model, data, TrainConfig(epochs=ft.long_epochs, lr=ft.long_lr, batch_size=ft.batch_size,
                                       seed=config.seed),
              out_dir=out / f"netadapt_iter_{iteration:03d}.train", progress=progress, resume=True)
    test_acc = evaluate(model, data.test)
    device = get_device(config.device, threads=config.threads, gpu_id=config.gpu_id)
    profiler = get_profiler(device, ProfileConfig(warmup=config.warmup, repeats=config.model_repeats))
    onnx = export_onnx(model, out / f"netadapt_iter_{iteration:03d}.onnx", loaded.input_shape)
    measured = float(profiler.measure_model(str(onnx), loaded.input_shape).median)
    info = {"iteration": iteration, "measured_ms": measured, "test_accuracy": test_acc,
            "seconds": {"long_term": time.perf_counter() - t0}}
    rf.write_json(done, info)
    return info


def remeasure(models: dict[str, Path], config, rounds: int) -> dict[str, float]:
    """Median latency of every model over ``rounds`` interleaved rounds: on a shared, noisy machine the
    latencies recorded at different times are not comparable, measurements taken side by side are."""
    import statistics

    from devices import get_device
    from profilers import ProfileConfig, get_profiler

    device = get_device(config.device, threads=config.threads, gpu_id=config.gpu_id)
    profiler = get_profiler(device, ProfileConfig(warmup=config.warmup, repeats=config.model_repeats))
    shape = (config.batch, 3, 32, 32)
    samples = {name: [] for name in models}
    for _ in range(rounds):
        for name, path in models.items():
            samples[name].append(float(profiler.measure_model(str(path), shape).median))
    return {name: statistics.median(v) for name, v in samples.items()}


def ratio_text(ours: tuple[float, float], curve: list[tuple[float, float]]) -> str:
    """The uniform curve's latency at our accuracy over ours; bounds when the curve does not cross it."""
    from netadapt.baseline import latency_ratio

    r = latency_ratio(ours, curve)
    if not math.isnan(r):
        return f"{r:.2f}x"
    pts = sorted(curve)
    if pts and pts[0][1] >= ours[1]:
        return f"<={pts[0][0] / ours[0]:.2f}x"  # uniform already as accurate at its lowest latency
    return f">{max(p[0] for p in pts) / ours[0]:.2f}x" if pts else "n/a"  # never as accurate


def plot_comparison(summary: dict, path: Path) -> Path:
    """The bench's own comparison as a PNG: test accuracy against re-measured latency, NetAdapt's
    long-term fine-tuned models at each budget beside the uniform-width curve (same fine-tuning)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary["rows"] if "note" not in r]
    curve = sorted([(summary["start_ms"], summary["base_test_accuracy"], 1.0)]
                   + [(p["measured_ms"], p["test_accuracy"], p["width"]) for p in summary["uniform_points"]])
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    ax.plot([c[0] for c in curve], [c[1] for c in curve], "s--", color="tab:orange",
            label="uniform width multiplier (same fine-tuning)")
    for x, y, w in curve:
        ax.annotate("base" if w == 1.0 else f"w={w:.2f}", (x, y), textcoords="offset points", xytext=(4, -11),
                    fontsize=8, color="tab:orange")
    ax.plot([r["netadapt_ms"] for r in rows], [r["netadapt_test_accuracy"] for r in rows], "o-",
            color="tab:blue", label="NetAdapt (iteration at each budget + long-term fine-tune)")
    for r in rows:
        ax.annotate(f"{r['budget_pct']:g}% (iter {r['iteration']})",
                    (r["netadapt_ms"], r["netadapt_test_accuracy"]), textcoords="offset points", xytext=(4, 5),
                    fontsize=8, color="tab:blue")
        ax.axvline(r["budget_ms"], color="tab:red", linestyle=":", linewidth=0.8)
    settings = summary["settings"]
    ax.set_xlabel(f"latency (ms, batch 32, {settings['device']}, interleaved re-measurement)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"NetAdapt vs uniform width: {settings['model']} x{settings['width_mult']} on CIFAR-10")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--archive", type=click.Path(dir_okay=False, path_type=Path), default=ARCHIVE)
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=HERE / "out")
@click.option("--model", type=click.Choice(["mobilenet_v1", "mobilenet_v2"]), default="mobilenet_v1")
@click.option("--width-mult", type=float, default=0.5, help="Width of the base model (CIFAR stem).")
@click.option("--base-checkpoint", default=None, help="Reuse this trained base checkpoint (trained and "
              "written there if missing).")
@click.option("--base-epochs", type=int, default=15)
@click.option("--base-lr", type=float, default=0.05)
@click.option("--train-limit", type=int, default=20000, help="Training images (class-balanced); 0: all 50,000.")
@click.option("--test-limit", type=int, default=2000, help="Test images (class-balanced); 0: all 10,000.")
@click.option("--holdout", type=float, default=1000, help="Holdout carved from the training images.")
@click.option("--eval-limit", type=int, default=1000, help="Holdout images each candidate is ranked on.")
@click.option("--budgets", default="75,50,35", help="Budgets, percent of the starting latency.")
@click.option("--initial-reduction", type=float, default=0.1)
@click.option("--reduction-decay", type=float, default=0.9)
@click.option("--reduction-floor", type=float, default=0.05)
@click.option("--short-steps", type=int, default=40, help="Short-term fine-tune steps per candidate.")
@click.option("--long-epochs", type=int, default=2, help="Long-term fine-tune epochs per compared model.")
@click.option("--batch-size", type=int, default=64)
@click.option("--channel-step", type=int, default=8)
@click.option("--max-iterations", type=int, default=25)
@click.option("--curve-points", type=int, default=2, help="Extra uniform points along the curve.")
@click.option("--device", default="cpu")
@click.option("--threads", type=int, default=1, help="ONNX Runtime threads the latency is measured with.")
@click.option("--torch-threads", type=int, default=2, help="Threads for training.")
@click.option("--warmup", type=int, default=10)
@click.option("--repeats", type=int, default=30, help="Timed runs per layer in the lookup table.")
@click.option("--model-repeats", type=int, default=100, help="Timed runs per whole-model measurement.")
@click.option("--remeasure-rounds", type=int, default=5, help="Rounds of interleaved re-measurement of "
              "every compared model at the end (0: use the latencies recorded when each was built).")
@click.option("--seed", type=int, default=0)
@click.option("--no-progress", is_flag=True)
@click.option("--replot", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Only redraw the comparison plot from a finished run's <run>-bench.json.")
def main(archive, out_root, replot, **s):
    """NetAdapt vs uniform width on CIFAR-10: accuracy at equal latency, latency at equal accuracy."""
    if replot is not None:
        from netadapt.runs import folder as rf

        click.echo(f"wrote {plot_comparison(rf.read_json(replot), replot.with_suffix('.png'))}")
        return
    import torch

    from netadapt.algorithm.loop import NetAdaptRun
    from netadapt.baseline import build_uniform_baseline, choose_iterations
    from netadapt.report import write_report
    from netadapt.runs import folder as rf

    clock = Clock()
    s["budgets"] = sorted((float(b) for b in s["budgets"].split(",")), reverse=True)
    s["train_limit"] = s["train_limit"] or None
    s["test_limit"] = s["test_limit"] or None
    s["holdout"] = int(s["holdout"]) if s["holdout"] >= 1 else s["holdout"]
    s["progress"] = not s.pop("no_progress")
    torch.set_num_threads(s["torch_threads"])
    out_root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NETADAPT_CACHE_DIR", str(out_root / "cache"))  # decoded JPEGs stay in bench/out
    click.echo("settings: " + json.dumps({"archive": str(archive), "out": str(out_root), **s}, sort_keys=True))

    with clock.part("unpack CIFAR-10"):
        root = subset(unpack(archive, out_root), out_root, s["train_limit"], s["test_limit"])
    source = f"imagefolder:{root}"
    with clock.part("load data (decode JPEGs once; cached)"):
        from netadapt.data import load_data

        data = load_data(source, holdout=s["holdout"], seed=s["seed"])
        click.echo(f"  train {len(data.train)}, holdout {len(data.holdout)}, test {len(data.test)} images")
    with clock.part("train the base model"):
        checkpoint, base_acc = train_base(s, source, out_root, click.echo)
    config = run_config(s, source, checkpoint)
    run_dir = out_root / f"run-{s['model']}-{rf.config_hash(config.to_dict())}"
    with clock.part("NetAdapt run (lookup table, iterations, final long-term fine-tune)"):
        result = NetAdaptRun(config, run_dir, lut=str(out_root / "netadapt_vs_uniform-lut.db"), progress=s["progress"],
                             log=click.echo).run()
    its = result.iterations
    start_ms = its[0]["measured_ms"]
    chosen = {}
    for b in s["budgets"]:
        budget_ms = b / 100 * start_ms
        met = [it["iteration"] for it in its if it["measured_ms"] <= budget_ms and it["iteration"] > 0]
        chosen[b] = (met[0] if met else its[-1]["iteration"], bool(met))
    with clock.part("long-term fine-tune of the shallower budgets' iterations"):
        ours = {b: long_term(run_dir, k, config, run_dir.parent / f"{run_dir.name}-bench", s["progress"])
                for b, (k, _) in chosen.items() if k > 0}
    last = its[-1]["iteration"]
    wanted = sorted({k for k, _ in chosen.values() if k > 0}
                    | (set(choose_iterations(last, s["curve_points"])) if last > 0 and s["curve_points"] else set()))
    with clock.part("uniform baseline (width search, fine-tune, measure)"):
        uniform = {p["iteration"]: p for p in build_uniform_baseline(run_dir, points=wanted or None,
                                                                     progress=s["progress"], log=click.echo)} \
            if wanted else {}
    with clock.part("report"):
        report = write_report(run_dir)
    if s["remeasure_rounds"] > 0:
        with clock.part("interleaved re-measurement of every compared model"):
            final_from = rf.read_json(run_dir / "final" / "info.json")["from_iteration"]
            bench_dir = run_dir.parent / f"{run_dir.name}-bench"
            models = {"start": run_dir / "iter_000" / "model.onnx"}
            models.update({f"netadapt_{k}": run_dir / "final" / "model.onnx" if k == final_from
                           else bench_dir / f"netadapt_iter_{k:03d}.onnx" for k, _ in chosen.values() if k > 0})
            models.update({f"uniform_{k}": run_dir / "baseline" / f"iter_{k:03d}" / "model.onnx" for k in uniform})
            ms = remeasure(models, config, s["remeasure_rounds"])
        start_ms = ms["start"]
        for b, (k, _) in chosen.items():
            if k > 0:
                ours[b] = {**ours[b], "recorded_ms": ours[b]["measured_ms"], "measured_ms": ms[f"netadapt_{k}"]}
        uniform = {k: {**p, "recorded_ms": p["measured_ms"], "measured_ms": ms[f"uniform_{k}"]}
                   for k, p in uniform.items()}

    start = (start_ms, base_acc)
    curve = [start] + [(p["measured_ms"], p["test_accuracy"]) for p in uniform.values()]
    rows = []
    for b, (k, met) in chosen.items():
        if k == 0:
            rows.append({"budget_pct": b, "iteration": 0, "note": "no iteration ran"})
            continue
        na, un = ours[b], uniform[k]
        rows.append({"budget_pct": b, "budget_ms": b / 100 * its[0]["measured_ms"], "met": met, "iteration": k,
                     "netadapt_ms": na["measured_ms"], "netadapt_test_accuracy": na["test_accuracy"],
                     "uniform_width": un["width"], "uniform_ms": un["measured_ms"],
                     "uniform_test_accuracy": un["test_accuracy"],
                     "latency_ratio_at_equal_accuracy": ratio_text((na["measured_ms"], na["test_accuracy"]),
                                                                   curve)})
    wall = time.perf_counter() - clock.t0
    summary = {"settings": s, "start_ms": start_ms, "base_test_accuracy": base_acc, "run_dir": str(run_dir),
               "stopped": result.stopped, "rows": rows, "uniform_points": list(uniform.values()),
               "seconds": clock.parts, "wall_seconds": wall}
    rf.write_json(run_dir.parent / f"{run_dir.name}-bench.json", summary)
    plot = plot_comparison(summary, run_dir.parent / f"{run_dir.name}-bench.png")

    click.echo(f"\nbase {s['model']} x{s['width_mult']}: {start_ms:.3f} ms on {s['device']} "
               f"({s['threads']} thread), test accuracy {base_acc:.4f}; NetAdapt stopped: {result.stopped} "
               f"after {last} iterations")
    click.echo(f"{'budget':>7} {'target ms':>9} {'iter':>4} {'NetAdapt ms':>11} {'NA test acc':>11} "
               f"{'width':>6} {'uniform ms':>10} {'unif test acc':>13} {'uniform/NA latency at equal acc':>31}")
    for r in rows:
        if "note" in r:
            click.echo(f"{r['budget_pct']:>6g}% {r['note']}")
            continue
        click.echo(f"{r['budget_pct']:>6g}% {r['budget_ms']:>9.3f} {r['iteration']:>4}{'' if r['met'] else '*'} "
                   f"{r['netadapt_ms']:>11.3f} {r['netadapt_test_accuracy']:>11.4f} {r['uniform_width']:>6.3f} "
                   f"{r['uniform_ms']:>10.3f} {r['uniform_test_accuracy']:>13.4f} "
                   f"{r['latency_ratio_at_equal_accuracy']:>31}")
    if any("met" in r and not r["met"] for r in rows):
        click.echo("* budget not reached: the run stopped first (see --max-iterations); its last iteration is shown")
    click.echo("uniform curve (ms, test acc): " + ", ".join(f"({x:.3f}, {y:.4f})" for x, y in sorted(curve)))
    if last > 0:
        per = {}
        for it in its[1:]:
            for phase, sec in it["seconds"].items():
                per[phase] = per.get(phase, 0.0) + sec / last
        click.echo(f"NetAdapt: {sum(per.values()):.1f} s per iteration on average ("
                   + ", ".join(f"{k} {v:.1f}" for k, v in sorted(per.items())) + ")")
    click.echo("latencies: " + ("interleaved re-measurement, median of "
                                f"{s['remeasure_rounds']} rounds" if s["remeasure_rounds"] > 0
                                else "as recorded when each model was built"))
    click.echo("seconds per part: " + ", ".join(f"{k}: {v:.1f}" for k, v in clock.parts.items()))
    click.echo(f"wall time: {wall:.1f} s; report: {report['report.html']}; comparison plot: {plot}")


if __name__ == "__main__":
    sys.exit(main())
