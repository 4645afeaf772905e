"""Training with masks from any iteration: the same data order, augmentation and learning-rate schedule
as ``netadapt.training.train`` for the same config, so a ticket rewound to iteration k continues the
original run's schedule from k (with a fresh optimizer: momentum is not rewound)."""

from __future__ import annotations

import torch
from torch import nn

from netadapt.data.loader import make_loader
from netadapt.lottery.masks import MaskHooks
from netadapt.config.train import TrainConfig
from netadapt.training.schedule import lr_factor
from netadapt.training.state import copy_state
from netadapt.training.steps import make_optimizer, sgd_step


def steps_per_epoch(data, config: TrainConfig) -> int:
    batch_size = min(config.batch_size, len(data.train))
    n = len(data.train)
    return n // batch_size if n % batch_size == 1 else -(-n // batch_size)


def train_masked(model: nn.Module, data, config: TrainConfig, masks: dict | None = None, start: int = 0,
                 capture: int | None = None) -> dict | None:
    """Train ``model`` in place from iteration ``start`` to the end of ``config``'s schedule under ``masks``.

    Args:
        model: the network, holding the weights of iteration ``start``.
        data: a data bundle (``train`` split and ``augment``).
        config: the run's hyperparameters (epochs, lr, schedule, seed ...).
        masks: unstructured masks kept applied throughout (None: dense).
        start: the iteration the weights belong to; earlier iterations are skipped.
        capture: if given, a copy of the state at this iteration is returned (the rewind point).

    Returns:
        The state dict at iteration ``capture``, or None.
    """
    batch_size = min(config.batch_size, len(data.train))
    loader = make_loader(data.train, batch_size, shuffle=True, seed=config.seed, augment=data.augment,
                         drop_last=len(data.train) % batch_size == 1)
    per_epoch = len(loader)
    total = config.epochs * per_epoch
    warmup = config.warmup_epochs * per_epoch
    optimizer = make_optimizer(model, config.lr, config.momentum, config.weight_decay, config.nesterov)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(start + s, total, config.schedule, warmup))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    captured = copy_state(model) if capture == start else None
    step = start
    with torch.random.fork_rng(devices=[]), MaskHooks(model, masks):
        torch.manual_seed(config.seed)
        model.train()
        for epoch in range(start // per_epoch, config.epochs):
            loader.set_epoch(epoch)
            for i, (images, labels) in enumerate(loader):
                if epoch * per_epoch + i < start:
                    continue
                sgd_step(model, optimizer, loss_fn, images, labels)
                scheduler.step()
                step += 1
                if step == capture:
                    captured = copy_state(model)
    return captured
