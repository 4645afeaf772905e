"""Calling the user's callables: seeded, with the keywords they accept, and failures as one line.

Every call into user code goes through here, so a ``train`` that raises, or an ``evaluate`` that returns a NaN
or a string, ends as a :class:`TaskError` naming the callable, while the traceback is kept for the run folder's
``error.log``.
"""

from __future__ import annotations

import inspect
import math
import traceback
from numbers import Real

import numpy as np
import torch

from netadapt.errors import UserError
from netadapt.seeding import seed_everything


class TaskError(UserError):
    """A user callable failed or returned something netadapt cannot use.

    Attributes:
        callable_name: which one (``train``, ``evaluate`` ...).
        details: the full traceback of the failure (empty for a bad return value).
    """

    def __init__(self, message: str, callable_name: str, details: str = ""):
        super().__init__(message)
        self.callable_name = callable_name
        self.details = details


def qualified_name(fn) -> str:
    """``module.qualname`` of a callable (a partial's function, an object's class)."""
    target = getattr(fn, "func", fn)
    if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isbuiltin(target)):
        target = type(target)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def accepts(fn, keyword: str) -> bool:
    """Whether ``fn`` takes ``keyword`` (by name, or through ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.kind == p.VAR_KEYWORD
               for p in params)


def invoke(name: str, fn, *args, seed: int | None = None, **kwargs):
    """``fn(*args, **kwargs)`` after seeding (when ``seed`` is given).

    Raises:
        TaskError: ``fn`` raised; the message names ``name`` and the exception's first line.
    """
    if seed is not None:
        seed_everything(seed)
    try:
        return fn(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # the user's code: any exception is theirs to read in error.log
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        message = f"{name} raised {type(exc).__name__}" + (f": {first}" if first else "")
        raise TaskError(message, name, traceback.format_exc()) from exc


def as_score(value, name: str = "evaluate") -> tuple[float, dict[str, float]]:
    """The ranking score and the other named metrics of what ``evaluate`` returned: a number, or a dict of
    numbers with the ranking one under ``"score"``.

    Raises:
        TaskError: anything else, or a score that is NaN or infinite.
    """
    metrics = {}
    if isinstance(value, dict):
        if "score" not in value:
            raise TaskError(f"{name} returned a dict without a 'score' key (keys: {', '.join(map(str, value))})",
                            name)
        metrics = {str(k): v for k, v in value.items() if k != "score"}
        value = value["score"]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TaskError(f"{name} returned {type(value).__name__}, not a number (higher is better)", name)
    value = float(value)
    if not math.isfinite(value):
        raise TaskError(f"{name} returned {value}: a score must be a finite number", name)
    clean = {}
    for key, metric in metrics.items():
        if isinstance(metric, torch.Tensor) and metric.numel() == 1:
            metric = metric.item()
        if isinstance(metric, (Real, np.generic)) and not isinstance(metric, bool):
            clean[key] = float(metric)
    return value, clean
