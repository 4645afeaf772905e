"""Re-estimate batch-norm statistics after pruning (EagleEye's adaptive batch-norm).

Pruning a layer changes the distribution of every activation after it, but the network's batch-norm
layers keep the running statistics of the unpruned network; scored that way, a candidate looks worse
than it will be after fine-tuning, and candidates rank poorly. Re-estimating the statistics on a few
training batches (no gradients, no weight change) before scoring fixes that at the cost of a few forward
passes.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from netadapt.data.loader import make_loader
from netadapt.training.device import to_model


def reestimate_batchnorm(model: nn.Module, inputs: Iterable) -> int:
    """Replace every batch-norm layer's running statistics by their average over the batches of ``inputs``
    (each a tensor or a tuple of tensors, fed as ``model(*batch)`` on the model's device), in training mode,
    without gradients. The model's mode and weights are left as they were; its batch-norm layers' momentum too.

    Returns:
        The number of batch-norm layers re-estimated (0 leaves the model untouched).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats]
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    was_training = model.training
    model.train()
    try:
        with torch.no_grad():
            for batch in inputs:
                model(*to_model(model, *(batch if isinstance(batch, (tuple, list)) else (batch,))))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
    return len(norms)


def recalibrate_batchnorm(model: nn.Module, dataset, batches: int, batch_size: int = 64, seed: int = 0) -> int:
    """``reestimate_batchnorm`` on ``batches`` batches of a (image, label) data set's images, taken without
    augmentation in an order fixed by ``seed``.

    Returns:
        The number of batch-norm layers re-estimated (0 leaves the model untouched).
    """
    if batches <= 0 or len(dataset) == 0:
        return 0
    loader = make_loader(dataset, min(batch_size, len(dataset)), shuffle=True, seed=seed,
                         drop_last=len(dataset) % min(batch_size, len(dataset)) == 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return reestimate_batchnorm(model, (images for _, (images, _) in zip(range(batches), loader)))
