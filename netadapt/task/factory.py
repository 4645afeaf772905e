"""A task named on the command line: ``package.module:factory`` and its arguments (``netadapt run --task``).

The factory returns a :class:`~netadapt.Task`, or any object with ``model``, ``example_inputs``, ``train`` and
``evaluate`` attributes (and optionally ``calibrate``, ``loss``, ``batches``, ``deploy``, ``ignore``).
"""

from __future__ import annotations

import importlib
import os
import sys

from netadapt.errors import UserError
from netadapt.task.base import Task

_OPTIONAL = ("calibrate", "loss", "batches", "deploy", "ignore")


def import_target(target: str, what: str = "task"):
    """The callable ``package.module:attr`` names. The current folder is searched too, as ``python -m`` does.

    Raises:
        UserError: a malformed name, a module that does not import, or no such callable.
    """
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UserError(f"{what} {target!r}: expected package.module:factory")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0] or os.getcwd() in sys.path:
            raise UserError(f"{what} {target!r}: cannot import module {module_name!r} ({exc})") from exc
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError as again:
            raise UserError(f"{what} {target!r}: cannot import module {module_name!r} ({again})") from again
    except ImportError as exc:
        raise UserError(f"{what} {target!r}: cannot import module {module_name!r} ({exc})") from exc
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise UserError(f"{what} {target!r}: module {module_name!r} has no callable {attr!r}")
    return factory


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

    factory = import_target(target)
    try:
        made = invoke(f"task factory {target}", factory, **(kwargs or {}))
    except TaskError as exc:
        cause = exc.__cause__
        if isinstance(cause, TypeError) and "argument" in str(cause):
            raise UserError(f"task {target!r}: the factory rejected arguments {kwargs or {}} ({cause})") from cause
        raise
    return as_task(made, f"task {target!r}")
