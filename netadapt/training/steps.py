"""One SGD step, and the optimizer every training path uses."""

from __future__ import annotations

import torch
from torch import nn
from netadapt.pruning.dependency import main_output


def make_optimizer(model: nn.Module, lr: float, momentum: float, weight_decay: float,
                   nesterov: bool) -> torch.optim.SGD:
    """SGD with momentum and weight decay over all trainable parameters."""
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=momentum,
                           weight_decay=weight_decay, nesterov=nesterov and momentum > 0)


def sgd_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module,
             images: torch.Tensor, labels: torch.Tensor) -> float:
    """Forward, backward and update on one batch; returns the batch loss. A loss that needs the images
    (distillation from a teacher) says so with ``needs_images``."""
    logits = main_output(model(images))
    loss = loss_fn(logits, labels, images) if getattr(loss_fn, "needs_images", False) else loss_fn(logits, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
