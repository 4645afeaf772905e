"""``build_uniform_baseline``: uniform-width networks at the latencies a NetAdapt run reached.

For each chosen iteration k of the run, the widest width multiplier whose measured latency (same device,
same input shape) is within iteration k's is found (``WidthSearch``); the base checkpoint is pruned
uniformly to it with the run's criterion and fine-tuned with what NetAdapt spent on the path to k: k bursts
of the short-term steps, then the long-term epochs. Each point is published atomically in
``<run>/baseline/iter_NNN/`` (model, ONNX, info.json), so an interrupted build resumes point by point;
``<run>/baseline/points.json`` lists every finished point. With ``rounding="fast"`` the widths round each
group to a count the lookup table says the device runs fast (``netadapt.baseline.fast``), and everything is
kept in ``<run>/baseline_fast/`` instead.
"""

from __future__ import annotations

import functools
import shutil
import time
from pathlib import Path
from typing import Sequence

from netadapt.data.splits import limit
from netadapt.errors import UserError
from netadapt.runs import folder as rf
from netadapt.seeding import derive_seed


#: How a width becomes channel counts: ``grid``, each group's width x size rounded on the run's grid
#: (``uniform_channels``); ``fast``, to the nearest count not slower than a larger one (``FastRounding``).
ROUNDINGS = ("grid", "fast")


def baseline_dir(run: Path, rounding: str = "grid") -> Path:
    if rounding not in ROUNDINGS:
        raise UserError(f"unknown uniform rounding {rounding!r}; valid: {', '.join(ROUNDINGS)}")
    return Path(run) / ("baseline" if rounding == "grid" else f"baseline_{rounding}")


def point_dir(run: Path, iteration: int, rounding: str = "grid") -> Path:
    return baseline_dir(run, rounding) / f"iter_{iteration:03d}"


def wider_dir(run: Path, iteration: int, rounding: str = "grid") -> Path:
    """Where :func:`build_wider_point` keeps the uniform model wider than iteration's matching point."""
    return baseline_dir(run, rounding) / f"iter_{iteration:03d}_wider"


def between_dir(run: Path, iteration: int, width: float, rounding: str = "grid") -> Path:
    """Where :func:`build_between_points` keeps the uniform model at ``width`` between the two."""
    return baseline_dir(run, rounding) / f"iter_{iteration:03d}_at_{width:.4f}"


def points_path(run: Path, rounding: str = "grid") -> Path:
    return baseline_dir(run, rounding) / "points.json"


def choose_iterations(last: int, points: int | Sequence[int] | None) -> list[int]:
    """Iterations to match: all of 1..last (None), ``points`` evenly spaced ones ending at ``last`` (int),
    or the given ones."""
    if last < 1:
        raise UserError("the run has no iteration past the start yet: there is no latency to match")
    if points is None:
        return list(range(1, last + 1))
    if isinstance(points, int):
        if points < 1:
            raise UserError(f"baseline points must be at least 1, got {points}")
        n = min(points, last)
        return sorted({max(1, round(last * (j + 1) / n)) for j in range(n)})
    chosen = sorted(set(int(p) for p in points))
    bad = [p for p in chosen if not 1 <= p <= last]
    if bad or not chosen:
        raise UserError(f"baseline iterations must be within 1..{last}, got {list(points)}")
    return chosen


def path_finetune_steps(run: Path, k: int, short_steps: int) -> list[int]:
    """The short-term fine-tunes on the path of a run's iteration ``k``, in steps: one per iteration, as
    long as the iteration's ``finetune_steps`` (a HALP step's) or else ``short_steps`` (a NetAdapt
    iteration's winning candidate)."""
    steps = []
    for i in range(1, k + 1):
        info = rf.iteration_dir(Path(run), i) / "info.json"
        steps.append(int(rf.read_json(info).get("finetune_steps", short_steps)) if info.is_file() else short_steps)
    return steps


class _Builder:
    """What every point needs, set up once: the run's settings, device, data and base model."""

    def __init__(self, run: Path, progress: bool, log, rtol: float, step: int | None, rounding: str = "grid",
                 lut: str | None = None):
        from devices import usable_device
        from netadapt.baseline.search import WidthSearch
        from netadapt.checkpoint import load_checkpoint
        from netadapt.config.run import RunConfig
        from netadapt.criteria import create_criterion
        from profilers import ProfileConfig, get_profiler

        self.run, self.progress, self.log, self.kind = run, progress, log, rounding
        self.cfg = cfg = RunConfig.from_dict(rf.read_json(run / rf.CONFIG_FILE))
        self.device = usable_device(cfg.device, threads=cfg.threads, gpu_id=cfg.gpu_id)
        final = rf.final_dir(run) / "info.json"
        if final.is_file():
            recorded = rf.read_json(final).get("device")
            if recorded and recorded != self.device.fingerprint():
                log(f"Warning: the run was measured on {recorded}, this machine is {self.device.fingerprint()}; "
                    "baseline latencies are not comparable with the run's.")
        self.profiler = get_profiler(self.device, ProfileConfig(warmup=cfg.warmup, repeats=cfg.model_repeats))
        base = load_checkpoint(rf.iteration_dir(run, 0) / "model.pt")
        self.base, self.spec, self.input_shape = base.model, base.spec, tuple(base.input_shape)
        self.criterion = create_criterion(cfg.criterion, seed=cfg.seed)
        self.scratch = rf.fresh_tmp_dir(baseline_dir(run, rounding), "search")
        from netadapt.pruning import analyze

        self.step = cfg.channel_step if step is None else step
        start = rf.read_json(rf.iteration_dir(run, 0) / "info.json")
        self.frozen = start.get("frozen_groups")
        # widths are timed against the start model, as the run's iterations are
        self.start_onnx, self.start_ms = rf.iteration_dir(run, 0) / "model.onnx", start.get("measured_ms")
        self.graph = analyze(self.base, self.input_shape, validate=self.frozen is None, frozen=self.frozen)
        self.frozen = self.graph.frozen
        self.rounding = None if rounding == "grid" else self.fast_rounding(lut)
        self.search = WidthSearch(self.graph.groups, self.measure_width, step=self.step, rtol=rtol,
                                  channels=self.rounding and functools.partial(self.rounding, self.graph.groups))

    def fast_rounding(self, lut: str | None):
        """Each group's latency curve from the table (``netadapt.baseline.fast``), read once per channel step
        and device and kept in ``curves.json``."""
        from lut.table import LatencyTable
        from netadapt.baseline.fast import FastRounding, table_curves
        from netadapt.latency import LatencyEstimator
        from profilers import ProfileConfig, get_profiler

        path = baseline_dir(self.run, "fast") / "curves.json"
        stored = rf.read_json(path) if path.is_file() else {}
        if stored.get("step") != self.step or stored.get("device") != self.device.fingerprint():
            cfg = self.cfg
            estimator = LatencyEstimator(LatencyTable(lut), self.device, get_profiler(
                self.device, ProfileConfig(warmup=cfg.warmup, repeats=cfg.repeats)))
            curves = table_curves(estimator, self.base, self.graph, self.step, anchor_ms=self.start_ms)
            stored = {"step": self.step, "device": self.device.fingerprint(), "curves": FastRounding(curves).to_dict()}
            rf.write_json(path, stored)
        return FastRounding(stored["curves"])

    @functools.cached_property
    def data(self):
        """Loaded on first use: a resumed benchmark whose points are all built never needs it."""
        from netadapt.data import load_data

        return load_data(self.cfg.data, holdout=self.cfg.holdout, seed=self.cfg.split_seed)

    @functools.cached_property
    def holdout(self):
        holdout, cfg = self.data.holdout, self.cfg
        if cfg.eval_limit is not None and cfg.eval_limit < len(holdout):
            # a random subset: the holdout is in class order for image folders
            holdout = limit(holdout, cfg.eval_limit, cfg.seed)
        return holdout

    def close(self):
        shutil.rmtree(self.scratch, ignore_errors=True)

    def prune(self, width: float):
        from netadapt.baseline.uniform import uniform_prune

        return uniform_prune(self.base, self.input_shape, width, self.criterion, self.step, frozen=self.frozen,
                             rounding=self.rounding)

    def measure(self, model, folder: Path) -> float:
        """Latency (ms) as the run reports its iterations': the start's measurement times the ratio to
        the start model, timed run by run against it (a width judged on a busy machine by its own
        absolute time would look slower than the run's iterations, and the search would pick too
        narrow a width)."""
        from netadapt.export import export_onnx
        from netadapt.latency.paired import PairedConfig, compare_models

        path = export_onnx(model, folder / "model.onnx", self.input_shape, verify=True)
        if not self.start_onnx.is_file() or not self.start_ms:
            return float(self.profiler.measure_model(str(path), self.input_shape).median)
        result = compare_models(self.device, str(path), str(self.start_onnx), self.input_shape,
                                config=PairedConfig(warmup=self.cfg.warmup, min_pairs=self.cfg.model_repeats))
        return float(self.start_ms) * result.ratio

    def measure_width(self, width: float) -> float:
        return self.measure(self.prune(width), self.scratch)

    def point(self, k: int, target_ms: float, width: float | None = None, name: str | None = None,
              extra: dict | None = None) -> dict:
        """Search the width matching ``target_ms`` (or take ``width``), fine-tune it as the run's path to
        iteration ``k`` is fine-tuned, measure it, and publish it as ``baseline/<name>`` (default
        ``iter_<k>``)."""
        from netadapt.checkpoint import save_checkpoint
        from netadapt.training import TrainConfig, evaluate, fine_tune, train

        cfg, ft = self.cfg, self.cfg.finetune
        name = name or f"iter_{k:03d}"
        seconds = {}
        partial = baseline_dir(self.run, self.kind) / f"{name}.partial"
        partial.mkdir(parents=True, exist_ok=True)
        found = partial / "search.json"
        t0 = time.perf_counter()
        stored = rf.read_json(found) if found.is_file() else {}
        if stored.get("target_ms") == target_ms and stored.get("step") == self.step and \
                (width is None or stored.get("width") == width):
            width, search_ms = stored["width"], stored["search_ms"]  # resumed: a half-done training still fits
        else:
            shutil.rmtree(partial / "train", ignore_errors=True)
            width, search_ms = self.search.find(target_ms) if width is None else (width, self.search.latency(width))
            rf.write_json(found, {"width": width, "search_ms": search_ms, "target_ms": target_ms, "step": self.step})
        seconds["search"] = time.perf_counter() - t0
        model = self.prune(width)
        t0 = time.perf_counter()
        teacher = {"teacher": self.base, "distill": ft.distill, "temperature": ft.temperature} if ft.distill else {}
        path = path_finetune_steps(self.run, k, ft.short_steps)
        for i, steps in enumerate(path):  # as the path to iteration k: k short-term fine-tunes, each fresh
            fine_tune(model, self.data.train, steps, batch_size=ft.batch_size, lr=ft.short_lr,
                      seed=derive_seed(cfg.seed, "uniform", i), augment=self.data.augment, **teacher)
        if ft.long_epochs > 0:
            train(model, self.data, TrainConfig(epochs=ft.long_epochs, lr=ft.long_lr, batch_size=ft.batch_size,
                                                seed=cfg.seed, distill=ft.distill,
                                                distill_temperature=ft.temperature),
                  out_dir=partial / "train", progress=self.progress, resume=True,
                  teacher=self.base if ft.distill else None)
        seconds["finetune"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        test_acc, holdout_acc = evaluate(model, self.data.test), evaluate(model, self.holdout)
        seconds["evaluate"] = time.perf_counter() - t0
        tmp = rf.fresh_tmp_dir(baseline_dir(self.run, self.kind), name)
        t0 = time.perf_counter()
        measured = self.measure(model, tmp)
        seconds["export_measure"] = time.perf_counter() - t0
        from netadapt.pruning import analyze

        channels = analyze(model, self.input_shape, validate=False, frozen=self.frozen).sizes()
        info = {"iteration": k, "width": width, "target_ms": target_ms, "measured_ms": measured,
                "search_ms": search_ms, "test_accuracy": test_acc, "holdout_accuracy": holdout_acc,
                "channels": channels, "channel_step": self.step, "finetune_steps": sum(path),
                "long_epochs": ft.long_epochs, "rounding": self.kind,
                "widths_measured": len(self.search.visited), "device": self.device.fingerprint(),
                "seconds": seconds, **(extra or {})}
        save_checkpoint(tmp / "model.pt", model, self.spec, self.input_shape, channels=channels,
                        extra={"uniform_width": width, "matches_iteration": k})
        rf.write_json(tmp / "info.json", info)
        rf.publish(tmp, baseline_dir(self.run, self.kind) / name)
        shutil.rmtree(partial, ignore_errors=True)
        return info


def _finished(run: Path, rounding: str = "grid") -> list[dict]:
    found = []
    for folder in sorted(baseline_dir(run, rounding).glob("iter_[0-9][0-9][0-9]")):
        if (folder / "info.json").is_file():
            found.append(rf.read_json(folder / "info.json"))
    return found


def build_uniform_baseline(run_dir, points: int | Sequence[int] | None = None, progress: bool = True,
                           log=print, rtol: float = 0.01, channel_step: int | None = None, rounding: str = "grid",
                           lut: str | None = None) -> list[dict]:
    """Build uniform width-multiplier models at the latencies a NetAdapt run reached.

    Args:
        run_dir: a folder written by ``netadapt run``.
        points: which iterations to match: None for all, an int for that many evenly spaced ones ending at
            the last, or a list of iteration numbers.
        progress: show progress bars.
        log: where one-line messages go.
        rtol: relative tolerance of the latency match in the width search.
        channel_step: uniform channel counts are rounded to this grid (default: the run's ``channel_step``,
            as the zoo's width multipliers round to multiples of 8).
        rounding: ``grid`` (the nearest count on that grid), or ``fast`` (the nearest count of the grid that
            the lookup table ``lut`` says is not slower than any larger one; kept in ``<run>/baseline_fast``).
        lut: the lookup table path or URL for ``fast`` (None: the default table); nodes it lacks are timed.

    Returns:
        One dict per requested point: ``iteration``, ``width``, ``target_ms``, ``measured_ms``,
        ``test_accuracy``, ``holdout_accuracy``, ``finetune_steps``, ``long_epochs``, ``channels``, ...
        ``<run>/baseline/points.json`` is rewritten with every finished point (earlier builds included).

    Raises:
        UserError: ``run_dir`` is not a run folder, or has no iteration past the start.
    """
    from tqdm.auto import tqdm

    from netadapt.runs.rundata import load_run

    data = load_run(run_dir)
    run = data.run_dir
    chosen = choose_iterations(data.iterations[-1]["iteration"], points)
    done = {p["iteration"]: p for p in _finished(run, rounding)}
    builder = None
    results = []
    try:
        for k in tqdm(chosen, desc="uniform baseline", unit="point", disable=not progress):
            target = float(data.iterations[k]["measured_ms"])
            if k in done and done[k].get("target_ms") == target and \
                    done[k].get("channel_step") == (channel_step or data.config.get("channel_step")):
                results.append(done[k])
                continue
            if builder is None:
                builder = _Builder(run, progress, log, rtol, channel_step, rounding, lut)
            info = builder.point(k, target)
            log(f"uniform width {info['width']:.3f} ({rounding} counts) matches iteration {k}: {info['measured_ms']:.4g} ms "
                f"(target {target:.4g} ms), test accuracy {info['test_accuracy']:.4f}")
            results.append(info)
    finally:
        if builder is not None:
            builder.close()
    every = _finished(run, rounding)
    keys = ("iteration", "width", "target_ms", "measured_ms", "test_accuracy", "holdout_accuracy",
            "finetune_steps", "long_epochs", "channel_step")
    rf.write_json(points_path(run, rounding), [{k: p.get(k) for k in keys} for p in every])
    return results


def build_wider_point(run_dir, iteration: int, progress: bool = True, log=print,
                      margin: float | None = None, rounding: str = "grid", lut: str | None = None) -> dict | None:
    """A uniform model wider than the baseline point matching ``iteration``.

    The matching point is the widest width within the iteration's latency, so it is usually a little
    faster than the iteration; this one is slower, so the two bracket the iteration and the uniform accuracy
    at its latency can be read between them: the next wider configuration (``margin`` None), or, of the
    wider configurations measured at least ``1 + margin`` times the iteration's latency, the fastest (for
    when a later measurement of both arms may move them apart by a few percent; the fastest rather than
    the narrowest, as a configuration off the device's fast channel counts can be slower than wider
    ones). It is fine-tuned exactly as the matching point and stored in ``<run>/baseline/iter_<k>_wider``
    (outside ``points.json`` and the report).
    Resumable (rebuilt when the matched point, its target or the margin changed); returns its info (as
    :func:`build_uniform_baseline`'s points), or None when the matching point is already at full width.

    Raises:
        UserError: no finished baseline point matches ``iteration`` yet.
    """
    run = Path(run_dir)
    matched = {p["iteration"]: p for p in _finished(run, rounding)}.get(iteration)
    if matched is None:
        raise UserError(f"no uniform baseline point matches iteration {iteration} of {run} yet: build it first")
    folder = wider_dir(run, iteration, rounding)
    name, done = folder.name, folder / "info.json"
    if done.is_file():
        info = rf.read_json(done)
        if info.get("below_width") == matched["width"] and info.get("margin") == margin and \
                info.get("target_ms") == matched["target_ms"] and \
                (margin is None or info.get("rule") == "fastest"):
            return info
    builder = _Builder(run, progress, log, 0.01, matched.get("channel_step"), rounding, lut)
    try:
        if margin is None:
            width = builder.search.next_wider(matched["width"])
        else:
            width = builder.search.fastest_at_least(matched["width"], matched["target_ms"] * (1 + margin))
        if width is None:
            return None
        extra = {"below_width": matched["width"], "margin": margin}
        info = builder.point(iteration, matched["target_ms"], width=width, name=name,
                             extra=extra if margin is None else {**extra, "rule": "fastest"})
    finally:
        builder.close()
    which = (f"the next wider than {matched['width']:.3f}" if margin is None else
             f"the fastest above {matched['width']:.3f} at least {100 * margin:g}% slower than the iteration "
             f"({len(builder.search.visited)} configurations measured)")
    log(f"uniform width {info['width']:.3f}, {which}: {info['measured_ms']:.4g} ms, "
        f"test accuracy {info['test_accuracy']:.4f}")
    return info


def build_between_points(run_dir, iteration: int, progress: bool = True, log=print,
                         limit: int | None = None, rounding: str = "grid", lut: str | None = None) -> list[dict]:
    """Uniform models at the widths between the point matching ``iteration`` and its wider point.

    The matching point and the wider one (see :func:`build_wider_point`) can lie far apart, and the uniform
    curve is not straight between them (accuracy rises fast at first), so a line between the two flatters
    NetAdapt. Every width on the grid in between at which the channel counts change (at most ``limit``,
    narrowest first) is fine-tuned exactly as the matching point and stored in
    ``<run>/baseline/iter_<k>_at_<width>`` (outside ``points.json`` and the report). Resumable: a finished
    width built for the same target is reused. Returns their infos, narrowest first (none when the two are
    neighbours on the grid).

    Raises:
        UserError: the matching point or the wider one is not built yet.
    """
    run = Path(run_dir)
    matched = {p["iteration"]: p for p in _finished(run, rounding)}.get(iteration)
    wider_info = wider_dir(run, iteration, rounding) / "info.json"
    if matched is None or not wider_info.is_file():
        raise UserError(f"build the uniform point matching iteration {iteration} of {run} and its wider "
                        "point first")
    wider = rf.read_json(wider_info)
    builder = _Builder(run, progress, log, 0.01, matched.get("channel_step"), rounding, lut)
    results = []
    try:
        width = matched["width"]
        while limit is None or len(results) < limit:
            width = builder.search.next_wider(width)
            if width is None or builder.search.same_configuration(width, wider["width"]):
                break
            folder = between_dir(run, iteration, width, rounding)
            name, done = folder.name, folder / "info.json"
            info = rf.read_json(done) if done.is_file() else None
            if info is None or info.get("target_ms") != matched["target_ms"]:
                info = builder.point(iteration, matched["target_ms"], width=width, name=name,
                                     extra={"between": [matched["width"], wider["width"]]})
                log(f"uniform width {info['width']:.4f}, between {matched['width']:.3f} and "
                    f"{wider['width']:.3f}: {info['measured_ms']:.4g} ms, test accuracy {info['test_accuracy']:.4f}")
            results.append(info)
    finally:
        builder.close()
    return results
