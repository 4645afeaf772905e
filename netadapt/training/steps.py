"""One SGD step, and the optimizer every training path uses."""

from __future__ import annotations

import torch
from torch import nn
from netadapt.pruning.dependency import main_output
from netadapt.training.device import to_model


def make_optimizer(model: nn.Module, lr: float, momentum: float, weight_decay: float,
                   nesterov: bool) -> torch.optim.SGD:
    """SGD with momentum and weight decay over all trainable parameters."""
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=momentum,
                           weight_decay=weight_decay, nesterov=nesterov and momentum > 0)


def sgd_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module,
             images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Forward, backward and update on one batch, on the model's device; returns the batch loss, detached
    (a tensor, so a GPU step does not wait for it). A loss that needs the images (distillation from a
    teacher) says so with ``needs_images``."""
    images, labels = to_model(model, images, labels)
    logits = main_output(model(images))
    loss = loss_fn(logits, labels, images) if getattr(loss_fn, "needs_images", False) else loss_fn(logits, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()
