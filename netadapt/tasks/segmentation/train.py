"""Training and scoring a segmentation network on (image, mask) pairs.

The training loss is pixel-wise cross-entropy, averaged over every pixel of the batch. With a teacher
(the unpruned network, during NetAdapt's fine-tuning) it becomes

    ``(1 - distill) x cross-entropy + distill x T^2 x KL(teacher / T || student / T)``

where the KL divergence of the temperature-softened class distributions is taken at each pixel and
averaged over the pixels, so both terms are on the scale of one pixel's loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from netadapt.data.loader import make_loader
from netadapt.pruning.dependency import main_output
from netadapt.tasks.segmentation.metrics import iou_meter, predictions
from netadapt.training.distill import soft_kl
from netadapt.training.schedule import make_scheduler


def pixel_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) of the softened class distributions of (N, C, H, W) logits, averaged over pixels."""
    classes = student_logits.shape[1]
    return soft_kl(student_logits.movedim(1, -1).reshape(-1, classes),
                   teacher_logits.movedim(1, -1).reshape(-1, classes), temperature)


def segmentation_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Pixel-wise cross-entropy of ``model`` on one ``(images, masks)`` batch."""
    images, masks = batch
    return F.cross_entropy(main_output(model(images)), masks)


def train_segmenter(model: nn.Module, data: Dataset, steps: int, *, batch_size: int = 32, lr: float = 3e-3,
                    seed: int = 0, teacher: nn.Module | None = None, distill: float = 0.5, temperature: float = 1.0,
                    weight_decay: float = 1e-4, schedule: str = "constant") -> float:
    """Train ``model`` in place for ``steps`` AdamW steps, looping over ``data`` as often as needed.

    The same model, data and ``seed`` give the same result: the data order comes from ``seed``, and the
    global RNG is seeded inside a fork, so the caller's RNG is left untouched.

    Args:
        model: the network; its train/eval mode is restored afterwards.
        data: ``(image, mask)`` pairs (a :class:`~netadapt.tasks.segmentation.data.DigitCanvases`).
        steps: optimiser steps; 0 does nothing.
        batch_size: canvases per step (smaller if the data set is smaller).
        lr: learning rate (the peak, for ``"cosine"``).
        seed: fixes the order of the data and any randomness in the model.
        teacher: a network whose per-pixel outputs are distilled (put in eval mode, never updated).
        distill: weight of the distillation term when a teacher is given, in [0, 1].
        temperature: softening of both distributions in the distillation term.
        weight_decay: AdamW's decoupled weight decay.
        schedule: ``"constant"`` or ``"cosine"`` (decays to zero over ``steps``).

    Returns:
        The mean training loss over the steps (NaN when ``steps`` is 0).
    """
    if steps <= 0:
        return float("nan")
    if len(data) == 0:
        raise ValueError("cannot train on an empty data set")
    if not 0 <= distill <= 1:
        raise ValueError(f"distillation weight must be in [0, 1], got {distill}")
    batch_size = min(batch_size, len(data))
    # Batch norm cannot train on a batch of one, so drop a trailing batch of that size.
    loader = make_loader(data, batch_size, shuffle=True, seed=seed, drop_last=len(data) % batch_size == 1)
    use_teacher = teacher is not None and distill > 0
    if use_teacher:
        teacher.eval()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr,
                                  weight_decay=weight_decay)
    scheduler = make_scheduler(optimizer, steps, schedule)
    was_training = model.training
    model.train()
    total, done = 0.0, 0
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            while done < steps:  # each pass over the loader is a new epoch, in a new order
                for images, masks in loader:
                    logits = main_output(model(images))
                    loss = F.cross_entropy(logits, masks)
                    if use_teacher:
                        with torch.no_grad():
                            target = main_output(teacher(images))
                        soft = pixel_kl(logits, target, temperature) * temperature ** 2
                        loss = (1 - distill) * loss + distill * soft
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    scheduler.step()
                    total += float(loss.detach())
                    done += 1
                    if done == steps:
                        break
    finally:
        model.train(was_training)
    return total / steps


@torch.no_grad()
def evaluate_segmenter(model: nn.Module, data: Dataset, batch_size: int = 64) -> dict[str, float]:
    """Score ``model`` (in eval mode; its mode is restored) on every ``(image, mask)`` pair of ``data``.

    Returns:
        ``{"score": mIoU, "pixel_accuracy": fraction of pixels labelled correctly}``, both in [0, 1]; the
        mIoU is that of :func:`~netadapt.tasks.segmentation.metrics.mean_iou` over all pixels of ``data``.
    """
    if len(data) == 0:
        raise ValueError("cannot evaluate on an empty data set")
    meter = None
    correct = pixels = 0
    was_training = model.training
    model.eval()
    try:
        for images, masks in make_loader(data, min(batch_size, len(data)), shuffle=False):
            logits = main_output(model(images))
            if meter is None:
                meter = iou_meter(logits.shape[1])
            preds = predictions(logits)
            meter.update(preds, masks)
            correct += int((preds == masks).sum())
            pixels += masks.numel()
    finally:
        model.train(was_training)
    return {"score": float(meter.compute()), "pixel_accuracy": correct / pixels}
