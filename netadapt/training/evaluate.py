"""Top-1 accuracy of a model on a data set."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from netadapt.data.loader import make_loader
from netadapt.pruning.dependency import main_output


def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = 256) -> float:
    """Top-1 accuracy in [0, 1], computed in eval mode without gradients (the model's mode is restored).

    Returns:
        The fraction of correctly classified images; NaN for an empty data set.
    """
    if len(dataset) == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    correct = 0
    try:
        with torch.inference_mode():
            for images, labels in make_loader(dataset, batch_size, shuffle=False):
                correct += int((main_output(model(images)).argmax(dim=1) == labels).sum())
    finally:
        model.train(was_training)
    return correct / len(dataset)
