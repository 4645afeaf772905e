"""What a user hands netadapt: a trained model, one batch of its inputs, and their own training loop and metric.

A :class:`Task` is the whole contract between a user's code and the NetAdapt loop. netadapt never trains or
scores a model by itself: it prunes copies of ``model``, calls ``train(copy, steps)`` on each and ranks them
by ``evaluate(copy)``; latency is measured on the device at the batch of ``example_inputs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from torch import nn

from netadapt.errors import UserError


@dataclass(eq=False)
class Task:
    """A user's model and how to train and score it.

    Attributes:
        model: the trained network (any ``nn.Module``). netadapt copies it once and never changes it.
        example_inputs: one batch as the device receives it: a tensor or a tuple of tensors (integer token
            ids included). Its batch size is the one latency is measured at.
        train: ``train(model, steps)``, the user's loop, run in place on the model it is given (a pruned
            copy) for ``steps`` optimiser steps. When it accepts a ``teacher`` keyword, netadapt passes the
            starting model (eval mode, no gradients) so the loop can distil from it.
        evaluate: ``evaluate(model) -> float``, higher is better (accuracy, mAP, mIoU, minus a loss):
            candidates are ranked on it. It may also return a dict of named floats with the ranking one
            under ``"score"``; the others are recorded beside it.
        calibrate: ``calibrate(model)``, e.g. re-estimating batch-norm statistics on a few training batches
            (``bn_batches`` runs it before a candidate is scored; AMC's reward runs it before ``evaluate``).
        loss: ``loss(model, batch) -> scalar tensor`` on one element of ``batches``: what data-aware
            criteria (``taylor``) and HALP's importance differentiate.
        batches: an iterable of input batches, each what ``loss`` takes (re-iterable: a list or a loader).
        deploy: ``deploy(model) -> nn.Module``, the module that is exported and timed (a detector without
            its box decoding, say); by default the model itself.
        ignore: modules (or their qualified names) whose output channels carry meaning and are never
            pruned (a detector's last head convolutions, say).
    """

    model: nn.Module
    example_inputs: Any
    train: Callable[..., Any]
    evaluate: Callable[[nn.Module], Any]
    calibrate: Callable[[nn.Module], Any] | None = None
    loss: Callable[..., Any] | None = None
    batches: Iterable | None = None
    deploy: Callable[[nn.Module], nn.Module] | None = None
    ignore: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if not isinstance(self.model, nn.Module):
            raise UserError(f"model must be a torch.nn.Module, not {type(self.model).__name__}")
        for name in ("train", "evaluate"):
            if not callable(getattr(self, name)):
                raise UserError(f"{name} must be a callable, not {type(getattr(self, name)).__name__}")
        for name in ("calibrate", "loss", "deploy"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise UserError(f"{name} must be a callable or None, not {type(value).__name__}")
        if (self.loss is None) != (self.batches is None):
            raise UserError("loss(model, batch) and batches go together: give both or neither")
        if isinstance(self.ignore, (str, nn.Module)):
            self.ignore = (self.ignore,)
        self.ignore = tuple(self.ignore or ())
        for item in self.ignore:
            if not isinstance(item, (str, nn.Module)):
                raise UserError(f"ignore lists modules or their names, not {type(item).__name__}")

    def ignored_names(self) -> list[str]:
        """The qualified names of the ignored modules.

        Raises:
            UserError: a name the model does not have, or a module that is not part of it.
        """
        names = {m: n for n, m in self.model.named_modules()}
        known = set(names.values())
        found = []
        for item in self.ignore:
            if isinstance(item, str):
                if item not in known:
                    raise UserError(f"ignore names {item!r}, which the model does not have")
                found.append(item)
            elif item in names:
                found.append(names[item])
            else:
                raise UserError(f"ignore lists a {type(item).__name__} that is not a module of the model")
        return found
