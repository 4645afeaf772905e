"""The public verbs: ``netadapt.prune`` a model of any task against a latency budget, ``netadapt.load`` a
pruned model back.

Example::

    import netadapt

    result = netadapt.prune(model, example_inputs, budget="80%", train=train, evaluate=evaluate,
                            out="runs/mine", device="cpu", short_term_steps=20, long_term_steps=500)
    print(result.measured_ms, result.budget_ms, result.met)
    smaller = result.model                                # the final, long-term fine-tuned network
    again = netadapt.load("runs/mine", MyNet())           # rebuilt from a fresh instance of the class
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from netadapt.config.run import EXECUTION, SETTINGS, ExecutionConfig, RunConfig
from netadapt.errors import UserError
from netadapt.task.base import Task

#: ``netadapt run`` options that belong to its own classification task: a user's loop and metric own these.
CLASSIFICATION_ONLY = ("model_args", "checkpoint", "data", "holdout", "eval_limit", "base_epochs", "rewind_iteration",
                       "split_seed", "short_term_lr", "long_term_lr", "long_term_epochs", "batch_size",
                       "distill_temperature", "reconstruct")
#: Where a run's work happens; it never changes the result.


@dataclass(frozen=True)
class IterationRecord:
    """One model of a run: the start (iteration 0) or the network an iteration kept.

    Attributes:
        iteration: its number (0: the start).
        pruned_group: the channel group it cut (None for the start).
        channels: every group's channel count.
        predicted_ms: the table's estimate before it was measured (None for the start).
        measured_ms: its latency measured on the device.
        score: what ``evaluate`` returned for it (higher is better).
        metrics: the other numbers ``evaluate`` returned.
        onnx: its exported model.
    """

    iteration: int
    pruned_group: str | None
    channels: dict[str, int]
    predicted_ms: float | None
    measured_ms: float
    score: float
    metrics: dict[str, float]
    onnx: Path


@dataclass
class PruneResult:
    """What ``prune`` made.

    Attributes:
        model: the final network, after the long-term fine-tune.
        measured_ms: its latency measured on the device.
        budget_ms: the budget in milliseconds.
        met: whether the measurement confirms the budget.
        score: ``evaluate`` of the final network.
        run_dir: the run folder (``netadapt report`` and ``netadapt verify`` work on it).
        iterations: every model of the run, the start first.
        stopped: why the loop stopped.
        final: the final model's record as ``final/info.json`` holds it.
    """

    model: nn.Module
    measured_ms: float
    budget_ms: float
    met: bool
    score: float | None
    run_dir: Path
    iterations: list[IterationRecord] = field(default_factory=list)
    stopped: str = ""
    final: dict = field(default_factory=dict)


def run_config(budget, short_term_steps: int, long_term_steps: int, device: str, lut, options: dict,
               batch: int) -> tuple[RunConfig, ExecutionConfig, str | None]:
    """A run's settings from ``prune``'s keyword options (``netadapt run``'s flags with underscores).

    Raises:
        UserError: an unknown option, or one that belongs to netadapt's own classification task.
    """
    from netadapt.config.budget import parse_budget

    if isinstance(budget, (int, float)) and not isinstance(budget, bool):
        budget = f"{budget}ms"
    if not isinstance(budget, str):
        raise UserError(f"budget must be a string such as '80%' or '20ms' (or milliseconds), not {budget!r}")
    parse_budget(budget)
    fields = {s.name for s in SETTINGS}
    for name in options:
        if name in CLASSIFICATION_ONLY:
            raise UserError(f"{name} belongs to netadapt's own classification task; with your own train and "
                            "evaluate, your loop owns it")
        if name == "batch":
            if int(options[name]) != batch:
                raise UserError(f"batch {options[name]} differs from example_inputs' batch of {batch}: latency is "
                                "measured at the batch of example_inputs")
            continue
        if name not in fields and name not in EXECUTION:
            valid = sorted(fields - set(CLASSIFICATION_ONLY) - {"model", "budget", "device"} | set(EXECUTION))
            raise UserError(f"unknown option {name!r}; valid: {', '.join(valid)}")
    execution = ExecutionConfig(**{k: options[k] for k in EXECUTION if k in options})
    settings = {"distill": 0.0, **{k: v for k, v in options.items() if k in fields and k != "batch"},
                "budget": budget, "model": "task", "data": "task", "device": device, "batch": batch,
                "short_term_steps": short_term_steps, "long_term_steps": long_term_steps}
    try:
        config = RunConfig.from_options(settings)
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad option: {exc}") from exc
    return config, execution, lut


def prune(model=None, example_inputs=None, *, budget, train=None, evaluate=None, out, device: str = "cpu",
          calibrate=None, loss=None, batches=None, deploy=None, ignore=(), short_term_steps: int = 20,
          long_term_steps: int = 0, lut: str | None = None, progress: bool = True, log=print, verbose: bool = False,
          **options) -> PruneResult:
    """Shrink ``model`` until its latency measured on ``device`` meets ``budget``, keeping what ``evaluate``
    scores as high as it can; one smaller model per iteration, each exported to ONNX in ``out``.

    Args:
        model: the trained network (any ``nn.Module``), or a whole :class:`~netadapt.Task` (then give
            nothing else of the task). netadapt copies it once and never changes it.
        example_inputs: one batch as the device receives it (a tensor or a tuple of tensors); latency is
            measured at its batch size.
        budget: ``"80%"`` of the starting latency, ``"20ms"``, ``"800us"``, or milliseconds as a number.
        train: ``train(model, steps)``, the user's loop, run in place on pruned copies (with ``teacher=`` the
            start model when it accepts that keyword).
        evaluate: ``evaluate(model) -> float`` (or a dict with ``"score"``), higher is better.
        out: the run folder; calling again with the same folder resumes a killed run (a finished one returns
            at once).
        device: where latency is measured (see ``netadapt devices``).
        calibrate, loss, batches, deploy, ignore: see :class:`~netadapt.Task`.
        short_term_steps: ``train`` steps of every candidate.
        long_term_steps: ``train`` steps of the final model (0: none).
        lut: the lookup table (path or SQLAlchemy URL; default ``$NETADAPT_LUT`` or the user's cache).
        progress: show progress bars.
        log: where one-line messages go.
        verbose: say where each iteration's time went (search, fine-tune, score, measure).
        **options: any other ``netadapt run`` option by its flag's name with underscores (``channel_step``,
            ``criterion``, ``selection``, ``max_iterations``, ``seed``, ``workers``, ``train_device`` ...).

    Returns:
        A :class:`PruneResult`.

    Raises:
        UserError: bad input, in one line (a failing callable: ``TaskError``, its traceback in
            ``out/error.log``).
    """
    from netadapt.algorithm.loop import NetAdaptRun
    from netadapt.inputs import ExampleInputs
    from netadapt.task.user import UserTask

    if isinstance(model, Task):
        given = [n for n, v in (("example_inputs", example_inputs), ("train", train), ("evaluate", evaluate),
                                ("calibrate", calibrate), ("loss", loss), ("batches", batches),
                                ("deploy", deploy)) if v is not None]
        if given or ignore:
            raise UserError(f"give either a Task or its parts, not both ({', '.join(given or ['ignore'])})")
        task = model
    else:
        missing = [n for n, v in (("model", model), ("example_inputs", example_inputs), ("train", train),
                                  ("evaluate", evaluate)) if v is None]
        if missing:
            raise UserError(f"prune needs {', '.join(missing)} (or a netadapt.Task)")
        task = Task(model, example_inputs, train, evaluate, calibrate=calibrate, loss=loss, batches=batches,
                    deploy=deploy, ignore=ignore)
    if long_term_steps is None or int(long_term_steps) < 0 or int(short_term_steps) < 0:
        raise UserError("short_term_steps and long_term_steps must be 0 or more")
    batch = ExampleInputs.of(task.example_inputs).batch
    config, execution, lut = run_config(budget, int(short_term_steps), int(long_term_steps), device, lut,
                                        options, batch)
    loop_task = UserTask(task, config, execution.train_device)
    run = NetAdaptRun(config, out, lut=lut, progress=progress, log=log, execution=execution, task=loop_task,
                      verbose=verbose)
    try:
        result = run.run()
    except Exception as exc:
        _keep_traceback(Path(out), exc)
        raise
    return _result(result, loop_task)


def _keep_traceback(out: Path, exc: BaseException) -> None:
    """Write the failure's full traceback to ``out/error.log`` (when the run folder exists), and name it in the
    one-line message of a failing callable."""
    from netadapt.task.calls import TaskError

    if not out.is_dir():
        return
    details = getattr(exc, "details", "") or "".join(traceback.format_exception(exc))
    (out / "error.log").write_text(details)
    if isinstance(exc, TaskError) and exc.args and "error.log" not in str(exc.args[0]):
        exc.args = (f"{exc.args[0]} (traceback in {out / 'error.log'})",)


def _result(result, task) -> PruneResult:
    from netadapt.runs import folder as rf

    final = result.final or {}
    records = [IterationRecord(iteration=h["iteration"], pruned_group=h.get("pruned_group"),
                               channels=dict(h["channels"]), predicted_ms=h.get("predicted_ms"),
                               measured_ms=h["measured_ms"], score=h.get("score"),
                               metrics=dict(h.get("metrics") or {}),
                               onnx=rf.iteration_dir(result.run_dir, h["iteration"]) / "model.onnx")
               for h in result.iterations]
    model = task.checkpoints.load(rf.final_dir(result.run_dir) / "model.pt")
    return PruneResult(model=model, measured_ms=final.get("measured_ms"), budget_ms=result.budget_ms,
                       met=bool(final.get("budget_met")), score=final.get("score"), run_dir=Path(result.run_dir),
                       iterations=records, stopped=result.stopped, final=final)


def load(run_dir, model: nn.Module | None = None, iteration: int | None = None) -> nn.Module:
    """A pruned network of a run, in eval mode.

    Args:
        run_dir: the run folder.
        model: a fresh instance of the class the run started from (same structure, any weights): needed for
            runs of ``netadapt.prune``; runs of netadapt's own zoo models rebuild without it.
        iteration: which model (default: the final one, after its long-term fine-tune).

    Raises:
        UserError: no such model in the folder, or a ``model`` of another architecture.
    """
    from netadapt.checkpoint import load_checkpoint, read_checkpoint, stored_inputs
    from netadapt.runs import folder as rf
    from netadapt.task import fingerprint as fp
    from netadapt.task.checkpoints import TaskCheckpoints
    from netadapt.task.user import TASK_FILE

    run_dir = Path(run_dir)
    path = (rf.final_dir(run_dir) if iteration is None else rf.iteration_dir(run_dir, iteration)) / "model.pt"
    if not path.is_file():
        what = "a final model" if iteration is None else f"iteration {iteration}"
        raise UserError(f"{run_dir} has no {what} ({path} is missing)")
    task_file = run_dir / TASK_FILE
    if not task_file.is_file():
        return load_checkpoint(path).model
    if model is None:
        raise UserError(f"{run_dir} is a run of netadapt.prune: give a fresh instance of the model's class, "
                        "netadapt.load(run_dir, MyModel())")
    stored = rf.read_json(task_file)["fingerprint"]
    why = fp.difference({**stored, "weights": None}, {**fp.structure(model), "weights": None})
    if why is not None:
        raise UserError(f"the model given to netadapt.load is not the one {run_dir} started from ({why})")
    data = read_checkpoint(path)
    return TaskCheckpoints(model, stored_inputs(data)).build(data.get("channels") or {}, data["state_dict"])
