"""The digit-canvas segmentation task as a :class:`netadapt.Task`: LR-ASPP, its data, loop and mIoU.

Every callable of the task is a module-level function or a small class holding its data, so the task
pickles and can be sent to worker processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from netadapt.data.loader import first_batches
from netadapt.errors import UserError
from netadapt.task import Task
from netadapt.tasks.segmentation.data import DigitCanvases, load_digit_segmentation
from netadapt.tasks.segmentation.model import LRASPPTiny
from netadapt.tasks.segmentation.train import evaluate_segmenter, segmentation_loss, train_segmenter
from netadapt.training.batchnorm import recalibrate_batchnorm

BASE_LR = 1e-2
FINE_TUNE_LR = 3e-3
BATCH_SIZE = 32


class TrainSegmenter:
    """``train(model, steps, teacher=None)``: constant-rate AdamW steps on the training canvases, distilling
    from ``teacher`` when given (see :func:`~netadapt.tasks.segmentation.train.train_segmenter`). Each call
    draws its data order from torch's global generator (which netadapt seeds before every call), so candidates
    and iterations fine-tune on different canvases, and the same seed gives the same call."""

    def __init__(self, data: DigitCanvases, batch_size: int = BATCH_SIZE, lr: float = FINE_TUNE_LR, seed: int = 0):
        self.data, self.batch_size, self.lr, self.seed = data, batch_size, lr, seed

    def __call__(self, model: nn.Module, steps: int, teacher: nn.Module | None = None) -> float:
        seed = self.seed + int(torch.randint(0, 2**30, ()))
        return train_segmenter(model, self.data, steps, batch_size=self.batch_size, lr=self.lr, seed=seed,
                               teacher=teacher)


class EvaluateSegmenter:
    """``evaluate(model) -> {"score": mIoU, "pixel_accuracy": ...}`` on a fixed set of canvases."""

    def __init__(self, data: DigitCanvases):
        self.data = data

    def __call__(self, model: nn.Module) -> dict[str, float]:
        return evaluate_segmenter(model, self.data)


class RecalibrateBatchNorm:
    """``calibrate(model)``: batch-norm statistics re-estimated on ``batches`` training batches (no gradients)."""

    def __init__(self, data: DigitCanvases, batches: int = 4, batch_size: int = BATCH_SIZE, seed: int = 0):
        self.data, self.batches, self.batch_size, self.seed = data, batches, batch_size, seed

    def __call__(self, model: nn.Module) -> int:
        return recalibrate_batchnorm(model, self.data, self.batches, self.batch_size, seed=self.seed)


def _config(seed: int, image_size: int, width: float, base_steps: int) -> dict:
    return {"model": "lraspp_tiny", "seed": seed, "image_size": image_size, "width": float(width),
            "base_steps": base_steps}


def _load_state(model: nn.Module, path: Path) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise UserError(f"{path} does not hold weights of this model (width and classes must match): "
                        f"{str(exc).splitlines()[0]}") from exc


def _cached(model: nn.Module, cache: Path, config: dict) -> bool:
    """Load the cached base model when the file exists and was trained with the same settings."""
    if not cache.is_file():
        return False
    saved = torch.load(cache, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("config") != config:
        return False
    model.load_state_dict(saved["state_dict"])
    return True


def _save(model: nn.Module, cache: Path, config: dict) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    torch.save({"config": config, "state_dict": model.state_dict()}, partial)
    os.replace(partial, cache)  # atomic: a concurrent reader sees the old file or the whole new one


def make_task(checkpoint: str | os.PathLike | None = None, seed: int = 0, image_size: int = 64, width: float = 1.0,
              base_steps: int = 400, batch: int = 1, cache: str | os.PathLike | None = None, *,
              train_canvases: int = 1024, holdout_canvases: int = 256) -> Task:
    """The digit-canvas segmentation task: LR-ASPP on 3-channel canvases, 11 classes, scored by holdout mIoU.

    Args:
        checkpoint: a ``torch.save``'d state dict of :class:`LRASPPTiny` at this ``width`` (or a cache file
            written here); without it, a base model is trained.
        seed: fixes the data, the initial weights and the training order.
        image_size: canvas side in pixels.
        width: channel multiplier of the network.
        base_steps: AdamW steps (cosine schedule, peak rate ``BASE_LR``) of the base training.
        batch: batch size of ``example_inputs``, the one latency is measured at.
        cache: a file for the trained base model: read when it exists and was trained with the same
            ``seed``, ``image_size``, ``width`` and ``base_steps``, written otherwise.
        train_canvases: canvases to train on.
        holdout_canvases: canvases ``evaluate`` scores (the test split is not used by the task).

    Returns:
        A :class:`netadapt.Task` whose ``train(model, steps, teacher=None)`` runs constant-rate AdamW steps
        (peak rate ``FINE_TUNE_LR``, distilling from the teacher when given), ``evaluate`` returns
        ``{"score": mIoU, "pixel_accuracy": ...}`` on the holdout canvases, ``calibrate`` re-estimates
        batch-norm statistics on four training batches, and ``loss``/``batches`` are the pixel-wise
        cross-entropy and four training batches of 16 canvases.
    """
    data = load_digit_segmentation(seed, image_size=image_size, train=train_canvases, holdout=holdout_canvases,
                                   test=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LRASPPTiny(num_classes=data.num_classes, in_channels=data.train.images.shape[1], width=width)
    config = _config(seed, image_size, width, base_steps)
    if checkpoint is not None:
        _load_state(model, Path(checkpoint))
    elif cache is None or not _cached(model, Path(cache), config):
        train_segmenter(model, data.train, base_steps, batch_size=BATCH_SIZE, lr=BASE_LR, seed=seed,
                        schedule="cosine")
        if cache is not None:
            _save(model, Path(cache), config)
    model.eval()
    return Task(model=model,
                example_inputs=torch.zeros(batch, data.train.images.shape[1], image_size, image_size),
                train=TrainSegmenter(data.train, seed=seed),
                evaluate=EvaluateSegmenter(data.holdout),
                calibrate=RecalibrateBatchNorm(data.train, seed=seed),
                loss=segmentation_loss,
                batches=first_batches(data.train, 4, 16, seed=seed))
