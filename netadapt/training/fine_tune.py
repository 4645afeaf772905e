"""Short-term fine-tuning: a fixed number of SGD iterations, as NetAdapt runs on every candidate."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from netadapt.data.loader import make_loader
from netadapt.training.device import placed, training_device
from netadapt.training.distill import DistillationLoss
from netadapt.training.schedule import make_scheduler
from netadapt.training.steps import make_optimizer, sgd_step

FINE_TUNE_SCHEDULES = ("constant", "cosine")


def fine_tune(model: nn.Module, dataset: Dataset, steps: int, *, batch_size: int = 64, lr: float = 0.01,
              momentum: float = 0.9, weight_decay: float = 5e-4, seed: int = 0, augment: str = "none",
              schedule: str = "constant", teacher: nn.Module | None = None, distill: float = 0.0,
              temperature: float = 4.0, device: str | torch.device | None = None) -> float:
    """Train ``model`` in place for ``steps`` SGD iterations, looping over ``dataset`` as often as needed.

    The same model, data and ``seed`` give the same result: the data order and augmentation come from
    ``seed``, and the global RNG is seeded inside a fork, so the caller's RNG is left untouched.

    Args:
        model: the model to update (its train/eval mode is restored afterwards).
        dataset: the training data.
        steps: SGD iterations; 0 does nothing.
        batch_size: images per iteration (smaller if the data set is smaller).
        lr: learning rate (the peak, for ``"cosine"``).
        momentum: SGD momentum.
        weight_decay: L2 weight decay.
        seed: fixes order, augmentation and any randomness in the model.
        augment: ``"none"``, ``"crop"`` or ``"cifar"``.
        schedule: ``"constant"`` or ``"cosine"`` (decays to zero over ``steps``).
        teacher: with ``distill`` > 0, the network whose softened outputs are learned too.
        distill: weight of the distillation term (0: plain cross-entropy).
        temperature: distillation temperature.
        device: where the SGD steps run (``cpu``, ``cuda``, ...; default: where the model is); the model
            and teacher are moved there for the call and back afterwards.

    Returns:
        The mean training loss over the iterations (NaN when ``steps`` is 0).
    """
    if schedule not in FINE_TUNE_SCHEDULES:
        raise ValueError(f"unknown fine-tune schedule {schedule!r}; valid: {', '.join(FINE_TUNE_SCHEDULES)}")
    if steps <= 0:
        return float("nan")
    if len(dataset) == 0:
        raise ValueError("cannot fine-tune on an empty data set")
    batch_size = min(batch_size, len(dataset))
    # Batch norm cannot train on a batch of one, so drop a trailing batch of that size.
    loader = make_loader(dataset, batch_size, shuffle=True, seed=seed, augment=augment,
                         drop_last=len(dataset) % batch_size == 1)
    if distill > 0 and teacher is None:
        raise ValueError("distillation needs a teacher network")
    target = training_device(device) if device is not None else None
    was_training = model.training
    with placed(target, model, teacher if distill > 0 else None):
        optimizer = make_optimizer(model, lr, momentum, weight_decay, nesterov=False)
        scheduler = make_scheduler(optimizer, steps, schedule)
        loss_fn = DistillationLoss(teacher, distill, temperature) if distill > 0 else nn.CrossEntropyLoss()
        model.train()
        total, done = 0.0, 0
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                while done < steps:
                    for images, labels in loader:
                        total += sgd_step(model, optimizer, loss_fn, images, labels)
                        scheduler.step()
                        done += 1
                        if done == steps:
                            break
        finally:
            model.train(was_training)
        return float(total) / steps
