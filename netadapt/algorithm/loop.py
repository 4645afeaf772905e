"""The NetAdapt loop with its run folder: every step is skipped if its output exists, so re-running
the same command resumes a killed run, down to the candidates already fine-tuned in an iteration."""

from __future__ import annotations

import copy
import csv
import dataclasses
import shutil
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from netadapt.algorithm.budget import parse_budget
from netadapt.algorithm.candidates import CandidateJob, Resources, SharedInputs, needs_teacher, run_data
from netadapt.algorithm.config import RESUMABLE_KEYS, SCORES, ExecutionConfig, RunConfig
from netadapt.algorithm.executors import InProcess, create_executor
from netadapt.algorithm.search import CandidateEstimates, largest_counts_meeting, smallest_network_ms
from netadapt.algorithm.selection import SELECTIONS, select_candidate
from netadapt.checkpoint import load_checkpoint, save_checkpoint, save_state
from netadapt.criteria import create_criterion
from netadapt.errors import UserError
from netadapt.latency import calibration
from netadapt.latency.estimator import LatencyEstimator
from netadapt.models.spec import ModelSpec
from netadapt.pruning import analyze, keep_channels
from netadapt.rewinding import create_rewinder
from netadapt.runs import folder as rf


# Whole-model measurements are taken in this many rounds (interleaved with the start model).
MEASURE_ROUNDS = 3
# When no group can meet an iteration's target, its reduction is halved, down to this fraction of the
# starting latency (below it a step is within the table's resolution and the run stops instead).
SMALLEST_STEP = 0.001
# A paired measurement (see netadapt.latency.paired) times at most this many pairs, for at most this long,
# to decide a model against the budget.
MAX_PAIRS = 480
MAX_PAIR_SECONDS = 60.0
# Before any paired measurement has said how precise one is on this device, the last step aims this far
# (relative) under the budget on a real device, so its measurement can confirm the budget.
DEFAULT_MARGIN = 0.01
# A paired interval covers the noise of one measurement, not a ratio that drifts between measurements: with
# more CPU-bound processes than cores, two measurements of one model were seen up to 2.5% apart. On a real
# device the run stops only when its iteration's interval lies this far (relative) under the budget, so the
# final model, measured again after its long-term fine-tune, still meets it.
DRIFT_MARGIN = 0.02
# A HALP step ranks channels on the Taylor scores of this many training batches.
HALP_BATCHES = 8


@dataclass
class RunResult:
    run_dir: Path
    iterations: list[dict]
    final: dict | None
    budget_ms: float
    stopped: str


@dataclass
class _Timer:
    seconds: dict = field(default_factory=dict)

    @contextmanager
    def phase(self, name):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0


def _seed(base: int, *parts) -> int:
    return (base * 1_000_003 + zlib.crc32("/".join(map(str, parts)).encode())) % (2**31)


class NetAdaptRun:
    """Runs NetAdapt for ``config`` in folder ``out``.

    Args:
        config: the run's settings.
        out: the run folder (created, or resumed if it holds the same settings).
        lut: lookup table path or SQLAlchemy URL (None: the default table).
        progress: show progress bars.
        log: where one-line messages go.
        execution: where candidates are fine-tuned (default: one after another in this process); it does
            not change the result.
    """

    def __init__(self, config: RunConfig, out, lut: str | None = None, progress: bool = True, log=print,
                 execution: ExecutionConfig | None = None):
        self.config = config
        self.execution = execution or ExecutionConfig()
        self.out = Path(out)
        self.lut = lut
        self.progress = progress
        self.log = log

    # ---- set-up -------------------------------------------------------------------------------
    def _setup(self):
        from devices import usable_device
        from lut.table import LatencyTable
        from profilers import ProfileConfig, get_profiler

        cfg = self.config
        self.budget = parse_budget(cfg.budget)
        create_criterion(cfg.criterion)  # fail early on unknown plug-in names
        from netadapt.rewinding import list_rewinders

        if cfg.rewinder not in list_rewinders():
            raise UserError(f"unknown rewinder {cfg.rewinder!r}; valid: {', '.join(list_rewinders())}")
        if cfg.selection not in SELECTIONS:
            raise UserError(f"unknown selection {cfg.selection!r}; valid: {', '.join(SELECTIONS)}")
        if cfg.score not in SCORES:
            raise UserError(f"unknown score {cfg.score!r}; valid: {', '.join(SCORES)}")
        if cfg.search not in ("netadapt", "halp"):
            raise UserError(f"unknown search {cfg.search!r}; valid: netadapt, halp")
        ex = self.execution
        from netadapt.training.device import training_device

        training_device(ex.train_device)  # a GPU this PyTorch cannot reach fails before anything runs
        self.executor = create_executor(ex.executor, ex.workers, ex.ray_address)
        self.device = usable_device(cfg.device, threads=cfg.threads, gpu_id=cfg.gpu_id)
        self.table = LatencyTable(self.lut)
        # check everything the user named before the run folder is created
        self.data, self.holdout = run_data(cfg)
        if cfg.checkpoint:
            from netadapt.checkpoint import read_checkpoint

            read_checkpoint(cfg.checkpoint)
        elif ":" not in cfg.model:
            from netadapt.models import model_info

            model_info(cfg.model)
        self.input_shape = (cfg.batch, *self.data.input_shape)
        if not (self.out / "iter_000" / "info.json").exists():
            # what cannot be pruned is said before any work (training a base model included)
            self.frozen = self._check_prunable()
        rf.prepare_run_dir(self.out, cfg.to_dict(), ignore=RESUMABLE_KEYS)
        from netadapt.algorithm.config import to_toml

        (self.out / "run.toml").write_text(to_toml(cfg))  # `netadapt run --config <it>` runs the same again
        self.layer_profiler = get_profiler(self.device, ProfileConfig(warmup=cfg.warmup, repeats=cfg.repeats))
        self.model_profiler = get_profiler(self.device, ProfileConfig(warmup=cfg.warmup,
                                                                      repeats=cfg.model_repeats))
        self.estimator = LatencyEstimator(self.table, self.device, self.layer_profiler, progress=False)
        self.calibration = calibration.Calibration.load(self.table, self.device.fingerprint())
        self._record_models = True
        self.criterion = create_criterion(cfg.criterion, seed=cfg.seed)

    def _check_prunable(self) -> dict[str, str]:
        """Analyse the (untrained or given) model: refuse it when nothing can be pruned, and list the
        groups that are frozen. Returns the frozen groups with their reasons."""
        cfg = self.config
        if cfg.checkpoint:
            model = load_checkpoint(cfg.checkpoint).model
        else:
            model = self._data_spec().build()
        graph = analyze(model, self.input_shape)
        for name, why in graph.frozen.items():
            self.log(f"Frozen (not pruned): {name}: {why}")
        return graph.frozen

    def _data_spec(self) -> ModelSpec:
        from netadapt.models.spec import spec_for_data

        return spec_for_data(self.config.model, dict(self.config.model_kwargs or {}), self.data.num_classes,
                             self.data.input_shape[0])

    def _base_model(self):
        """The starting model: the given checkpoint, or a base model trained once in ``base/``."""
        cfg = self.config
        spec = ModelSpec(cfg.model, dict(cfg.model_kwargs or {}))
        if cfg.checkpoint:
            loaded = load_checkpoint(cfg.checkpoint)
            if loaded.spec.name != spec.name and cfg.model != RunConfig.model:
                raise UserError(f"checkpoint {cfg.checkpoint} is for model {loaded.spec.name}, "
                                f"not {cfg.model}")
            return loaded.spec, loaded.model
        path = self.out / "base" / "model.pt"
        if path.exists():
            loaded = load_checkpoint(path)
            return loaded.spec, loaded.model
        from netadapt.training import TrainConfig, train

        spec = self._data_spec()
        torch.manual_seed(cfg.seed)  # the base model's initial weights follow the run's seed
        model = spec.build()
        self.log(f"No checkpoint given: training {spec.name} on {self.data.name} "
                 f"for {cfg.base_epochs} epochs first (kept in {path.parent}).")
        base = TrainConfig(epochs=cfg.base_epochs, seed=cfg.seed, lr=0.05, batch_size=32)
        total_steps = cfg.base_epochs * -(-len(self.data.train) // base.batch_size)
        base = dataclasses.replace(base, rewind_iteration=min(cfg.rewind_iteration, total_steps))
        result = train(model, self.data, base, out_dir=self.out / "base" / "train", progress=self.progress,
                       resume=True, device=self.execution.train_device)
        save_checkpoint(path, model, spec, (1, *self.data.input_shape),
                        extra={"test_accuracy": result.test_accuracy})
        return spec, model

    def _rewind_file(self) -> Path | None:
        """The rewind point saved when this run trained its own base model (else the rewinder searches
        beside --checkpoint)."""
        if self.config.checkpoint:
            return None
        found = sorted((self.out / "base" / "train").glob("rewind_*.pt"))
        return found[0] if found else None

    # ---- measurement --------------------------------------------------------------------------
    def _paired_config(self):
        from netadapt.latency.paired import PairedConfig

        cfg = self.config
        return PairedConfig(warmup=cfg.warmup, min_pairs=cfg.model_repeats,
                            max_pairs=max(cfg.model_repeats, MAX_PAIRS), max_seconds=MAX_PAIR_SECONDS)

    def _compare(self, onnx_path, reference, reference_ms: float, budget_ms: float | None,
                 max_pairs: int | None = None) -> dict:
        """Latency of ``onnx_path`` as ``reference_ms`` x its paired ratio to ``reference``, with the 95%
        interval and, given a budget, the verdict (timing goes on near the line until it can decide)."""
        import dataclasses

        from netadapt.latency.paired import compare_models, report_latency

        config = self._paired_config()
        if max_pairs:
            config = dataclasses.replace(config, max_pairs=max_pairs, max_seconds=2 * MAX_PAIR_SECONDS)
        threshold = None if budget_ms is None else budget_ms / reference_ms
        result = compare_models(self.device, str(onnx_path), str(reference), self.input_shape,
                                threshold=threshold, config=config)
        report = report_latency(result, reference_ms, budget_ms)
        return {"measured_ms": report.ms, "measured_low_ms": report.low_ms, "measured_high_ms": report.high_ms,
                "ratio": result.ratio, "ratio_low": result.low, "ratio_high": result.high,
                "pairs": result.pairs, "verdict": report.verdict, "measurement": str(report)}

    def _export_and_measure(self, model, folder: Path) -> dict:
        """Export ``model`` and measure it on the device.

        The starting model is measured in ``MEASURE_ROUNDS`` rounds and its least disturbed round
        (lowest median) is kept. Every later model is timed run by run alternately with the starting
        model (``netadapt.latency.paired``): the median of the per-pair ratios times the start's
        latency, with its 95% interval, and the verdict against the budget. Each pair's two runs see the
        same load, so a machine that gets busier does not move the ratio the way it moves blocks of runs.
        """
        from netadapt.export import export_onnx

        onnx_path = export_onnx(model, folder / "model.onnx", self.input_shape, verify=True)
        self._exported = onnx_path
        start = rf.iteration_dir(self.out, 0)
        if not (start / "info.json").exists():
            rounds = [float(self.model_profiler.measure_model(str(onnx_path), self.input_shape).median)
                      for _ in range(MEASURE_ROUNDS)]
            return {"measured_ms": min(rounds), "measured_rounds_ms": rounds}
        start_ms = rf.read_json(start / "info.json")["measured_ms"]
        measured = self._compare(onnx_path, start / "model.onnx", start_ms, self.budget_ms)
        measured["ratio_to_start"] = measured["ratio"]
        return measured

    def _write_iteration(self, i: int, model, spec, info: dict) -> dict:
        tmp = rf.fresh_tmp_dir(self.out, f"iter_{i:03d}")
        timer = _Timer(info.get("seconds", {}))
        with timer.phase("export_measure"):
            info.update(self._export_and_measure(model, tmp))
        self._note_table_estimates(model, info)
        info["seconds"] = timer.seconds
        save_checkpoint(tmp / "model.pt", model, spec, self.input_shape, channels=info["channels"],
                        extra={"iteration": i})
        rf.write_json(tmp / "info.json", info)
        rf.publish(tmp, rf.iteration_dir(self.out, i))
        shutil.rmtree(rf.partial_dir(self.out, i), ignore_errors=True)
        return info

    def _note_table_estimates(self, model, info: dict) -> None:
        """Add the table's estimate (and the calibrated one, when the device has a calibration) of a
        measured model to ``info``, and store the measurement for the device's calibration."""
        breakdown = self.estimator.breakdown_of(self.estimator.onnx_units(self._exported, self.input_shape))
        info["table_ms"] = sum(ms for *_, ms in breakdown)
        if self.calibration is not None:
            info["calibrated_ms"] = self.calibration.apply_breakdown(breakdown)
        if self._record_models:
            try:
                calibration.record(self.table, self.device.fingerprint(), breakdown, info["measured_ms"],
                                   "netadapt run")
            except UserError as exc:  # e.g. a complete table shared read-only: the run goes on
                self._record_models = False
                self.log(f"Warning: whole-model measurements are not stored for calibration ({exc}).")

    # ---- the loop -----------------------------------------------------------------------------
    def run(self) -> RunResult:
        self._setup()
        try:
            return self._run()
        finally:
            self.executor.close()

    def _run(self) -> RunResult:
        from tqdm.auto import tqdm

        cfg = self.config
        last = rf.last_iteration(self.out)
        if last is None:
            spec, model = self._base_model()
            graph = analyze(model, self.input_shape, validate=False, frozen=self.frozen)
            from netadapt.training import score

            t0 = time.perf_counter()
            scores = score(model, self.holdout, reference=model if cfg.score == "kl" else None)
            acc = scores.accuracy
            info = {"iteration": 0, "channels": graph.sizes(), "original_channels": graph.sizes(),
                    "frozen_groups": graph.frozen,
                    "origin": {g: list(range(n)) for g, n in graph.sizes().items()},
                    "holdout_accuracy": acc, "holdout_loss": scores.loss, "holdout_kl": scores.kl,
                    "pruned_group": None, "predicted_ms": None,
                    "target_ms": None, "seconds": {"evaluate": time.perf_counter() - t0}}
            self.log(f"Measuring the starting model on {cfg.device} ...")
            self._write_iteration(0, model, spec, info)
            last = 0
        first = rf.read_json(rf.iteration_dir(self.out, 0) / "info.json")
        self.frozen = first.get("frozen_groups", {})
        start_ms = first["measured_ms"]
        budget_ms = self.budget_ms = self.budget.resolve(start_ms)
        original = first["original_channels"]
        history = [rf.read_json(rf.iteration_dir(self.out, k) / "info.json") for k in range(last + 1)]
        state = history[-1]
        loaded = load_checkpoint(rf.iteration_dir(self.out, last) / "model.pt")
        model, spec = loaded.model, loaded.spec
        if last == 0:
            graph = analyze(model, self.input_shape, validate=False, frozen=self.frozen)
            estimates = self._estimates(0, state, model, graph, original)
            lowest = smallest_network_ms(estimates, original, cfg.channel_step)
            if budget_ms < lowest:
                raise UserError(f"budget {self.budget} ({budget_ms:.3f} ms) is below what the smallest "
                                f"network on the channel grid reaches (about {lowest:.3f} ms estimated; "
                                f"the start measured {start_ms:.3f} ms)")
        self.log(f"Start: {start_ms:.3f} ms measured; budget {self.budget} = {budget_ms:.3f} ms.")
        stopped = "budget met" if self._stops(state, budget_ms) else ""
        bar = tqdm(total=None, desc="NetAdapt iterations", disable=not self.progress, initial=last,
                   unit="it")
        while not stopped:
            i = state["iteration"]
            if i >= cfg.max_iterations:
                stopped = f"reached --max-iterations {cfg.max_iterations}"
                break
            state, model = self._iteration(i, state, model, spec, start_ms, budget_ms, original)
            if state is None:
                state = history[-1]
                # met, though not by the drift margin: nothing smaller to try, so the final measurement decides
                stopped = "budget met" if self._met(state, budget_ms) else \
                    "no layer can shrink further to meet the next target"
                break
            history.append(state)
            bar.update(1)
            bar.set_postfix_str(f"{state['measured_ms']:.3f} ms, acc {state['holdout_accuracy']:.3f}")
            if self._stops(state, budget_ms):
                stopped = "budget met"
        bar.close()
        self.log(f"Stopped after iteration {state['iteration']}: {stopped}.")
        final = self._final(state, model, spec, budget_ms)
        if stopped == "budget met" and not final["budget_met"]:
            stopped = (f"budget met at iteration {state['iteration']}, but the final model's measurement "
                       f"({final.get('measurement', '')}) does not confirm it")
        self._write_summary(history, final, budget_ms, stopped)
        refitted = calibration.refit(self.table, self.device.fingerprint()) if self._record_models else None
        if refitted is not None:
            self.log(f"Calibration of {self.device.name} refitted on the {refitted.models} whole models it has "
                     f"measured (stored in the lookup table; see `netadapt lut check`).")
        return RunResult(self.out, history, final, budget_ms, stopped)

    @staticmethod
    def _met(info: dict, budget_ms: float) -> bool:
        """Whether a measured model meets the budget: its paired measurement's verdict (the interval's
        upper end within the budget); the start model, measured alone, by its latency."""
        if info.get("verdict") is not None:
            return info["verdict"] == "met"
        return info["measured_ms"] <= budget_ms

    def _stop_line(self, budget_ms: float) -> float:
        """What the loop stops under and aims its last steps at: ``DRIFT_MARGIN`` under the budget on a real
        device (see there), the budget itself on the exact fake device."""
        exact = getattr(self.device, "profiler_kind", "ort") == "fake"
        return budget_ms if exact else budget_ms * (1 - DRIFT_MARGIN)

    def _stops(self, state: dict, budget_ms: float) -> bool:
        """Whether the loop stops at this measured model: it meets the budget, and the upper end of its
        interval is under the stop line."""
        high = state.get("measured_high_ms", state["measured_ms"])
        return self._met(state, budget_ms) and high <= self._stop_line(budget_ms)

    def _floor(self, state: dict, budget_ms: float) -> float:
        """The lowest target an iteration aims at: under the budget by twice the relative half-width of
        the last paired measurement, so the measurement of a network that reaches it confirms the budget
        instead of straddling it."""
        if "ratio_low" in state and state.get("ratio"):
            half = (state["ratio_high"] - state["ratio_low"]) / 2 / state["ratio"]
        else:
            half = 0.0 if getattr(self.device, "profiler_kind", "ort") == "fake" else DEFAULT_MARGIN
        return budget_ms / (1 + 2 * min(max(half, 0.0), 0.25))

    def _search(self, i, state, model, graph, start_ms, budget_ms, original, timer) -> dict:
        """Every group's candidate count for iteration ``i + 1``: the largest count on its grid whose
        anchored estimate meets the iteration's target.

        When no group can meet the target (one small group of a large network rarely removes the
        scheduled share of it), the reduction is halved and the search repeated, down to
        ``SMALLEST_STEP`` of the starting latency, so the run goes on in smaller steps instead of
        stopping short of the budget. The result is stored in the iteration's partial folder, so a
        resumed run reuses it.
        """
        from tqdm.auto import tqdm

        cfg = self.config
        path = rf.partial_dir(self.out, i + 1) / "search.json"
        if path.exists():
            return rf.read_json(path)
        scheduled = cfg.schedule.reduction_ms(i, start_ms)
        reduction = scheduled
        smallest = SMALLEST_STEP * start_ms
        estimates = self._estimates(i, state, model, graph, original)
        hints = {c["group"]: c["channels"] for c in state.get("candidates", []) if c.get("feasible")}
        with timer.phase("search"):
            floor = self._floor(state, self._stop_line(budget_ms))
            while True:
                target = max(state["measured_ms"] - reduction, floor)
                results = {}
                groups = sorted(graph.groups)
                bar = tqdm(total=len(groups), desc=f"iteration {i + 1} estimates", leave=False,
                           disable=not self.progress)
                found = largest_counts_meeting(estimates, {g: (original[g], hints.get(g)) for g in groups},
                                               cfg.channel_step, target, done=lambda g: bar.update())
                bar.close()
                for g in groups:
                    if isinstance(found[g], Exception):  # e.g. a pruned copy that cannot be exported: this group only
                        exc = found[g]
                        error = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                        results[g] = {"error": error}
                        self.log(f"iteration {i + 1}: group {g} cannot be estimated and is skipped: {error}")
                    else:
                        results[g] = None if found[g] is None else {"channels": found[g][0],
                                                                     "predicted_ms": found[g][1]}
                if any(r and "channels" in r for r in results.values()) or reduction / 2 < smallest:
                    break
                reduction /= 2
        found = {"target_ms": target, "reduction_ms": reduction, "scheduled_reduction_ms": scheduled,
                 "groups": results, "probes": estimates.probes}
        rf.write_json(path, found)
        return found

    def _estimates(self, i, state, model, graph, original) -> CandidateEstimates:
        """Anchored estimates of the networks cut from iteration ``i``'s, on the export the loop made of it to
        measure it (exported again only where that file is missing)."""
        from netadapt.latency.grid import probe_grids

        onnx_path = rf.iteration_dir(self.out, i) / "model.onnx"
        return CandidateEstimates(self.estimator, model, graph, state["measured_ms"],
                                  exported=onnx_path.read_bytes() if onnx_path.exists() else None,
                                  grids=probe_grids(graph, original, self.config.channel_step))

    def _iteration(self, i, state, model, spec, start_ms, budget_ms, original):
        from tqdm.auto import tqdm

        cfg = self.config
        if cfg.search == "halp":
            return self._halp_iteration(i, state, model, spec, start_ms, budget_ms, original)
        timer = _Timer()
        graph = analyze(model, self.input_shape, validate=False, frozen=self.frozen)
        partial = rf.partial_dir(self.out, i + 1)
        partial.mkdir(exist_ok=True)
        search = self._search(i, state, model, graph, start_ms, budget_ms, original, timer)
        target = search["target_ms"]
        rewinder = create_rewinder(cfg.rewinder, spec=spec, input_shape=self.input_shape,
                                   run_dir=self.out, config=cfg, rewind=self._rewind_file())
        feasible_groups = [g for g, r in sorted(search["groups"].items()) if r and "channels" in r]
        candidates = [{"group": g, "feasible": False, **(r or {})} for g, r in sorted(search["groups"].items())
                      if g not in feasible_groups]
        if not feasible_groups:
            return None, model
        if hasattr(self.criterion, "prepare"):  # data-aware criteria (e.g. taylor) see the current model
            from netadapt.iterative.prune import prepare_criterion

            prepare_criterion(self.criterion, model, self.data.train, seed=_seed(cfg.seed, i, "criterion"))
        todo = []
        for g in feasible_groups:
            done = partial / f"{g}.json"
            if done.exists():  # fine-tuned before the run was stopped
                candidates.append(rf.read_json(done))
            else:
                todo.append(g)
        bar = tqdm(total=len(todo), desc=f"iteration {i + 1} candidates", leave=False, disable=not self.progress)
        jobs = self._prune_candidates(i, todo, search, state, model, graph, rewinder, timer)
        began = time.perf_counter()
        for job, cand, weights, seconds in self.executor.map(jobs, self._shared_inputs(spec), self._resources()):
            for phase, value in seconds.items():  # summed over workers when they run side by side
                timer.seconds[phase] = timer.seconds.get(phase, 0.0) + value
            save_state(partial / f"{job.group}.pt", weights, spec, self.input_shape, channels=job.network)
            rf.write_json(partial / f"{job.group}.json", cand)  # written last: its presence means it is whole
            candidates.append(cand)
            bar.update(1)
        bar.close()
        if not isinstance(self.executor, InProcess):
            timer.seconds["candidates_wall"] = time.perf_counter() - began
        # in group order whatever order the candidates finished in: ties are broken the same way
        feasible = sorted((c for c in candidates if c["feasible"]), key=lambda c: c["group"])
        best = select_candidate(feasible, state, self.config.selection, self._value,
                                stop_ms=self._stop_line(budget_ms))
        best_model = load_checkpoint(partial / f"{best['group']}.pt").model
        info = {"iteration": i + 1, "pruned_group": best["group"],
                "channels": {**state["channels"], best["group"]: best["channels"]},
                "origin": {**state["origin"], best["group"]: best["origin"]},
                "holdout_accuracy": best["holdout_accuracy"], "holdout_loss": best.get("holdout_loss"),
                "holdout_kl": best.get("holdout_kl"), "predicted_ms": best["predicted_ms"],
                "target_ms": target, "reduction_ms": search["reduction_ms"],
                "scheduled_reduction_ms": search["scheduled_reduction_ms"],
                "candidates": [{k: v for k, v in c.items() if k != "origin"} for c in sorted(
                    candidates, key=lambda c: c["group"])],
                "nodes_measured_on_the_spot": self.estimator.measured_on_the_spot,
                "search_probes": search["probes"],
                "seconds": timer.seconds}
        info = self._write_iteration(i + 1, best_model, spec, info)
        self.log(f"iteration {i + 1}: pruned {best['group']} to {best['channels']} channels; "
                 f"predicted {best['predicted_ms']:.3f} ms, measured {info['measured_ms']:.3f} ms, "
                 f"holdout accuracy {best['holdout_accuracy']:.4f}")
        return info, best_model

    def _halp_iteration(self, i, state, model, spec, start_ms, budget_ms, original):
        """One global step (``netadapt.algorithm.halp``): every group cut at once to the counts whose most
        important channels fit the iteration's target, then one fine-tune as long as the candidates of a
        NetAdapt iteration take together. Its search and its fine-tuned network are kept in the iteration's
        partial folder, so a resumed run reuses them."""
        import dataclasses as dc

        from netadapt.algorithm.halp import halp_counts, keep_most_important
        from netadapt.criteria.taylor import taylor_scores
        from netadapt.data.loader import first_batches

        cfg = self.config
        timer = _Timer()
        graph = analyze(model, self.input_shape, validate=False, frozen=self.frozen)
        partial = rf.partial_dir(self.out, i + 1)
        partial.mkdir(exist_ok=True)
        path = partial / "search.json"
        if path.exists():
            search = rf.read_json(path)
        else:
            with timer.phase("search"):
                importance = taylor_scores(model, graph.groups, first_batches(
                    self.data.train, HALP_BATCHES, cfg.finetune.batch_size, _seed(cfg.seed, i, "criterion")))
                estimates = self._estimates(i, state, model, graph, original)
                floor = self._floor(state, self._stop_line(budget_ms))
                scheduled = reduction = cfg.schedule.reduction_ms(i, start_ms)
                while True:
                    target = max(state["measured_ms"] - reduction, floor)
                    found = halp_counts(estimates, importance, original, cfg.channel_step, target)
                    if found is not None or reduction / 2 < SMALLEST_STEP * start_ms:
                        break
                    reduction /= 2
            search = {"target_ms": target, "reduction_ms": reduction, "scheduled_reduction_ms": scheduled,
                      "probes": estimates.probes, "found": found,
                      "keep": None if found is None else keep_most_important(importance, found["channels"])}
            rf.write_json(path, search)
        found = search["found"]
        if found is None:
            return None, model
        done = partial / "halp.json"
        if done.exists():
            cand = rf.read_json(done)
        else:
            with timer.phase("prune"):
                pruned = copy.deepcopy(model)
                keep_channels(pruned, graph, search["keep"])
                origin = {**state["origin"], **{g: [state["origin"][g][k] for k in keep]
                                                for g, keep in search["keep"].items()}}
                rewinder = create_rewinder(cfg.rewinder, spec=spec, input_shape=self.input_shape,
                                           run_dir=self.out, config=cfg, rewind=self._rewind_file())
                overrides = rewinder.apply(pruned, origin)
            network = {**state["channels"], **found["channels"]}
            job = CandidateJob(group="halp", channels=sum(network.values()), predicted_ms=found["predicted_ms"],
                               origin=[], network=network, overrides=overrides, seed=_seed(cfg.seed, i, "halp"),
                               bn_seed=_seed(cfg.seed, i, "batchnorm"))
            # one fine-tune as long as a NetAdapt iteration's candidates (one per group) take together
            steps = cfg.finetune.short_steps * len(graph.groups)
            longer = dc.replace(cfg, finetune=dc.replace(cfg.finetune, short_steps=steps))
            from netadapt.algorithm.candidates import train_and_score

            cand, seconds = train_and_score(pruned, job, longer, self._resources())
            for phase, value in seconds.items():
                timer.seconds[phase] = timer.seconds.get(phase, 0.0) + value
            cand = {**cand, "origin": origin, "finetune_steps": steps}
            save_state(partial / "halp.pt", pruned.state_dict(), spec, self.input_shape, channels=network)
            rf.write_json(done, cand)
        best_model = load_checkpoint(partial / "halp.pt").model
        changed = sorted(found["channels"])
        groups = f"{len(changed)} group{'s' if len(changed) > 1 else ''}"
        info = {"iteration": i + 1, "pruned_group": f"{groups} (halp)", "pruned_groups": changed,
                "channels": {**state["channels"], **found["channels"]}, "origin": cand["origin"],
                "holdout_accuracy": cand["holdout_accuracy"], "holdout_loss": cand.get("holdout_loss"),
                "holdout_kl": cand.get("holdout_kl"), "predicted_ms": found["predicted_ms"],
                "target_ms": search["target_ms"], "reduction_ms": search["reduction_ms"],
                "scheduled_reduction_ms": search["scheduled_reduction_ms"],
                "lost_importance": found["lost_importance"], "finetune_steps": cand["finetune_steps"],
                "nodes_measured_on_the_spot": self.estimator.measured_on_the_spot,
                "search_probes": search["probes"], "seconds": timer.seconds}
        info = self._write_iteration(i + 1, best_model, spec, info)
        self.log(f"iteration {i + 1}: cut {groups} ({', '.join(changed)}); predicted "
                 f"{found['predicted_ms']:.3f} ms, measured {info['measured_ms']:.3f} ms, holdout accuracy "
                 f"{cand['holdout_accuracy']:.4f}")
        return info, best_model

    def _prune_candidates(self, i, groups, search, state, model, graph, rewinder, timer):
        """Prune a copy of ``model`` for each group, one at a time as the executor asks for them: criteria and
        rewinders run here, in order, so a candidate is the same whichever worker fine-tunes it."""
        cfg = self.config
        for g in groups:
            count, predicted = search["groups"][g]["channels"], search["groups"][g]["predicted_ms"]
            with timer.phase("prune"):
                cand_model = copy.deepcopy(model)
                keep = self.criterion.select(cand_model, graph.groups[g], count)
                keep_channels(cand_model, graph, {g: keep})
                origin = [state["origin"][g][k] for k in keep]
                overrides = rewinder.apply(cand_model, {**state["origin"], g: origin})
            yield CandidateJob(group=g, channels=count, predicted_ms=predicted, origin=origin,
                               network={**state["channels"], g: count}, overrides=overrides,
                               seed=_seed(cfg.seed, i, g), bn_seed=_seed(cfg.seed, i, "batchnorm")), cand_model

    def _shared_inputs(self, spec) -> SharedInputs:
        """What a worker needs to rebuild the data and the teacher, as plain data (made once per run)."""
        if getattr(self, "_shared", None) is None:
            teacher = None
            if needs_teacher(self.config) and not isinstance(self.executor, InProcess):
                start = load_checkpoint(rf.iteration_dir(self.out, 0) / "model.pt")
                teacher = (start.channels, start.model.state_dict())
            self._shared = SharedInputs(self.config, spec.to_dict(), tuple(self.input_shape), teacher,
                                        self.execution.train_device)
        return self._shared

    def _resources(self) -> Resources:
        """This process's own data, holdout and teacher, for candidates fine-tuned here."""
        return Resources(self.data, self.holdout, self._teacher() if needs_teacher(self.config) else None,
                         self.execution.train_device)

    def _value(self, info: dict) -> float:
        """A candidate's (or iteration's) holdout score, higher is better."""
        key = self.config.score
        if key == "accuracy":
            return info["holdout_accuracy"]
        value = info.get(f"holdout_{key}")
        return -value if value is not None and value == value else float("-inf")

    def _teacher(self):
        """The starting model (iteration 0), loaded once: the teacher of distillation and the reference of
        the 'kl' score."""
        if getattr(self, "_start_model", None) is None:
            self._start_model = load_checkpoint(rf.iteration_dir(self.out, 0) / "model.pt").model.eval()
        return self._start_model

    def _final(self, state, model, spec, budget_ms) -> dict:
        from netadapt.training import TrainConfig, evaluate, train

        done = rf.final_dir(self.out) / "info.json"
        if done.exists():
            stored = rf.read_json(done)
            if stored["from_iteration"] == state["iteration"]:
                return stored
            # the run went on past an earlier stop (e.g. a raised --max-iterations): redo the final
            # step; publishing replaces the old folder safely
        cfg = self.config
        timer = _Timer()
        tmp = rf.fresh_tmp_dir(self.out, "final")
        final_model = copy.deepcopy(model)
        if cfg.finetune.long_epochs > 0:
            self.log(f"Long-term fine-tune: {cfg.finetune.long_epochs} epochs.")
            with timer.phase("finetune"):
                train(final_model, self.data,
                      TrainConfig(epochs=cfg.finetune.long_epochs, lr=cfg.finetune.long_lr,
                                  batch_size=cfg.finetune.batch_size, seed=cfg.seed, distill=cfg.finetune.distill,
                                  distill_temperature=cfg.finetune.temperature),
                      out_dir=self.out / "final_train", progress=self.progress, resume=True,
                      teacher=self._teacher() if cfg.finetune.distill > 0 else None,
                      device=self.execution.train_device)
        with timer.phase("evaluate"):
            test_acc = evaluate(final_model, self.data.test)
            holdout_acc = evaluate(final_model, self.holdout)
        with timer.phase("export_measure"):
            measurement = self._export_and_measure(final_model, tmp)
            start = rf.iteration_dir(self.out, 0) / "model.onnx"
            if measurement.get("verdict") not in (None, "met") and self._met(state, budget_ms):
                from netadapt.latency.paired import MAX_PAIRS_NEAR_LINE

                # the same architecture was decided within the budget: time it longer before saying otherwise
                measurement.update(self._compare(tmp / "model.onnx", start, rf.read_json(
                    rf.iteration_dir(self.out, 0) / "info.json")["measured_ms"], budget_ms,
                    max_pairs=MAX_PAIRS_NEAR_LINE))
                measurement["remeasured"] = True
            if state["iteration"] > 0:  # the same architecture as its iteration: a ratio near 1
                same = self._compare(tmp / "model.onnx", rf.iteration_dir(self.out, state["iteration"]) /
                                     "model.onnx", 1.0, None)
                measurement.update({"ratio_to_iteration": same["ratio"],
                                    "ratio_to_iteration_low": same["measured_low_ms"],
                                    "ratio_to_iteration_high": same["measured_high_ms"]})
        self._note_table_estimates(final_model, measurement)
        info = {**measurement, "from_iteration": state["iteration"], "channels": state["channels"],
                "budget_ms": budget_ms, "budget_met": self._met(measurement, budget_ms),
                "test_accuracy": test_acc, "holdout_accuracy": holdout_acc,
                "device": self.device.fingerprint(), "seconds": timer.seconds}
        save_checkpoint(tmp / "model.pt", final_model, spec, self.input_shape,
                        channels=state["channels"], extra={"final": True})
        rf.write_json(tmp / "info.json", info)
        rf.publish(tmp, rf.final_dir(self.out))
        shutil.rmtree(self.out / "final_train", ignore_errors=True)
        return info

    def _write_summary(self, history, final, budget_ms, stopped):
        rows = [{"iteration": h["iteration"], "pruned_group": h.get("pruned_group") or "",
                 "predicted_ms": h.get("predicted_ms"), "measured_ms": h["measured_ms"],
                 "table_ms": h.get("table_ms"), "calibrated_ms": h.get("calibrated_ms"),
                 "holdout_accuracy": h["holdout_accuracy"],
                 "total_channels": sum(h["channels"].values())} for h in history]
        rf.write_json(self.out / "summary.json", {"budget_ms": budget_ms, "stopped": stopped,
                                                  "iterations": rows, "final": final})
        tmp = self.out / ".summary.csv.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.out / "summary.csv")
