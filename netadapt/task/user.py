"""The user's own task (``netadapt.Task``) as the loop sees it: their model, loop and metric, called safely.

netadapt copies the user's model once and never changes it or its train/eval mode. Every candidate is a pruned
copy of that copy, given to ``train(copy, steps)`` and ranked by ``evaluate(copy)``; torch, NumPy and ``random``
are seeded before each call from the run's seed, the iteration and the group, so a deterministic loop gives the
same run again, resumed or not.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
from torch import nn

from netadapt.config.run import RunConfig
from netadapt.errors import UserError, first_line
from netadapt.inputs import ExampleInputs, shape_text
from netadapt.runs import folder as rf
from netadapt.seeding import derive_seed
from netadapt.task import fingerprint as fp
from netadapt.task.adapter import CandidateJob, LoopTask
from netadapt.task.base import Task
from netadapt.task.calls import TaskError, accepts, as_score, invoke, qualified_name
from netadapt.task.checkpoints import TaskCheckpoints
from netadapt.task.hooks import UserHooks

TASK_FILE = "task.json"


class UserTask(LoopTask):
    """A :class:`~netadapt.task.Task` in the loop.

    Args:
        task: the user's task.
        config: the run's settings (seed, short- and long-term steps, criterion, batch-norm batches).
        train_device: where ``train`` and ``evaluate`` get the model (a torch device name).
    """

    score_label = "score"

    def __init__(self, task: Task, config: RunConfig, train_device: str = "cpu"):
        self.model = copy.deepcopy(task.model).eval()  # netadapt's own copy: the user's is never touched
        self.input_shape = ExampleInputs.of(task.example_inputs, self.model)
        self.ignore = tuple(task.ignored_names())
        self.train, self.evaluate, self.calibrate = task.train, task.evaluate, task.calibrate
        self.loss, self.batches, self.deploy = task.loss, task.batches, task.deploy
        self.config = config
        self.use_device(train_device)
        self.callables = {name: qualified_name(getattr(task, name))
                          for name in ("train", "evaluate", "calibrate", "loss", "deploy") if getattr(task, name)}
        # after the callables: a part that does not pickle is named by its own name (executors.task_payload)
        self.checkpoints = TaskCheckpoints(self.model, self.input_shape)
        self.hooks = UserHooks(self.loss, self.batches, self.input_shape)
        self._teacher = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_teacher"] = None  # a worker makes its own
        return state

    # ---- before the run folder exists ---------------------------------------------------------------------
    def check(self, log) -> None:
        """Refuse, before any work, inputs that do not run through the model and options the task cannot serve."""
        self._refuse_options()
        args = self.input_shape.tensors
        try:
            with torch.no_grad():
                out = self.model(*args)
        except Exception as exc:  # the user's forward: the reason matters, not its type
            first = first_line(exc, 300)
            raise UserError(f"example_inputs ({shape_text(self.input_shape)}) do not run through the model: "
                            f"{type(exc).__name__}: {first}") from exc
        from netadapt.pruning.dependency import output_tensors

        if not output_tensors(out):
            raise UserError(f"the model returns {type(out).__name__} with no tensor in it; netadapt times and "
                            "exports models whose outputs are tensors (or tuples, lists and dicts of them)")
        if self.deploy is not None:
            deployed = invoke("deploy", self.deploy, self.model)
            if not isinstance(deployed, nn.Module):
                raise TaskError(f"deploy returned {type(deployed).__name__}, not a torch.nn.Module", "deploy")
            try:
                with torch.no_grad():
                    deployed(*args)
            except Exception as exc:  # the user's module
                first = first_line(exc, 300)
                raise UserError(f"the module deploy returns does not run on example_inputs: {first}") from exc

    def _refuse_options(self) -> None:
        cfg = self.config
        own = "netadapt's own classification data"
        if cfg.finetune.distill > 0:
            raise UserError(f"distill needs {own}; to distil, accept a teacher keyword in train(model, steps, "
                            "teacher=...): netadapt passes the start model")
        if cfg.score != "accuracy":
            raise UserError(f"score {cfg.score!r} needs {own}; candidates are ranked by evaluate")
        if cfg.rewinder != "none":
            raise UserError(f"rewinder {cfg.rewinder!r} needs netadapt's own training; your train owns the weights")
        if cfg.bn_batches and self.calibrate is None:
            raise UserError("bn_batches needs a calibrate(model) callable (e.g. re-estimating batch-norm statistics "
                            "on your training batches)")
        from netadapt.criteria import create_criterion

        if cfg.search == "halp" and self.loss is None:
            raise UserError("search 'halp' ranks channels by Taylor importance: it needs loss(model, batch) and "
                            "batches")
        if hasattr(create_criterion(cfg.criterion), "prepare") and self.loss is None:
            raise UserError(f"criterion {cfg.criterion!r} needs gradients: give loss(model, batch) and batches")

    def candidate_model(self) -> nn.Module:
        return self.model

    # ---- the run folder -------------------------------------------------------------------------------------
    def prepare_folder(self, out: Path, log) -> None:
        """Record the model's fingerprint, the inputs and the callables in ``task.json``; resuming, refuse another
        model or other inputs, and warn when a callable's name changed."""
        path = Path(out) / TASK_FILE
        record = {"fingerprint": fp.fingerprint(self.model), "inputs": self.input_shape.to_dict(),
                  "callables": self.callables}
        if not path.exists():
            rf.write_json(path, record)
            return
        stored = rf.read_json(path)
        fp.check_same(stored["fingerprint"], self.model, out)
        if stored["inputs"] != record["inputs"]:
            raise UserError(f"{out} holds a run at other example_inputs ({stored['inputs']}); use another out "
                            "folder, or the same inputs to resume it")
        changed = sorted(k for k in set(stored["callables"]) | set(self.callables)
                         if stored["callables"].get(k) != self.callables.get(k))
        if changed:
            log(f"Warning: {', '.join(changed)} changed since the run started ("
                + "; ".join(f"{k}: {stored['callables'].get(k)} -> {self.callables.get(k)}" for k in changed)
                + "); resuming with them")

    def start_model(self, out: Path, log, progress: bool) -> nn.Module:
        return copy.deepcopy(self.model)

    def teacher(self) -> nn.Module:
        if self._teacher is None:
            self._teacher = copy.deepcopy(self.model).eval().requires_grad_(False)
        return self._teacher

    # ---- scoring and training -------------------------------------------------------------------------------
    def _evaluate(self, model: nn.Module, seed: int) -> dict:
        score, metrics = as_score(invoke("evaluate", self.evaluate, model, seed=seed))
        return {"score": score, "metrics": metrics}

    def scores(self, model: nn.Module) -> dict:
        from netadapt.training.device import placed, training_device

        with placed(training_device(self.train_device), model):
            return self._evaluate(model, derive_seed(self.config.seed, 0, "evaluate"))

    def value(self, info: dict) -> float:
        return info["score"]

    def _train(self, model: nn.Module, steps: int, seed: int) -> None:
        if steps > 0:
            extra = {"teacher": self.teacher()} if accepts(self.train, "teacher") else {}
            invoke("train", self.train, model, steps, seed=seed, **extra)

    def candidate(self, model: nn.Module, job: CandidateJob) -> tuple[dict, dict]:
        from netadapt.training.device import placed, training_device

        steps = self.config.finetune.short_steps if job.steps is None else job.steps
        seconds = {}
        teacher = self.teacher() if accepts(self.train, "teacher") else None
        with placed(training_device(self.train_device), model, teacher):
            t0 = time.perf_counter()
            self._train(model, steps, job.seed)
            t1 = time.perf_counter()
            seconds["finetune"] = t1 - t0
            if self.config.bn_batches:
                invoke("calibrate", self.calibrate, model, seed=job.bn_seed)
            record = {"group": job.group, "feasible": True, "channels": job.channels,
                      "predicted_ms": job.predicted_ms, "origin": job.origin}
            try:
                record.update(self._evaluate(model, derive_seed(job.seed, "evaluate")))
            except TaskError as exc:
                if exc.details:  # evaluate raised: the run stops there, with the traceback
                    raise
                record.update({"feasible": False, "dropped": str(exc)})  # NaN or not a number: this one only
            seconds["evaluate"] = time.perf_counter() - t1
        return record, seconds

    def final(self, model: nn.Module, out: Path, progress: bool, log) -> tuple[dict, dict]:
        from netadapt.training.device import placed, training_device

        steps = self.config.finetune.long_steps or 0
        seconds = {}
        teacher = self.teacher() if accepts(self.train, "teacher") else None
        with placed(training_device(self.train_device), model, teacher):
            if steps > 0:
                log(f"Long-term fine-tune: {steps} steps.")
                t0 = time.perf_counter()
                self._train(model, steps, derive_seed(self.config.seed, "final"))
                seconds["finetune"] = time.perf_counter() - t0
            else:
                log("No long-term fine-tune (long_term_steps 0): the final network is the last iteration's.")
            t0 = time.perf_counter()
            fields = self._evaluate(model, derive_seed(self.config.seed, "final", "evaluate"))
            seconds["evaluate"] = time.perf_counter() - t0
        return fields, seconds
