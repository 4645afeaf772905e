"""NetAdapt vs the uniform width multiplier (and the lecture's sensitivity ratios) on CIFAR-10, on this CPU.

For one trained base (``--base resnet20`` or ``--base mobilenet_v1``: the checkpoints in ../shared/models,
trained on the 45,000 images outside netadapt's default holdout; or ``--base-checkpoint``), and for each seed:

1. one NetAdapt run goes to the deepest budget (35% of the starting latency by default) and passes through
   the shallower ones; the first iteration whose measurement says "met" for a budget is where a run to
   that budget would have stopped, and it is long-term fine-tuned as the run's final model is (with
   ``--selection efficiency`` a run to that budget may keep another candidate in that last step, as it counts
   a cut's saving only down to its own stop line: for a budget's verdict, bench that budget alone);
2. uniform: for each of those iterations, the base pruned to one width everywhere, with the width found by
   bisection on the measured latency (netadapt.baseline), then the same fine-tuning as the iteration's
   path: k short-term fine-tunes of the same length and the same long-term epochs. That width is the widest
   within the iteration's latency, so usually a little faster than NetAdapt's model; with ``--bracket``
   (default) a wider uniform width is fine-tuned the same way too (of the configurations measured at least
   ``--bracket-margin`` slower than the iteration, the fastest: a narrower one on slow channel counts can
   be slower than a wider one), and the uniform accuracy at NetAdapt's latency is read on the line
   between the two; with ``--fill N``, up to N widths between those two are fine-tuned the same way as well,
   and the reading is between the neighbouring uniform models that bracket NetAdapt's latency (the line
   between far-apart widths flatters NetAdapt: the uniform curve rises fast just above the matched width);
   fast-count uniform (``--arms`` ``uniform_fast``, the arm to beat): the same, but each width rounds every
   group to the nearest channel count that the lookup table says is not slower than any larger count (ties
   go up; netadapt.baseline.fast), as a practitioner who rounds to what the device runs fast would, so it
   does not step on the slow counts (on ResNet-20 at channel step 4, width 0.531 ran at 11.4 ms and 0.562 at
   16.4 ms); its models are kept in <run>/baseline_fast/ and its columns are ``fast``;
3. sensitivity: the base scanned group by group at several ratios on the holdout (no fine-tune, as in the
   lecture), the accuracy-drop threshold searched (and blended between two thresholds) so that the network's
   table latency equals the NetAdapt iteration's, pruned in one shot, then the same fine-tuning.

4. AMC (``--arms ...,amc``, at ``--amc-budgets``): netadapt's DDPG search for per-group keep ratios under
   the share of the start that NetAdapt's iteration measured, rewarded on the holdout with batch-norm
   re-estimated and no fine-tuning (with ``--amc-reconstruct N``, the layers the cuts feed refit by least squares
   on N training images first: netadapt.pruning.reconstruct), then the same fine-tuning; the search's wall time
   is reported.

Every compared model is finally timed run by run against the start model (netadapt.latency.paired), all in
one pass, so the latencies in the table are comparable whatever the machine did meanwhile. Both arms get the
same settings for distillation from the base. NetAdapt's candidates are ranked and kept as ``netadapt run``
does unless told otherwise (``--score``, ``--bn-batches``, ``--distill`` and ``--selection`` default to its
settings). The table gives test accuracy at equal measured latency (NetAdapt minus uniform), and the latency
ratio at equal accuracy read off the interpolated uniform curve (uniform latency / NetAdapt latency). With
several seeds, the mean and spread of the differences.

Everything lands in bench/out/ (git-ignored); every part is skipped when its output exists, so a killed
benchmark resumes by running the same command again.

    python bench/netadapt_vs_uniform.py --base resnet20   # hours on 2 cores: docs/benchmarks.md times each command
    python bench/netadapt_vs_uniform.py --base resnet20 --train-limit 600 --test-limit 300 --eval-limit 200 \\
        --short-steps 2 --long-epochs 1 --max-iterations 3 --budgets 90,80 --seeds 0   # a smoke test
    python bench/netadapt_vs_uniform.py --replot bench/out/<bench>.json  # redraw the figure
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import statistics
import sys
import time
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"  # ../shared beside the repository
BASES = {"resnet20": SHARED / "models" / "resnet20-cifar10" / "model.pt",
         "mobilenet_v1": SHARED / "models" / "mobilenet_v1-x0.5-cifar10" / "model.pt"}
sys.path.insert(0, str(HERE))

from netadapt.config.run import SCORES, RunConfig  # noqa: E402
from netadapt.algorithm.selection import SELECTIONS  # noqa: E402

RUN = RunConfig()  # the judging options default to the run's


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
                click.echo(f"[{time.perf_counter() - clock.t0:7.1f} s] {name} ...", err=True)

            def __exit__(self, *exc):
                clock.parts[name] = clock.parts.get(name, 0.0) + time.perf_counter() - self.t

        return _Part()


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:8]


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


def run_config(s: dict, source: str, checkpoint: Path, seed: int):
    from netadapt.config.run import FineTuneConfig, RunConfig
    from netadapt.config.schedule import ReductionSchedule
    from netadapt.checkpoint import read_checkpoint

    return RunConfig(
        budget=f"{min(s['budgets']):g}%", model=read_checkpoint(checkpoint)["spec"]["name"],
        checkpoint=str(checkpoint), data=source, holdout=s["holdout"], eval_limit=s["eval_limit"],
        device=s["device"], threads=s["threads"], warmup=s["warmup"], repeats=s["repeats"],
        model_repeats=s["model_repeats"], channel_step=s["channel_step"], batch=s["batch"],
        schedule=ReductionSchedule(s["initial_reduction"], s["reduction_decay"], s["reduction_floor"]),
        finetune=FineTuneConfig(short_steps=s["short_steps"], long_epochs=s["long_epochs"],
                                batch_size=s["batch_size"], distill=s["distill"]),
        score=s["score"], bn_batches=s["bn_batches"], selection=s["selection"], search=s["search"],
        max_iterations=s["max_iterations"], seed=seed)


def fine_tune_like_the_run(model, run_dir: Path, k: int, config, data, teacher, out: Path, progress: bool, tag: str):
    """The fine-tuning iteration k of a run has had: k short-term fine-tunes (fresh optimizer each, as long as
    each iteration's), then the long-term epochs; distillation from the base as the run does."""
    from netadapt.baseline.build import path_finetune_steps
    from netadapt.seeding import derive_seed as _seed
    from netadapt.training import TrainConfig, fine_tune, train

    ft = config.finetune
    kd = {"teacher": teacher, "distill": ft.distill, "temperature": ft.temperature} if ft.distill else {}
    for i, steps in enumerate(path_finetune_steps(run_dir, k, ft.short_steps)):
        fine_tune(model, data.train, steps, batch_size=ft.batch_size, lr=ft.short_lr,
                  seed=_seed(config.seed, tag, i), augment=data.augment, **kd)
    if ft.long_epochs > 0:
        train(model, data, TrainConfig(epochs=ft.long_epochs, lr=ft.long_lr, batch_size=ft.batch_size,
                                       seed=config.seed, distill=ft.distill, distill_temperature=ft.temperature),
              out_dir=out.with_suffix(".train"), progress=progress, resume=True,
              teacher=teacher if ft.distill else None)


def long_term(run_dir: Path, iteration: int, config, data, teacher, out: Path, progress: bool) -> dict:
    """Long-term fine-tune one iteration's model as the run does its final one; keep it and its test accuracy."""
    from netadapt.checkpoint import load_checkpoint, save_checkpoint
    from netadapt.export import export_onnx
    from netadapt.runs import folder as rf
    from netadapt.training import TrainConfig, evaluate, train

    done = out / f"netadapt_iter_{iteration:03d}.json"
    if done.is_file():
        return rf.read_json(done)
    out.mkdir(parents=True, exist_ok=True)
    final = rf.read_json(run_dir / "final" / "info.json")
    if iteration == final["from_iteration"]:
        info = {"iteration": iteration, "onnx": str(run_dir / "final" / "model.onnx"),
                "test_accuracy": final["test_accuracy"]}
    else:
        ft = config.finetune
        loaded = load_checkpoint(rf.iteration_dir(run_dir, iteration) / "model.pt")
        model = loaded.model
        if ft.long_epochs > 0:
            train(model, data, TrainConfig(epochs=ft.long_epochs, lr=ft.long_lr, batch_size=ft.batch_size,
                                           seed=config.seed, distill=ft.distill,
                                           distill_temperature=ft.temperature),
                  out_dir=out / f"netadapt_iter_{iteration:03d}.train", progress=progress, resume=True,
                  teacher=teacher if ft.distill else None)
        save_checkpoint(out / f"netadapt_iter_{iteration:03d}.pt", model, loaded.spec, loaded.input_shape,
                        channels=loaded.channels)
        onnx = export_onnx(model, out / f"netadapt_iter_{iteration:03d}.onnx", loaded.input_shape)
        info = {"iteration": iteration, "onnx": str(onnx), "test_accuracy": evaluate(model, data.test)}
    rf.write_json(done, info)
    return info


class Sensitivity:
    """The lecture's arm: per-group ratios from a sensitivity scan and a threshold, at a given table latency."""

    def __init__(self, base, shape, data, config, out: Path, lut: str, s: dict, run_dir: Path):
        from netadapt.criteria import create_criterion
        from netadapt.data.splits import limit
        from netadapt.pruning import analyze
        from netadapt.runs import folder as rf
        from netadapt.sensitivity import scan

        self.base, self.shape, self.data, self.config, self.out = base, shape, data, config, out
        self.run_dir = run_dir
        self.criterion = create_criterion(config.criterion, seed=config.seed)
        self.graph = analyze(base, shape)
        path = out / "sensitivity-scan.json"
        if path.is_file():
            self.rows = rf.read_json(path)
        else:
            holdout = data.holdout
            if s["scan_limit"] and s["scan_limit"] < len(holdout):
                holdout = limit(holdout, s["scan_limit"], config.seed)
            ratios = [float(r) for r in s["scan_ratios"].split(",")]
            baseline, rows = scan(base, shape, holdout, ratios, self.criterion, progress=s["progress"])
            self.rows = {"baseline": baseline, "rows": [r.to_dict() for r in rows]}
            out.mkdir(parents=True, exist_ok=True)
            rf.write_json(path, self.rows)
        from devices import get_device
        from lut.table import LatencyTable
        from netadapt.latency import LatencyEstimator
        from profilers import ProfileConfig, get_profiler

        device = get_device(config.device, threads=config.threads)
        self.estimator = LatencyEstimator(LatencyTable(lut), device, get_profiler(
            device, ProfileConfig(warmup=config.warmup, repeats=config.repeats)))
        self._ms: dict[tuple, float] = {}

    def table_ms(self, ratios) -> float:
        """Table latency of the base cut to ``ratios`` (cached by channel counts: many ratios round alike)."""
        from netadapt.iterative import counts_for
        from netadapt.pruning import shrunk_copy

        counts = counts_for(self.graph, ratios)
        key = tuple(sorted(counts.items()))
        if key not in self._ms:
            self._ms[key] = self.estimator.total(shrunk_copy(self.base, self.graph, counts), self.shape)
        return self._ms[key]

    def point(self, k: int, reference_model, progress: bool) -> dict:
        """Ratios whose network's table latency matches ``reference_model``'s, pruned, fine-tuned and tested."""
        from netadapt.export import export_onnx
        from netadapt.iterative import counts_for, prune_to_counts
        from netadapt.runs import folder as rf
        from netadapt.sensitivity import SensitivityRow, fill_budget, search_threshold
        from netadapt.training import evaluate

        done = self.out / f"sensitivity_iter_{k:03d}.json"
        if done.is_file():
            return rf.read_json(done)
        rows = [SensitivityRow(**r) for r in self.rows["rows"]]
        target = self.estimator.total(reference_model, self.shape)
        threshold, ratios, _ = search_threshold(rows, self.table_ms, target)
        ratios = fill_budget(rows, self.table_ms, target, threshold, ratios, tol=1e-3)
        model = copy.deepcopy(self.base)
        counts = counts_for(self.graph, ratios)
        prune_to_counts(model, self.shape, counts, self.criterion, graph=self.graph)
        fine_tune_like_the_run(model, self.run_dir, k, self.config, self.data, self.base,
                               self.out / f"sensitivity_iter_{k:03d}", progress, "sensitivity")
        onnx = export_onnx(model, self.out / f"sensitivity_iter_{k:03d}.onnx", self.shape)
        info = {"iteration": k, "threshold": threshold, "ratios": ratios, "channels": counts,
                "table_ms": self.table_ms(ratios), "target_table_ms": target, "onnx": str(onnx),
                "test_accuracy": evaluate(model, self.data.test)}
        rf.write_json(done, info)
        return info


def amc_point(k: int, budget: float, reference_ms: float, start_ms: float, config, data, teacher, out: Path,
              lut: str, s: dict, run_dir: Path) -> dict:
    """AMC's arm: a DDPG search for per-group keep ratios under the latency NetAdapt's iteration k measured
    (as a share of the start), then the same fine-tuning as the others; the search's wall time is kept."""
    from netadapt.amc import AmcConfig, AmcSearch
    from netadapt.checkpoint import load_checkpoint
    from netadapt.export import export_onnx
    from netadapt.runs import folder as rf
    from netadapt.training import evaluate

    name = f"amc_{budget:g}" + (f"_reconstruct{s['amc_reconstruct']}" if s.get("amc_reconstruct") else "")
    done = out / f"{name}.json"
    if done.is_file():
        return rf.read_json(done)
    folder = out / name
    amc = AmcConfig(budget=f"{100 * reference_ms / start_ms:.4f}%", model=config.model,
                    checkpoint=config.checkpoint, data=config.data, holdout=config.holdout,
                    eval_limit=s["amc_eval_limit"], device=config.device, threads=config.threads, batch=config.batch,
                    warmup=config.warmup, repeats=config.repeats, model_repeats=config.model_repeats,
                    channel_step=config.channel_step, episodes=s["amc_episodes"], warmup_episodes=s["amc_warmup"],
                    bn_batches=s["bn_batches"], reward="loss" if s["score"] != "accuracy" else "accuracy",
                    criterion=config.criterion, finetune_epochs=0, batch_size=config.finetune.batch_size,
                    reconstruct=s.get("amc_reconstruct", 0), seed=config.seed)
    t0 = time.perf_counter()
    final = AmcSearch(amc, folder, lut=lut, progress=s["progress"], log=click.echo).run()
    search_seconds = time.perf_counter() - t0
    loaded = load_checkpoint(folder / "final" / "model.pt")
    model = loaded.model
    fine_tune_like_the_run(model, run_dir, k, config, data, teacher, out / f"{name}_ft", s["progress"],
                           "amc")
    onnx = export_onnx(model, out / f"{name}.onnx", loaded.input_shape)
    episodes = rf.read_json(folder / "summary.json")["episodes"]
    info = {"iteration": k, "onnx": str(onnx), "test_accuracy": evaluate(model, data.test),
            "search_seconds": search_seconds, "episodes": episodes, "ratios": final["ratios"],
            "channels": final["channels"], "untuned_test_accuracy": final["test_accuracy"]}
    rf.write_json(done, info)
    return info


def remeasure(models: dict[str, str], start_onnx: str, start_ms: float, config) -> dict[str, dict]:
    """Every model timed run by run against the start model in one pass: start_ms x paired ratio."""
    from devices import get_device
    from netadapt.latency.paired import PairedConfig, compare_models

    device = get_device(config.device, threads=config.threads)
    shape = (config.batch, 3, 32, 32)
    out = {}
    for name, path in models.items():
        r = compare_models(device, path, start_onnx, shape,
                           config=PairedConfig(warmup=config.warmup, min_pairs=60, max_pairs=480, precision=0.005))
        out[name] = {"ms": start_ms * r.ratio, "low_ms": start_ms * r.low, "high_ms": start_ms * r.high,
                     "pairs": r.pairs}
    return out


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
    """Test accuracy against re-measured latency: NetAdapt and each other arm run, one figure per base."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    styles = {"netadapt": ("o-", "tab:blue", "NetAdapt"), "fast": ("v-.", "tab:brown", "uniform width, fast counts"),
              "uniform": ("s--", "tab:orange", "uniform width"),
              "sensitivity": ("^:", "tab:green", "sensitivity ratios"), "amc": ("D", "tab:purple", "AMC")}
    for seed, runs in summary["seeds"].items():
        for arm, (marker, color, label) in styles.items():
            pts = sorted((r[f"{arm}_ms"], r[f"{arm}_test_accuracy"]) for r in runs["rows"] if f"{arm}_ms" in r)
            if arm in ("uniform", "fast"):
                pts += [(r[f"{arm}_wider_ms"], r[f"{arm}_wider_test_accuracy"]) for r in runs["rows"]
                        if f"{arm}_wider_ms" in r]
                pts += [(b["ms"], b["test_accuracy"]) for r in runs["rows"] for b in r.get(f"{arm}_between", [])]
                pts = sorted(pts + [(runs["start_ms"], summary["base_test_accuracy"])])
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker, color=color, alpha=0.9,
                        label=f"{label} (seed {seed})" if len(summary["seeds"]) > 1 else label)
    for b in summary["settings"]["budgets"]:
        start = next(iter(summary["seeds"].values()))["start_ms"]
        ax.axvline(b / 100 * start, color="tab:red", linestyle=":", linewidth=0.8)
    settings = summary["settings"]
    ax.set_xlabel(f"latency (ms, batch {settings['batch']}, {settings['device']}, timed against the start model)")
    ax.set_ylabel("CIFAR-10 test accuracy")
    shown = [label for arm, (_, _, label) in styles.items()
             if any(f"{arm}_ms" in r for runs in summary["seeds"].values() for r in runs["rows"])]
    ax.set_title(f"{summary['base']}: {' vs '.join(shown)}, same fine-tuning")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def between_key(k: int, point: dict, prefix: str = "uniform") -> str:
    """The final pass's name of a uniform model between iteration k's matched and wider points."""
    return f"{prefix}_at_{k}_{point['width']:.4f}"


#: The uniform arms: name in --arms -> (rounding of netadapt.baseline, prefix of their columns and models)
UNIFORM_ARMS = {"uniform_fast": ("fast", "fast"), "uniform": ("grid", "uniform")}


def uniform_arm(run_dir: Path, rounding: str, wanted: list[int], compared: list[int], s: dict, lut: str,
                clock: Clock, label: str) -> tuple[dict, dict, dict]:
    """One uniform arm's points matching the ``wanted`` iterations, and for the ``compared`` ones the wider
    point (``--bracket``) and the widths between (``--fill``): three dicts by iteration."""
    from netadapt.baseline import build_between_points, build_uniform_baseline, build_wider_point

    with clock.part(f"{label} (width search, fine-tune)"):
        points = {p["iteration"]: p for p in build_uniform_baseline(
            run_dir, points=wanted, progress=s["progress"], log=click.echo, rounding=rounding, lut=lut)}
    wider, between = {}, {}
    if points and s["bracket"]:
        with clock.part(f"{label}, a wider width of each point (fine-tune)"):
            for k in sorted(k for k in compared if k in points):
                point = build_wider_point(run_dir, k, progress=s["progress"], log=click.echo,
                                          margin=s["bracket_margin"], rounding=rounding, lut=lut)
                if point is not None:
                    wider[k] = point
    if wider and s.get("fill"):
        with clock.part(f"{label}, the widths between (fine-tune)"):
            for k in sorted(wider):
                between[k] = build_between_points(run_dir, k, progress=s["progress"], log=click.echo,
                                                  limit=s["fill"], rounding=rounding, lut=lut)
    return points, wider, between


def uniform_models(run_dir: Path, rounding: str, prefix: str, arm: tuple[dict, dict, dict]) -> dict[str, str]:
    """The final pass's names and ONNX files of one uniform arm's models."""
    from netadapt.baseline import between_dir, point_dir, wider_dir

    points, wider, between = arm
    models = {f"{prefix}_{k}": str(point_dir(run_dir, k, rounding) / "model.onnx") for k in points}
    models.update({f"{prefix}_wider_{k}": str(wider_dir(run_dir, k, rounding) / "model.onnx") for k in wider})
    models.update({between_key(k, p, prefix): str(between_dir(run_dir, k, p["width"], rounding) / "model.onnx")
                   for k, ps in between.items() for p in ps})
    return models


def uniform_curve(prefix: str, arm: tuple[dict, dict, dict], ms: dict, start: tuple[float, float]) -> list:
    """(re-measured ms, test accuracy) of the start and of every model of one uniform arm."""
    points, wider, between = arm
    return [start] + [(ms[f"{prefix}_{k}"]["ms"], p["test_accuracy"]) for k, p in points.items()] + \
        [(ms[f"{prefix}_wider_{k}"]["ms"], p["test_accuracy"]) for k, p in wider.items()] + \
        [(ms[between_key(k, p, prefix)]["ms"], p["test_accuracy"]) for k, ps in between.items() for p in ps]


def uniform_row(prefix: str, k: int, arm: tuple[dict, dict, dict], ms: dict, ours: tuple[float, float],
                curve: list) -> dict:
    """One uniform arm's columns of a budget's row: its matched point, its wider one, the widths between,
    its accuracy read at NetAdapt's latency ``ours[0]`` and its latency ratio at NetAdapt's accuracy."""
    from netadapt.baseline import bracket, interpolate

    points, wider, between = arm
    row = {}
    ratio_key = "latency_ratio_at_equal_accuracy" if prefix == "uniform" else f"{prefix}_latency_ratio_at_equal_accuracy"
    if k in points:
        row.update({f"{prefix}_width": points[k]["width"], f"{prefix}_ms": ms[f"{prefix}_{k}"]["ms"],
                    f"{prefix}_test_accuracy": points[k]["test_accuracy"], ratio_key: ratio_text(ours, curve)})
    if k in wider:
        lo = (ms[f"{prefix}_{k}"]["ms"], points[k]["test_accuracy"])
        hi = (ms[f"{prefix}_wider_{k}"]["ms"], wider[k]["test_accuracy"])
        row.update({f"{prefix}_wider_width": wider[k]["width"], f"{prefix}_wider_ms": hi[0],
                    f"{prefix}_wider_test_accuracy": hi[1]})
        inside = [(ms[between_key(k, p, prefix)]["ms"], p["test_accuracy"], p["width"]) for p in between.get(k, [])]
        if inside:
            row[f"{prefix}_between"] = [{"width": w, "ms": m, "test_accuracy": a} for m, a, w in inside]
        # the neighbouring uniform models that bracket NetAdapt's latency, of all those measured for k
        pair = bracket([lo, hi] + [(m, a) for m, a, _ in inside], ours[0])
        if pair is not None:
            row[f"{prefix}_accuracy_at_netadapt_ms"] = interpolate(list(pair), ours[0])
            row[f"{prefix}_bracket_ms"] = [pair[0][0], pair[1][0]]
    return row


def arm_points(prefix: str, arm: tuple[dict, dict, dict], ms: dict) -> dict:
    """One uniform arm's points, each with its re-measured latency, for the bench's JSON."""
    points, wider, between = arm
    return {f"{prefix}_points": [{**p, "remeasured_ms": ms[f"{prefix}_{k}"]["ms"]} for k, p in points.items()],
            f"{prefix}_wider_points": [{**p, "remeasured_ms": ms[f"{prefix}_wider_{k}"]["ms"]}
                                       for k, p in wider.items()],
            f"{prefix}_between_points": [{**{key: v for key, v in p.items() if key != "channels"},
                                          "remeasured_ms": ms[between_key(k, p, prefix)]["ms"]}
                                         for k, ps in between.items() for p in ps]}


def bench_seed(seed: int, s: dict, source: str, checkpoint: Path, out_root: Path, data, clock: Clock) -> dict:
    from netadapt.algorithm.loop import NetAdaptRun
    from netadapt.baseline import choose_iterations
    from netadapt.checkpoint import load_checkpoint
    from netadapt.runs import folder as rf

    config = run_config(s, source, checkpoint, seed)
    run_dir = rf.default_folder(out_root, f"run-{Path(config.model).name}", config)
    lut = str(out_root / "netadapt_vs_uniform-lut.db")
    with clock.part(f"seed {seed}: NetAdapt run (iterations, final long-term fine-tune)"):
        result = NetAdaptRun(config, run_dir, lut=lut, progress=s["progress"], log=click.echo).run()
    its = result.iterations
    start_ms = its[0]["measured_ms"]
    chosen = {}
    for b in s["budgets"]:
        budget_ms = b / 100 * start_ms
        # met: the measurement's interval lies within this budget (the run's own verdicts are for the deepest)
        met = [it["iteration"] for it in its[1:] if it.get("measured_high_ms", it["measured_ms"]) <= budget_ms]
        chosen[b] = (met[0] if met else its[-1]["iteration"], bool(met))
    bench_dir = run_dir.parent / f"{run_dir.name}-bench"
    base = load_checkpoint(checkpoint)
    teacher = base.model.eval()
    with clock.part(f"seed {seed}: long-term fine-tune of the shallower budgets' iterations"):
        ours = {b: long_term(run_dir, k, config, data, teacher, bench_dir, s["progress"])
                for b, (k, _) in chosen.items() if k > 0}
    last = its[-1]["iteration"]
    wanted = sorted({k for k, _ in chosen.values() if k > 0}
                    | (set(choose_iterations(last, s["curve_points"])) if last > 0 and s["curve_points"] else set()))
    compared = sorted({k for k, _ in chosen.values() if k > 0})
    arms = {}  # prefix -> (rounding, (points, wider, between)), the fast-count arm first
    for name, (rounding, prefix) in UNIFORM_ARMS.items():
        if name in s["arms"] and wanted:
            label = f"seed {seed}: {'fast-count uniform' if rounding == 'fast' else 'uniform'} arm"
            arms[prefix] = rounding, uniform_arm(run_dir, rounding, wanted, compared, s, lut, clock, label)
    sens = {}
    if "sensitivity" in s["arms"]:
        with clock.part(f"seed {seed}: sensitivity arm (scan, threshold, fine-tune)"):
            arm = Sensitivity(base.model, (s["batch"], *base.input_shape[1:]), data, config, bench_dir, lut, s,
                              run_dir)
            for b, (k, _) in chosen.items():
                if k > 0:
                    reference = load_checkpoint(rf.iteration_dir(run_dir, k) / "model.pt").model
                    sens[b] = arm.point(k, reference, s["progress"])
    amc = {}
    if "amc" in s["arms"]:
        amc_budgets = {float(b) for b in str(s["amc_budgets"]).split(",") if b.strip()}
        for b, (k, _) in chosen.items():
            if k > 0 and b in amc_budgets:
                with clock.part(f"seed {seed}: AMC arm at {b:g}% (search, fine-tune)"):
                    amc[b] = amc_point(k, b, its[k]["measured_ms"], start_ms, config, data, teacher, bench_dir,
                                       lut, s, run_dir)
    with clock.part(f"seed {seed}: every compared model timed against the start, in one pass"):
        models = {f"netadapt_{b:g}": o["onnx"] for b, o in ours.items()}
        for prefix, (rounding, arm) in arms.items():
            models.update(uniform_models(run_dir, rounding, prefix, arm))
        models.update({f"sensitivity_{b:g}": o["onnx"] for b, o in sens.items()})
        models.update({f"amc_{b:g}": o["onnx"] for b, o in amc.items()})
        ms = remeasure(models, str(run_dir / "iter_000" / "model.onnx"), start_ms, config)
    start = (start_ms, base.extra.get("test_accuracy", math.nan))
    curves = {prefix: uniform_curve(prefix, arm, ms, start) for prefix, (_, arm) in arms.items()}
    rows = []
    for b, (k, met) in chosen.items():
        if k == 0:
            rows.append({"budget_pct": b, "iteration": 0, "note": "no iteration ran"})
            continue
        na = ms[f"netadapt_{b:g}"]
        row = {"budget_pct": b, "budget_ms": b / 100 * start_ms, "met": met, "iteration": k,
               "netadapt_ms": na["ms"], "netadapt_high_ms": na["high_ms"],
               "netadapt_test_accuracy": ours[b]["test_accuracy"]}
        for prefix, (_, arm) in arms.items():
            row.update(uniform_row(prefix, k, arm, ms, (na["ms"], ours[b]["test_accuracy"]), curves[prefix]))
        if b in sens:
            row.update({"sensitivity_ms": ms[f"sensitivity_{b:g}"]["ms"],
                        "sensitivity_test_accuracy": sens[b]["test_accuracy"],
                        "sensitivity_threshold": sens[b]["threshold"]})
        if b in amc:
            row.update({"amc_ms": ms[f"amc_{b:g}"]["ms"], "amc_test_accuracy": amc[b]["test_accuracy"],
                        "amc_search_seconds": amc[b]["search_seconds"], "amc_episodes": amc[b]["episodes"],
                        "amc_ratios": amc[b]["ratios"]})
        rows.append(row)
    return {"run_dir": str(run_dir), "start_ms": start_ms, "stopped": result.stopped, "iterations": last,
            "rows": rows, **{key: v for prefix, (_, arm) in arms.items() for key, v in arm_points(prefix, arm, ms).items()},
            "seconds_per_iteration": _per_iteration(its)}


def _per_iteration(its) -> dict:
    per = {}
    for it in its[1:]:
        for phase, sec in it.get("seconds", {}).items():
            per[phase] = per.get(phase, 0.0) + sec / max(1, len(its) - 1)
    return per


def print_fast(summary: dict) -> None:
    """The fast-count uniform arm against NetAdapt: per seed and budget, then the means per budget."""
    rows = [(seed, r) for seed, runs in summary["seeds"].items() for r in runs["rows"] if "fast_ms" in r]
    if not rows:
        return
    click.echo("\nthe arm to beat, fast-count uniform (each group at the nearest count the table says is not slower "
               "than any larger count):")
    click.echo(f"{'seed':>4} {'budget':>6} {'iter':>4} {'NA ms':>7} {'NA acc':>7} {'fast ms':>7} {'fast acc':>8} "
               f"{'fast+ ms':>8} {'fast+ acc':>9} {'NA-fast':>8} {'at NA ms':>8} {'fast/NA ms at equal acc':>24}")
    diffs: dict[float, list[float]] = {}
    level: dict[float, list[float]] = {}
    for seed, r in rows:
        du = r["netadapt_test_accuracy"] - r["fast_test_accuracy"]
        de = r["netadapt_test_accuracy"] - r["fast_accuracy_at_netadapt_ms"] if "fast_accuracy_at_netadapt_ms" in r \
            else None
        diffs.setdefault(r["budget_pct"], []).append(du)
        if de is not None:
            level.setdefault(r["budget_pct"], []).append(de)
        wider = (f"{r['fast_wider_ms']:>8.3f} {r['fast_wider_test_accuracy']:>9.4f}" if "fast_wider_ms" in r
                 else f"{'-':>8} {'-':>9}")
        click.echo(f"{seed:>4} {r['budget_pct']:>5g}% {r['iteration']:>3}{'' if r['met'] else '*'} "
                   f"{r['netadapt_ms']:>7.3f} {r['netadapt_test_accuracy']:>7.4f} {r['fast_ms']:>7.3f} "
                   f"{r['fast_test_accuracy']:>8.4f} {wider} {100 * du:>+8.2f} "
                   f"{'-' if de is None else f'{100 * de:+.2f}':>8} "
                   f"{r.get('fast_latency_ratio_at_equal_accuracy', '-'):>24}")
    for name, found in (("", diffs), (" at NetAdapt's latency (read between the fast-count models bracketing it)",
                                      level)):
        for b, d in sorted(found.items(), reverse=True):
            spread = f", spread {100 * (max(d) - min(d)):.2f}" if len(d) > 1 else ""
            click.echo(f"budget {b:g}%: NetAdapt - fast-count uniform{name} = {100 * statistics.mean(d):+.2f} points "
                       f"(mean of {len(d)} seed(s){spread}; lowest {100 * min(d):+.2f})")


def print_tables(summary: dict) -> None:
    s = summary["settings"]
    click.echo(f"\nbase {summary['base']}: test accuracy {summary['base_test_accuracy']:.4f}; device {s['device']} "
               f"({s['threads']} thread, batch {s['batch']}); search {s.get('search', 'netadapt')} (NA); judging: "
               f"score {s['score']}, batch-norm batches "
               f"{s['bn_batches']}, distillation {s['distill']}; {s['short_steps']} short-term steps, "
               f"{s['long_epochs']} long-term epochs for every arm")
    head = (f"{'seed':>4} {'budget':>6} {'iter':>4} {'NA ms':>7} {'NA acc':>7} {'unif ms':>7} {'unif acc':>8} "
            f"{'unif+ ms':>8} {'unif+ acc':>9} {'sens ms':>7} {'sens acc':>8} {'NA-unif':>8} {'at NA ms':>8} "
            f"{'NA-sens':>8} {'unif/NA ms at equal acc':>24}")
    click.echo(head)
    diffs: dict[float, list[float]] = {}
    level: dict[float, list[float]] = {}
    for seed, runs in summary["seeds"].items():
        for r in runs["rows"]:
            if "note" in r:
                click.echo(f"{seed:>4} {r['budget_pct']:>5g}% {r['note']}")
                continue

            def cell(key, fmt):
                return format(r[key], fmt) if key in r else "-"

            du = r["netadapt_test_accuracy"] - r["uniform_test_accuracy"] if "uniform_test_accuracy" in r else None
            ds = r["netadapt_test_accuracy"] - r["sensitivity_test_accuracy"] if "sensitivity_test_accuracy" in r \
                else None
            de = r["netadapt_test_accuracy"] - r["uniform_accuracy_at_netadapt_ms"] \
                if "uniform_accuracy_at_netadapt_ms" in r else None
            if du is not None:
                diffs.setdefault(r["budget_pct"], []).append(du)
            if de is not None:
                level.setdefault(r["budget_pct"], []).append(de)
            click.echo(f"{seed:>4} {r['budget_pct']:>5g}% {r['iteration']:>3}{'' if r['met'] else '*'} "
                       f"{r['netadapt_ms']:>7.3f} {r['netadapt_test_accuracy']:>7.4f} {cell('uniform_ms', '7.3f'):>7} "
                       f"{cell('uniform_test_accuracy', '8.4f'):>8} {cell('uniform_wider_ms', '8.3f'):>8} "
                       f"{cell('uniform_wider_test_accuracy', '9.4f'):>9} {cell('sensitivity_ms', '7.3f'):>7} "
                       f"{cell('sensitivity_test_accuracy', '8.4f'):>8} "
                       f"{'-' if du is None else f'{100 * du:+.2f}':>8} {'-' if de is None else f'{100 * de:+.2f}':>8} "
                       f"{'-' if ds is None else f'{100 * ds:+.2f}':>8} "
                       f"{r.get('latency_ratio_at_equal_accuracy', '-'):>24}")
    for seed, runs in summary["seeds"].items():
        for r in runs["rows"]:
            if "amc_ms" in r:
                click.echo(f"seed {seed}, {r['budget_pct']:g}%: AMC {r['amc_ms']:.3f} ms, test accuracy "
                           f"{r['amc_test_accuracy']:.4f} (NetAdapt - AMC = "
                           f"{100 * (r['netadapt_test_accuracy'] - r['amc_test_accuracy']):+.2f} points); search "
                           f"{r['amc_episodes']} episodes in {r['amc_search_seconds'] / 60:.1f} min")
    for b, d in sorted(diffs.items(), reverse=True):
        spread = f", spread {100 * (max(d) - min(d)):.2f}" if len(d) > 1 else ""
        click.echo(f"budget {b:g}%: NetAdapt - uniform = {100 * statistics.mean(d):+.2f} points (mean of {len(d)} "
                   f"seed(s){spread})")
    for b, d in sorted(level.items(), reverse=True):
        spread = f", spread {100 * (max(d) - min(d)):.2f}" if len(d) > 1 else ""
        click.echo(f"budget {b:g}%: NetAdapt - uniform at NetAdapt's latency (read between the uniform models "
                   f"bracketing it) = {100 * statistics.mean(d):+.2f} points (mean of {len(d)} seed(s){spread})")
    for seed, runs in summary["seeds"].items():
        for r in runs["rows"]:
            if r.get("uniform_between"):
                inside = ", ".join(f"{p['width']:.3f}: {p['ms']:.3f} ms / {p['test_accuracy']:.4f}"
                                   for p in r["uniform_between"])
                if r.get("uniform_bracket_ms"):
                    reading = "at NA ms read between {:.3f} and {:.3f} ms".format(*r["uniform_bracket_ms"])
                else:  # NetAdapt is faster than every uniform model measured for it (or slower than all)
                    side = "faster" if r["netadapt_ms"] < r["uniform_ms"] else "slower"
                    reading = f"NA ({r['netadapt_ms']:.3f} ms) is {side} than all of them: no reading at NA ms"
                click.echo(f"seed {seed}, {r['budget_pct']:g}%: uniform widths between unif and unif+: {inside}; "
                           f"{reading}")
    print_fast(summary)
    margin = s.get("bracket_margin")
    wider = ("the next wider one" if margin is None
             else f"the fastest at least {100 * margin:g}% slower than NetAdapt's")
    click.echo(f"unif: the widest uniform width within NetAdapt's latency; unif+: {wider} (in-run); at NA ms: "
               "NetAdapt minus the uniform accuracy read at NetAdapt's measured latency between the two uniform "
               "models (of unif, unif+ and any widths between them) that bracket it")
    click.echo("* budget not reached: the run stopped first; its last iteration is shown")
    click.echo("seconds per part: " + ", ".join(f"{k}: {v:.0f}" for k, v in summary["seconds"].items()))
    click.echo(f"wall time: {summary['wall_seconds'] / 60:.1f} min")


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--base", type=click.Choice(sorted(BASES)), default="resnet20", help="Trained base in ../shared/models.")
@click.option("--base-checkpoint", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Another trained netadapt checkpoint (trained with the same holdout split).")
@click.option("--archive", type=click.Path(dir_okay=False, path_type=Path),
              default=SHARED / "data" / "cifar10-jpg.tar.gz")
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=HERE / "out")
@click.option("--seeds", default="0", help="NetAdapt runs (and arms) per seed, comma separated.")
@click.option("--arms", default="uniform_fast,uniform,sensitivity",
              help="Arms besides NetAdapt: uniform_fast (the uniform width on fast channel counts), uniform (on "
                   "the grid), sensitivity, amc.")
@click.option("--train-limit", type=int, default=0, help="Training images (class-balanced); 0: all.")
@click.option("--test-limit", type=int, default=0, help="Test images (class-balanced); 0: all 10,000.")
@click.option("--holdout", type=float, default=0.1, help="As the bases were trained: they never saw it.")
@click.option("--eval-limit", type=int, default=5000, help="Holdout images each candidate is ranked on.")
@click.option("--budgets", default="75,50,35", help="Budgets, percent of the starting latency.")
@click.option("--initial-reduction", type=float, default=0.1)
@click.option("--reduction-decay", type=float, default=0.9)
@click.option("--reduction-floor", type=float, default=0.05)
@click.option("--short-steps", type=int, default=40, help="Short-term fine-tune steps per candidate.")
@click.option("--long-epochs", type=int, default=2, help="Long-term fine-tune epochs per compared model.")
@click.option("--batch-size", type=int, default=64)
@click.option("--score", type=click.Choice(SCORES), default=RUN.score, help="As netadapt run --score.")
@click.option("--bn-batches", type=int, default=RUN.bn_batches, help="As netadapt run --bn-batches.")
@click.option("--distill", type=float, default=RUN.finetune.distill, help="As netadapt run --distill (every arm).")
@click.option("--selection", type=click.Choice(SELECTIONS), default=RUN.selection, help="As netadapt run --selection.")
@click.option("--search", type=click.Choice(["netadapt", "halp"]), default="netadapt",
              help="How the run's iterations shrink the network (netadapt run --search); the other arms follow "
                   "the fine-tuning of its path.")
@click.option("--channel-step", type=int, default=8)
@click.option("--max-iterations", type=int, default=40)
@click.option("--curve-points", type=int, default=2, help="Extra uniform points along the curve.")
@click.option("--bracket/--no-bracket", default=True,
              help="Also fine-tune a wider uniform width of each compared point, so two uniform models "
                   "bracket NetAdapt's latency and the accuracy difference is read at equal latency.")
@click.option("--bracket-margin", type=float, default=0.1,
              help="The wider uniform width is the fastest measured at least this fraction slower than "
                   "NetAdapt's iteration (every wider configuration is measured): the final pass re-measures "
                   "every model, and NetAdapt's moved 3-8% against uniform's between the two measurements.")
@click.option("--fill", type=int, default=0,
              help="With --bracket: also fine-tune up to this many uniform widths between the matched and the "
                   "wider one, and read the accuracy at NetAdapt's latency between the neighbours bracketing it.")
@click.option("--amc-budgets", default="50", help="Budgets (of --budgets) the AMC arm runs at, when in --arms.")
@click.option("--amc-episodes", type=int, default=150, help="AMC search episodes, warm-up included.")
@click.option("--amc-warmup", type=int, default=50, help="AMC episodes of random actions.")
@click.option("--amc-eval-limit", type=int, default=1000, help="Holdout images of AMC's reward.")
@click.option("--amc-reconstruct", type=int, default=0,
              help="AMC refits the layers each cut feeds on this many training images before its reward and "
                   "fine-tune (netadapt amc --reconstruct; 0: off).")
@click.option("--scan-ratios", default="0.125,0.25,0.375,0.5,0.625,0.75,0.875")
@click.option("--scan-limit", type=int, default=2000, help="Holdout images of the sensitivity scan.")
@click.option("--device", default="cpu")
@click.option("--threads", type=int, default=1, help="ONNX Runtime threads the latency is measured with.")
@click.option("--batch", type=int, default=32, help="Batch size the latency is measured at.")
@click.option("--torch-threads", type=int, default=2, help="Threads for training.")
@click.option("--warmup", type=int, default=10)
@click.option("--repeats", type=int, default=30, help="Timed runs per node in the lookup table.")
@click.option("--model-repeats", type=int, default=40, help="Least pairs per whole-model measurement.")
@click.option("--no-progress", is_flag=True)
@click.option("--replot", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Only redraw the figure (and reprint the tables) from a finished bench's JSON.")
def main(base, base_checkpoint, archive, out_root, replot, **s):
    """NetAdapt vs uniform width vs sensitivity ratios on CIFAR-10 at equal measured latency."""
    from netadapt.runs import folder as rf

    if replot is not None:
        summary = rf.read_json(replot)
        print_tables(summary)
        click.echo(f"wrote {plot_comparison(summary, replot.with_suffix('.png'))}")
        return
    import torch

    from netadapt.checkpoint import read_checkpoint
    from netadapt.data import load_data
    from train_cifar import unpack

    clock = Clock()
    checkpoint = (base_checkpoint or BASES[base]).resolve()
    if not checkpoint.is_file():
        raise click.ClickException(f"{checkpoint} not found (see ../shared/models/README.md)")
    s["budgets"] = sorted((float(b) for b in s["budgets"].split(",")), reverse=True)
    s["arms"] = [a for a in s["arms"].split(",") if a]
    s["train_limit"] = s["train_limit"] or None
    s["test_limit"] = s["test_limit"] or None
    s["holdout"] = int(s["holdout"]) if s["holdout"] >= 1 else s["holdout"]
    s["progress"] = not s.pop("no_progress")
    seeds = [int(x) for x in s.pop("seeds").split(",")]
    torch.set_num_threads(s.pop("torch_threads"))
    out_root.mkdir(parents=True, exist_ok=True)
    click.echo("settings: " + json.dumps({"checkpoint": checkpoint.name, **s}, sort_keys=True, default=str))
    with clock.part("unpack and load CIFAR-10 (decoded once, cached)"):
        root = subset(unpack(archive, out_root / "cifar10-jpg"), out_root, s["train_limit"], s["test_limit"])
        source = f"imagefolder:{root}"
        data = load_data(source, holdout=s["holdout"], seed=0)
        click.echo(f"train {len(data.train)}, holdout {len(data.holdout)}, test {len(data.test)} images")
    stored = read_checkpoint(checkpoint)
    name = f"{stored['spec']['name']} {stored['spec'].get('kwargs', {}).get('width_mult', 1.0)}"
    results = {seed: bench_seed(seed, s, source, checkpoint, out_root, data, clock) for seed in seeds}
    summary = {"base": name, "checkpoint": checkpoint.name,
               "base_test_accuracy": stored["extra"].get("test_accuracy", math.nan), "settings": s,
               "seeds": {str(k): v for k, v in results.items()}, "seconds": clock.parts,
               "wall_seconds": time.perf_counter() - clock.t0}
    path = out_root / f"netadapt_vs_uniform-{stored['spec']['name']}-{_hash(s)}.json"
    rf.write_json(path, summary)
    print_tables(summary)
    click.echo(f"results: {path}; figure: {plot_comparison(summary, path.with_suffix('.png'))}")


if __name__ == "__main__":
    sys.exit(main())
