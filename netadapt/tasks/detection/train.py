"""Training, scoring and batch-norm re-estimation of the detector on canvas data sets."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from netadapt.tasks.detection.data import batches
from netadapt.tasks.detection.decode import decode
from netadapt.tasks.detection.loss import detection_loss
from netadapt.tasks.detection.metrics import mean_average_precision
from netadapt.training.batchnorm import reestimate_batchnorm

SCHEDULES = ("constant", "cosine")
OPTIMIZERS = ("adamw", "sgd")


def _device(model: nn.Module) -> torch.device:
    """Where the model's parameters are (batches are moved there)."""
    return next(model.parameters()).device


def _optimizer(model: nn.Module, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW, or SGD with Nesterov momentum 0.9, with weight decay on the convolution weights only (not on
    biases and batch-norm affines)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=lr)


def _factor(step: int, steps: int, schedule: str, warmup: int) -> float:
    """The learning rate's multiplier at ``step``: a linear warm-up, then constant or a cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def distillation_term(outputs, teacher_outputs) -> torch.Tensor:
    """Mean squared difference between the student's and the teacher's raw maps, averaged over levels: the
    box channels (pre-softplus distances) and the class logits alike."""
    return sum(F.mse_loss(s, t) for s, t in zip(outputs, teacher_outputs)) / len(outputs)


def train_detector(model: nn.Module, data: Dataset, steps: int, *, batch_size: int = 32, lr: float = 2e-3,
                   weight_decay: float = 5e-4, seed: int = 0, optimizer: str = "adamw",
                   schedule: str = "constant", warmup: int = 0,
                   teacher: nn.Module | None = None, distill: float = 0.0, clip: float = 10.0,
                   callback: Callable[[int, float], bool | None] | None = None, every: int = 100,
                   loss_options: dict | None = None) -> float:
    """Train ``model`` in place for ``steps`` optimiser steps on ``data``, looping over it as often as needed.

    The same model, data and ``seed`` give the same result: the batch order comes from ``seed`` and the
    global RNG is seeded inside a fork, so the caller's RNG is left untouched.

    Args:
        model: the detector (its train/eval mode is restored afterwards); batches go to its device.
        data: canvases yielding ``(image, target)`` (``netadapt.tasks.detection.data``).
        steps: optimiser steps; 0 does nothing.
        batch_size: canvases per step (fewer if the data set is smaller); a final batch of one is skipped.
        lr: the learning rate (the peak, for ``"cosine"``).
        weight_decay: weight decay on convolution weights (decoupled, for AdamW).
        seed: fixes the order and any randomness in the model.
        optimizer: ``"adamw"`` (training from scratch) or ``"sgd"`` (Nesterov momentum 0.9; its steps shrink
            with the gradients, so fine-tuning a converged model barely moves it where nothing was lost).
        schedule: ``"constant"`` or ``"cosine"`` (decays to zero over ``steps``).
        warmup: steps of linear warm-up from ``lr / warmup``.
        teacher: with ``distill`` > 0, a network of the same output shapes, on the model's device (run in
            eval mode, no gradient), whose raw maps the model also learns:
            ``distill * distillation_term(model(x), teacher(x))`` is added to the detection loss. Without
            ``distill`` it is ignored.
        distill: the distillation weight (0: the detection loss alone).
        clip: the gradients' global norm is clipped to this (0: no clipping).
        callback: called as ``callback(step, mean loss since the last call)`` every ``every`` steps and after
            the last; returning True stops training there.
        loss_options: keyword arguments of ``detection_loss``.

    Returns:
        The mean training loss over the steps run (NaN when none ran).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; valid: {', '.join(SCHEDULES)}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    if steps <= 0:
        return float("nan")
    if len(data) == 0:
        raise ValueError("cannot train on an empty data set")
    batch_size = min(batch_size, len(data))
    drop_last = len(data) % batch_size == 1  # batch norm cannot train on a batch of one
    use_teacher = teacher is not None and distill > 0
    if use_teacher:
        teacher.eval()
    was_training = model.training
    optim = _optimizer(model, optimizer, lr, weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: _factor(s, steps, schedule, warmup))
    total, recent, done, epoch = 0.0, 0.0, 0, 0
    model.train()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            while done < steps:
                for images, targets in batches(data, batch_size, shuffle=True, seed=seed, epoch=epoch,
                                               drop_last=drop_last):
                    images = images.to(_device(model))
                    outputs = model(images)
                    loss = detection_loss(outputs, targets, tuple(images.shape[-2:]), **(loss_options or {}))
                    if use_teacher:
                        with torch.no_grad():
                            expected = teacher(images)
                        loss = loss + distill * distillation_term(outputs, expected)
                    optim.zero_grad(set_to_none=True)
                    loss.backward()
                    if clip > 0:
                        nn.utils.clip_grad_norm_(model.parameters(), clip)
                    optim.step()
                    scheduler.step()
                    value = float(loss.detach())
                    total, recent, done = total + value, recent + value, done + 1
                    if callback is not None and (done % every == 0 or done == steps):
                        stop = callback(done, recent / (every if done % every == 0 else done % every))
                        recent = 0.0
                        model.train()
                        if stop:
                            return total / done
                    if done == steps:
                        break
                epoch += 1
    finally:
        model.train(was_training)
    return total / done


@torch.no_grad()
def predict(model: nn.Module, data: Dataset, batch_size: int = 64, **decode_options):
    """Detections and ground truths of every canvas of ``data`` (eval mode, no gradient; mode restored).

    Returns:
        (predictions, targets): per canvas, as ``decode`` and the data set give them.
    """
    was_training = model.training
    model.eval()
    predictions, targets = [], []
    try:
        for images, batch_targets in batches(data, batch_size):
            outputs = model(images.to(_device(model)))
            predictions += decode(outputs, tuple(images.shape[-2:]), **decode_options)
            targets += batch_targets
    finally:
        model.train(was_training)
    return predictions, targets


def evaluate_detector(model: nn.Module, data: Dataset, batch_size: int = 64, **decode_options) -> dict[str, float]:
    """``{"score": mAP@0.5:0.95, "map50": mAP@0.5}`` of ``model`` on ``data`` (see ``predict``)."""
    result = mean_average_precision(*predict(model, data, batch_size, **decode_options))
    return {"score": result["map"], "map50": result["map50"]}


def recalibrate_batchnorm(model: nn.Module, data: Dataset, count: int = 4, batch_size: int = 32,
                          seed: int = 0) -> int:
    """Batch-norm statistics re-estimated on ``count`` training batches in an order fixed by ``seed``
    (``netadapt.training.batchnorm.reestimate_batchnorm``: no gradient, no weight change, mode and momenta
    restored).

    Returns:
        The number of batch-norm layers re-estimated.
    """
    if count <= 0 or len(data) == 0:
        return 0
    images = (b for _, (b, _) in zip(range(count), batches(data, min(batch_size, len(data)), shuffle=True,
                                                           seed=seed)))
    return reestimate_batchnorm(model, images)
