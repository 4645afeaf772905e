"""A task named on the command line: ``package.module:factory`` and its arguments (``netadapt run --task``).

The factory returns a :class:`~netadapt.Task`, or any object with ``model``, ``example_inputs``, ``train`` and
``evaluate`` attributes (and optionally ``calibrate``, ``loss``, ``batches``, ``deploy``, ``ignore``).
"""

from __future__ import annotations

from netadapt.errors import UserError
from netadapt.importing import import_target
from netadapt.task.base import Task

_OPTIONAL = ("calibrate", "loss", "batches", "deploy", "ignore")


def as_task(made, target: str = "the factory") -> Task:
    """``made`` as a :class:`Task` (an object with the task's attributes is converted)."""
    if isinstance(made, Task):
        return made
    missing = [a for a in ("model", "example_inputs", "train", "evaluate") if not hasattr(made, a)]
    if missing:
        raise UserError(f"{target} returned a {type(made).__name__} without {', '.join(missing)}; return a "
                        "netadapt.Task or an object with model, example_inputs, train and evaluate")
    optional = {a: getattr(made, a) for a in _OPTIONAL if getattr(made, a, None) is not None}
    return Task(made.model, made.example_inputs, made.train, made.evaluate, **optional)


def load_task(target: str, kwargs: dict | None = None) -> Task:
    """Call the factory ``target`` names with ``kwargs`` and return its task.

    Raises:
        UserError: the factory cannot be found, rejects the arguments, or returns no task.
    """
    from netadapt.task.calls import TaskError, invoke

    factory = import_target(target, "task")
    try:
        made = invoke(f"task factory {target}", factory, **(kwargs or {}))
    except TaskError as exc:
        cause = exc.__cause__
        if isinstance(cause, TypeError) and "argument" in str(cause):
            raise UserError(f"task {target!r}: the factory rejected arguments {kwargs or {}} ({cause})") from cause
        raise
    return as_task(made, f"task {target!r}")
