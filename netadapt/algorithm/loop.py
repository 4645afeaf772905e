"""The NetAdapt loop with its run folder: every step is skipped if its output exists, so re-running the same
command resumes a killed run, down to the candidates already fine-tuned in an iteration.

The loop prunes, measures and selects; what the network is for (where its starting weights come from, how a
candidate is trained and scored) is the task's (``netadapt.task.adapter.LoopTask``): the user's own
``netadapt.Task``, or image classification on netadapt's data sources (``netadapt run``'s default).
"""

from __future__ import annotations

import copy
import csv
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from netadapt.algorithm import halp_step, netadapt_step, stopping
from netadapt.config.budget import parse_budget
from netadapt.config.run import RESUMABLE_KEYS, SCORES, ExecutionConfig, RunConfig
from netadapt.config.run import upgrade as upgrade_settings
from netadapt.algorithm.executors import create_executor
from netadapt.algorithm.measure import Measurer
from netadapt.algorithm.search import smallest_network_ms
from netadapt.algorithm.selection import SELECTIONS
from netadapt.algorithm.state import Current
from netadapt.algorithm.timer import Timer
from netadapt.algorithm.timer import split as timer_split
from netadapt.criteria import create_criterion
from netadapt.errors import UserError
from netadapt.latency import calibration
from netadapt.latency.estimator import LatencyEstimator
from netadapt.pruning import analyze
from netadapt.runs import folder as rf

# Re-exported for callers that read the loop's constants from here.
DRIFT_MARGIN = stopping.DRIFT_MARGIN
SMALLEST_STEP = netadapt_step.SMALLEST_STEP
# What a search step of each kind runs.
STEPS = {"netadapt": netadapt_step.iterate, "halp": halp_step.iterate}


@dataclass
class RunResult:
    run_dir: Path
    iterations: list[dict]
    final: dict | None
    budget_ms: float
    stopped: str


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
        task: what the network is for (default: classification on ``config``'s model and data).
        verbose: say where each iteration's time went (search, fine-tune, score, measure).
    """

    def __init__(self, config: RunConfig, out, lut: str | None = None, progress: bool = True, log=print,
                 execution: ExecutionConfig | None = None, task=None, verbose: bool = False):
        from netadapt.task.classification import ClassificationTask

        self.config = config
        self.execution = execution or ExecutionConfig()
        self.out = Path(out)
        self.lut = lut
        self.progress = progress
        self.log = log
        self.verbose = verbose
        self.last_estimates = None  # (iteration, CandidateEstimates): what the next search takes over
        self.analysed = None  # (network, its analysis): the kept network's, checked when it was chosen
        self.task = task if task is not None else ClassificationTask(config, self.execution.train_device)
        self.score_keys = self.task.score_keys

    # ---- set-up ---------------------------------------------------------------------------------------------
    def _setup(self):
        from devices import usable_device
        from lut.table import LatencyTable
        from profilers import ProfileConfig, get_profiler

        cfg, ex = self.config, self.execution
        self.budget = parse_budget(cfg.budget)
        create_criterion(cfg.criterion)  # fail early on unknown plug-in names
        for value, valid, what in ((cfg.selection, SELECTIONS, "selection"), (cfg.score, SCORES, "score"),
                                   (cfg.search, tuple(STEPS), "search")):
            if value not in valid:
                raise UserError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")
        if cfg.finetune.reconstruct and (cfg.search != "netadapt" or cfg.rewinder != "none"):
            raise UserError("--reconstruct refits the candidates of --search netadapt from the current weights: it "
                            "takes no rewinder and no other search")
        # a GPU this PyTorch cannot reach, too few GPUs for the workers, or a cluster that does not answer fail
        # here, before anything is written
        self.executor = create_executor(ex.executor, ex.workers, ex.ray_address, task=self.task,
                                        train_device=ex.train_device)
        self.device = usable_device(cfg.device, threads=cfg.threads, gpu_id=cfg.gpu_id)
        self.exact = bool(getattr(self.device, "exact", False))
        self.table = LatencyTable(self.lut)
        self.task.check(self.log)  # everything the user named is checked before the run folder is created
        self.input_shape = self.task.input_shape
        if not (self.out / "iter_000" / "info.json").exists():
            # what cannot be pruned is said before any work (training a base model included)
            self.frozen = self._check_prunable()
        rf.prepare_run_dir(self.out, cfg.to_dict(), ignore=RESUMABLE_KEYS, upgrade=upgrade_settings)
        self.task.prepare_folder(self.out, self.log)
        from netadapt.config.run import to_toml

        (self.out / "run.toml").write_text(to_toml(cfg))  # `netadapt run --config <it>` runs the same again
        layer_profiler = get_profiler(self.device, ProfileConfig(warmup=cfg.warmup, repeats=cfg.repeats))
        model_profiler = get_profiler(self.device, ProfileConfig(warmup=cfg.warmup, repeats=cfg.model_repeats))
        self.estimator = LatencyEstimator(self.table, self.device, layer_profiler, progress=False,
                                          deploy=self.task.deploy)
        self.measurer = Measurer(self.device, self.table, self.estimator, model_profiler, self.input_shape,
                                 warmup=cfg.warmup, repeats=cfg.model_repeats, deploy=self.task.deploy, log=self.log)
        self.criterion = create_criterion(cfg.criterion, seed=cfg.seed)

    def _check_prunable(self) -> dict[str, str]:
        """Analyse the (untrained or given) model: refuse it when nothing can be pruned, and list the groups
        that are frozen. Returns the frozen groups with their reasons."""
        graph = analyze(self.task.candidate_model(), self.input_shape, ignore=self.task.ignore)
        for name, why in graph.frozen.items():
            self.log(f"Frozen (not pruned): {name}: {why}")
        return graph.frozen

    def samples(self):
        """The training inputs every candidate's cut layers are refit on (``FineTuneConfig.reconstruct``), drawn
        once per run from its seed."""
        if getattr(self, "_samples", None) is None:
            self._samples = self.task.hooks.samples(self.config.finetune.reconstruct, self.config.seed)
        return self._samples

    # ---- stop rules on this run's device and budget -----------------------------------------------------
    def stop_line(self) -> float:
        return stopping.stop_line(self.budget_ms, self.exact)

    def floor(self, state: Current) -> float:
        return stopping.floor(state.record, self.stop_line(), self.exact)

    # ---- the loop -------------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        self._setup()
        try:
            return self._run()
        finally:
            self.executor.close()

    def _run(self) -> RunResult:
        history, model, start_ms, original = self._resume()
        budget_ms = self.budget_ms
        stopped, model = self._iterate(history, model, start_ms, budget_ms, original)
        state = Current.of(history[-1])
        self.log(f"Stopped after iteration {state.iteration}: {stopped}.")
        final = self._final(state, model, budget_ms)
        if stopped == "budget met" and not final["budget_met"]:
            stopped = (f"budget met at iteration {state.iteration}, but the final model's measurement "
                       f"({final.get('measurement', '')}) does not confirm it")
        self._write_summary(history, final, budget_ms, stopped)
        refitted = calibration.refit(self.table, self.device.fingerprint()) if self.measurer.record_models else None
        if refitted is not None:
            self.log(f"Calibration of {self.device.name} refitted on the {refitted.models} whole models it has "
                     f"measured (stored in the lookup table; see `netadapt lut check`).")
        return RunResult(self.out, history, final, budget_ms, stopped)

    def _resume(self) -> tuple[list[dict], nn.Module, float, dict]:
        """The run folder's iterations so far (the start model measured first if there is none), the last
        one's network, the start's latency and its channel counts; the budget resolved, the task started and,
        before the first iteration, the budget checked against the smallest network on the grid."""
        last = rf.last_iteration(self.out)
        if last is None:
            self._start()
            last = 0
        first = rf.read_json(rf.iteration_dir(self.out, 0) / "info.json")
        self.frozen = first.get("frozen_groups", {})
        start_ms = first["measured_ms"]
        self.budget_ms = self.budget.resolve(start_ms)
        original = first["original_channels"]
        history = [rf.read_json(rf.iteration_dir(self.out, k) / "info.json") for k in range(last + 1)]
        model = self.task.checkpoints.load(rf.iteration_dir(self.out, last) / "model.pt")
        if self.task.needs_start:
            start = model if last == 0 else self.task.checkpoints.load(rf.iteration_dir(self.out, 0) / "model.pt")
            self.task.start(start, first["channels"])
        if last == 0:
            self._check_floor(Current.of(history[-1]), model, original, start_ms)
        self.log(f"Start: {start_ms:.3f} ms measured; budget {self.budget} = {self.budget_ms:.3f} ms.")
        return history, model, start_ms, original

    def _iterate(self, history: list[dict], model, start_ms: float, budget_ms: float, original: dict):
        """Iterations until a stop rule says stop, each record appended to ``history``: (why it stopped, the
        last network)."""
        from tqdm.auto import tqdm

        cfg, state = self.config, Current.of(history[-1])
        stopped = "budget met" if stopping.stops(state.record, budget_ms, self.exact) else ""
        step = STEPS[cfg.search]
        bar = tqdm(total=None, desc="NetAdapt iterations", disable=not self.progress, initial=state.iteration,
                   unit="it")
        while not stopped:
            i = state.iteration
            if i >= cfg.max_iterations:
                stopped = f"reached --max-iterations {cfg.max_iterations}"
                break
            try:
                record, model = step(self, i, state, model, start_ms, budget_ms, original)
            except netadapt_step.AllDropped as exc:
                stopped = f"every candidate of iteration {i + 1} was dropped ({exc})"
                break
            if record is None:
                # met, though not by the drift margin: nothing smaller to try, so the final measurement decides
                stopped = "budget met" if stopping.met(state.record, budget_ms) else \
                    "no layer can shrink further to meet the next target"
                break
            history.append(record)
            state = Current.of(record)
            bar.update(1)
            bar.set_postfix_str(f"{state.measured_ms:.3f} ms, score {self.task.value(state.record):.3f}")
            if stopping.stops(state.record, budget_ms, self.exact):
                stopped = "budget met"
        bar.close()
        return stopped, model

    def _start(self) -> None:
        """Iteration 0: the starting model, scored and measured alone."""
        model = self.task.start_model(self.out, self.log, self.progress)
        graph = analyze(model, self.input_shape, validate=False, frozen=self.frozen)
        t0 = time.perf_counter()
        scores = self.task.scores(model)
        info = {"iteration": 0, "channels": graph.sizes(), "original_channels": graph.sizes(),
                "frozen_groups": graph.frozen, "origin": {g: list(range(n)) for g, n in graph.sizes().items()},
                **scores, "pruned_group": None, "predicted_ms": None, "target_ms": None,
                "seconds": {"evaluate": time.perf_counter() - t0}}
        self.log(f"Measuring the starting model on {self.config.device} ...")
        self.write_iteration(0, model, info)

    def _check_floor(self, state: Current, model, original: dict, start_ms: float) -> None:
        """Refuse a budget that the smallest network on the channel grid cannot meet: when the table's estimate
        of that network is over the budget, it is built and measured against the start, and the budget is
        refused only when the measurement says it misses (one line, with both figures)."""
        import tempfile

        from netadapt.algorithm.search import smallest_counts
        from netadapt.pruning import shrunk_copy

        graph = analyze(model, self.input_shape, validate=False, frozen=self.frozen)
        lowest = smallest_network_ms(netadapt_step.estimates(self, 0, state, model, graph, original), original,
                                     self.config.channel_step)
        if self.budget_ms >= lowest:
            return
        smallest = shrunk_copy(model, graph, smallest_counts(graph, original, self.config.channel_step))
        with tempfile.TemporaryDirectory() as tmp:
            measured = self.measurer.against_start(self.measurer.export(smallest, Path(tmp)),
                                                   rf.iteration_dir(self.out, 0), self.budget_ms)
        if measured["verdict"] == stopping.NOT_MET:
            raise UserError(f"budget {self.budget} ({self.budget_ms:.3f} ms) is below what the smallest network on "
                            f"the channel grid reaches: it measures {measured['measured_ms']:.3f} ms (estimated "
                            f"{lowest:.3f} ms; the start measured {start_ms:.3f} ms)")
        self.log(f"The table puts the smallest network on the channel grid at about {lowest:.3f} ms, over the "
                 f"budget, but it measures {measured['measured_ms']:.3f} ms: the run goes on.")

    # ---- writing what an iteration made -----------------------------------------------------------------
    def write_iteration(self, i: int, model, info: dict, began: float | None = None, refuse=None) -> dict:
        """Export, measure and publish iteration ``i``'s network with its record ``info`` (``began``: when the
        iteration started, for its wall time). ``refuse``: given the measurement, why the network must not be
        kept (or None); a refused network is not published and its record comes back with ``refused``."""
        tmp = rf.fresh_tmp_dir(self.out, f"iter_{i:03d}")
        timer = Timer(info.get("seconds", {}))
        with timer.phase("export_measure"):
            onnx_path = self.measurer.export(model, tmp)
            start = rf.iteration_dir(self.out, 0)
            if i == 0:
                info.update(self.measurer.measure_alone(onnx_path))
            else:
                info.update(self.measurer.against_start(onnx_path, start, self.budget_ms))
        why = refuse(info) if refuse is not None and i > 0 else None
        if why is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            return {**info, "refused": why}
        self.measurer.note_table_estimates(onnx_path, info)
        if began is not None:
            timer.seconds["wall"] = time.perf_counter() - began
        info["seconds"] = timer.seconds
        if self.verbose and i > 0:
            parts = timer_split(timer.seconds)
            self.log(f"iteration {i} took {parts['wall']:.1f} s: search {parts['search']:.1f} s, fine-tune "
                     f"{parts['finetune']:.1f} s, score {parts['score']:.1f} s, measure {parts['measure']:.1f} s")
        self.task.checkpoints.save(tmp / "model.pt", model.state_dict(), info["channels"], extra={"iteration": i})
        rf.write_json(tmp / "info.json", info)
        rf.publish(tmp, rf.iteration_dir(self.out, i))
        shutil.rmtree(rf.partial_dir(self.out, i), ignore_errors=True)
        return info

    def _final(self, state: Current, model, budget_ms: float) -> dict:
        """The chosen network after the task's long-term fine-tune, measured against the budget."""
        done = rf.final_dir(self.out) / "info.json"
        if done.exists():
            stored = rf.read_json(done)
            if stored["from_iteration"] == state.iteration:
                return stored
            # the run went on past an earlier stop (e.g. a raised --max-iterations): redo the final
            # step; publishing replaces the old folder safely
        timer = Timer()
        tmp = rf.fresh_tmp_dir(self.out, "final")
        final_model = copy.deepcopy(model)
        fields, seconds = self.task.final(final_model, self.out, self.progress, self.log)
        timer.add(seconds)
        start = rf.iteration_dir(self.out, 0)
        with timer.phase("export_measure"):
            onnx_path = self.measurer.export(final_model, tmp)
            measurement = self.measurer.against_start(onnx_path, start, budget_ms)
            if measurement.get("verdict") not in (None, "met") and stopping.met(state.record, budget_ms):
                from netadapt.latency.paired import MAX_PAIRS_NEAR_LINE

                # the same architecture was decided within the budget: time it longer before saying otherwise
                measurement.update(self.measurer.compare(onnx_path, start / "model.onnx", rf.read_json(
                    start / "info.json")["measured_ms"], budget_ms, max_pairs=MAX_PAIRS_NEAR_LINE))
                measurement["remeasured"] = True
            if state.iteration > 0:  # the same architecture as its iteration: a ratio near 1
                same = self.measurer.compare(onnx_path, rf.iteration_dir(self.out, state.iteration) /
                                             "model.onnx", 1.0, None)
                measurement.update({"ratio_to_iteration": same["ratio"],
                                    "ratio_to_iteration_low": same["measured_low_ms"],
                                    "ratio_to_iteration_high": same["measured_high_ms"]})
        self.measurer.note_table_estimates(onnx_path, measurement)
        info = {**measurement, "from_iteration": state.iteration, "channels": state.channels,
                "budget_ms": budget_ms, "budget_met": stopping.met(measurement, budget_ms), **fields,
                "device": self.device.fingerprint(), "seconds": timer.seconds}
        self.task.checkpoints.save(tmp / "model.pt", final_model.state_dict(), state.channels, extra={"final": True})
        rf.write_json(tmp / "info.json", info)
        rf.publish(tmp, rf.final_dir(self.out))
        shutil.rmtree(self.out / "final_train", ignore_errors=True)
        return info

    def _write_summary(self, history, final, budget_ms, stopped):
        rows = [{"iteration": h["iteration"], "pruned_group": h.get("pruned_group") or "",
                 "predicted_ms": h.get("predicted_ms"), "measured_ms": h["measured_ms"],
                 "table_ms": h.get("table_ms"), "calibrated_ms": h.get("calibrated_ms"),
                 **{k: h.get(k) for k in self.task.summary_keys},
                 "total_channels": sum(h["channels"].values())} for h in history]
        seconds = [{"iteration": h["iteration"], **timer_split(h.get("seconds") or {})} for h in history[1:]]
        rf.write_json(self.out / "summary.json", {"budget_ms": budget_ms, "stopped": stopped,
                                                  "score": self.task.score_label, "iterations": rows,
                                                  "seconds": seconds, "final": final})
        tmp = self.out / ".summary.csv.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.out / "summary.csv")
