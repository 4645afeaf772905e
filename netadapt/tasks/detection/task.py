"""The detection task as netadapt prunes it: digit canvases, a trained ``YoloTiny``, its loop and its mAP.

Every callable of the task is an instance of a module-level class holding its data sets, so a task pickles
(by reference to this module, with the data sets' source digits) into worker processes.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from netadapt.task import Task
from netadapt.tasks.detection.data import batches, make_splits
from netadapt.tasks.detection.loss import detection_loss
from netadapt.tasks.detection.model import YoloTiny
from netadapt.tasks.detection.train import evaluate_detector, recalibrate_batchnorm, train_detector


class FineTune:
    """``train(model, steps, teacher=None)``: ``train_detector`` at a constant learning rate on the training
    canvases; with ``distill`` > 0 and a teacher, its raw-map distillation term is added. Each call draws its
    batch order from torch's global generator (which netadapt seeds before every call from the run's seed,
    the iteration and the group), so candidates and iterations fine-tune on different canvases, and the same
    seed gives the same call."""

    def __init__(self, data, batch_size: int, lr: float, seed: int, distill: float = 0.0, optimizer: str = "sgd"):
        self.data, self.batch_size, self.lr, self.seed = data, batch_size, lr, seed
        self.distill, self.optimizer = distill, optimizer

    def __call__(self, model: nn.Module, steps: int, teacher: nn.Module | None = None) -> float:
        seed = self.seed + int(torch.randint(0, 2**30, ()))
        return train_detector(model, self.data, steps, batch_size=self.batch_size, lr=self.lr, seed=seed,
                              optimizer=self.optimizer, teacher=teacher, distill=self.distill)


class Evaluate:
    """``evaluate(model)``: ``{"score": mAP@0.5:0.95, "map50": mAP@0.5}`` on the held-out canvases."""

    def __init__(self, data):
        self.data = data

    def __call__(self, model: nn.Module) -> dict[str, float]:
        return evaluate_detector(model, self.data)


class Calibrate:
    """``calibrate(model)``: batch-norm statistics re-estimated on ``count`` training batches."""

    def __init__(self, data, count: int, batch_size: int, seed: int):
        self.data, self.count, self.batch_size, self.seed = data, count, batch_size, seed

    def __call__(self, model: nn.Module) -> int:
        return recalibrate_batchnorm(model, self.data, self.count, self.batch_size, self.seed)


class BatchLoss:
    """``loss(model, batch)``: the detection loss of one ``(images, targets)`` batch, in the model's mode."""

    def __call__(self, model: nn.Module, batch) -> torch.Tensor:
        images, targets = batch
        images = images.to(next(model.parameters()).device)
        return detection_loss(model(images), targets, tuple(images.shape[-2:]))


def base_model(data, *, width: float, depth: float, channels: int, seed: int, steps: int, batch_size: int,
               lr: float, checkpoint: str | Path | None = None, cache: str | Path | None = None) -> YoloTiny:
    """The trained detector in eval mode: loaded from ``checkpoint`` (or an existing ``cache``), else trained
    for ``steps`` with a cosine schedule (and saved to ``cache`` when given)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = YoloTiny(num_classes=10, in_channels=channels, width=width, depth=depth)
    source = checkpoint if checkpoint is not None else (cache if cache is not None and Path(cache).exists()
                                                        else None)
    if source is not None:
        model.load_state_dict(torch.load(source, map_location="cpu", weights_only=True))
    else:
        train_detector(model, data, steps, batch_size=batch_size, lr=lr, seed=seed, schedule="cosine",
                       warmup=min(100, steps // 10))
        if cache is not None:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), cache)
    return model.eval()


def make_task(checkpoint: str | Path | None = None, seed: int = 0, image_size: int = 96, width: float = 0.125,
              depth: float = 0.33, channels: int = 1, base_steps: int = 3000, base_lr: float = 3e-3,
              batch: int = 1, cache: str | Path | None = None, train_size: int = 100_000, holdout_size: int = 300,
              batch_size: int = 32, lr: float = 0.01, optimizer: str = "sgd", distill: float = 0.0,
              calibration_batches: int = 4, loss_batches: int = 4) -> Task:
    """A ``netadapt.Task`` that detects handwritten digits pasted on canvases.

    Args:
        checkpoint: a state dict (``torch.save``) of a ``YoloTiny`` of this ``width``, ``depth`` and
            ``channels`` (``bench/train_detector.py`` writes one); without it the base model is trained here.
        seed: fixes the data (source split and canvases), the initialisation and every training loop.
        image_size: canvas side (a multiple of 32); digits are 1/8 to 1/2 of it.
        width, depth, channels: the detector's multipliers and input channels.
        base_steps, base_lr: training of the base model when there is no checkpoint.
        batch: the batch size of ``example_inputs`` (the one latency is measured at).
        cache: where a base model trained here is saved, and loaded from by a later call.
        train_size, holdout_size: canvases in the training and held-out sets.
        batch_size, lr, optimizer: the fine-tuning loop's batch, constant learning rate and optimiser. SGD
            at 0.01 by default: on the base model of ``bench/train_detector.py`` (mAP 0.859) it kept a model
            with one group cut by a quarter near its mAP (0.857 -> 0.844 in 50 steps; AdamW at 5e-4: 0.846)
            and best recovered one with every group cut by a quarter (0.005 -> 0.652 in 100 steps; 0.603).
        distill: weight of the distillation term when netadapt passes a teacher (0: no distillation).
        calibration_batches: training batches of the batch-norm re-estimation.
        loss_batches: batches (of ``batch_size``) in ``Task.batches``, for data-aware criteria.
    """
    if image_size % 32:
        raise ValueError(f"image_size must be a multiple of 32 (the coarsest stride), got {image_size}")
    data = make_splits(seed, sizes=(train_size, holdout_size, 0), image_size=image_size, channels=channels,
                       digit_size=(max(4, image_size // 8), image_size // 2))
    model = base_model(data["train"], width=width, depth=depth, channels=channels, seed=seed, steps=base_steps,
                       batch_size=batch_size, lr=base_lr, checkpoint=checkpoint, cache=cache)
    loss_data = [b for _, b in zip(range(loss_batches),
                                   batches(data["train"], batch_size, shuffle=True, seed=seed + 1))]
    return Task(model=model, example_inputs=torch.zeros(batch, channels, image_size, image_size),
                train=FineTune(data["train"], batch_size, lr, seed, distill, optimizer),
                evaluate=Evaluate(data["holdout"]),
                calibrate=Calibrate(data["train"], calibration_batches, batch_size, seed), loss=BatchLoss(),
                batches=loss_data, ignore=model.head_convs)
