"""Top-1 accuracy of a model on a data set, and the continuous scores candidates are ranked by."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from netadapt.data.loader import make_loader
from netadapt.pruning.dependency import main_output
from netadapt.training.device import to_model


def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = 256) -> float:
    """Top-1 accuracy in [0, 1], computed in eval mode without gradients on the model's device (the model's
    mode is restored).

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
                images, labels = to_model(model, images, labels)
                correct += int((main_output(model(images)).argmax(dim=1) == labels).sum())
    finally:
        model.train(was_training)
    return correct / len(dataset)


@dataclass(frozen=True)
class Scores:
    """A model's scores on a data set.

    Attributes:
        accuracy: top-1 accuracy in [0, 1].
        loss: mean cross-entropy.
        kl: mean KL divergence from a reference network's output distribution to the model's (NaN without
            a reference).
    """

    accuracy: float
    loss: float
    kl: float = float("nan")


def score(model: nn.Module, dataset: Dataset, reference: nn.Module | None = None, batch_size: int = 256) -> Scores:
    """Accuracy, cross-entropy and (given ``reference``, on the same device) KL to the reference, in one pass
    in eval mode on the model's device.

    Cross-entropy and KL are continuous: on a holdout of a few thousand images they separate candidates
    whose accuracies differ by less than their standard error.
    """
    import torch.nn.functional as F

    from netadapt.training.distill import soft_kl

    if len(dataset) == 0:
        return Scores(float("nan"), float("nan"))
    modes = [(m, m.training) for m in (model, reference) if m is not None]
    for m, _ in modes:
        m.eval()
    correct, loss, kl = 0, 0.0, 0.0
    try:
        with torch.inference_mode():
            for images, labels in make_loader(dataset, batch_size, shuffle=False):
                images, labels = to_model(model, images, labels)
                logits = main_output(model(images))
                correct += int((logits.argmax(dim=1) == labels).sum())
                loss += float(F.cross_entropy(logits, labels, reduction="sum"))
                if reference is not None:
                    kl += float(soft_kl(logits, main_output(reference(images)))) * len(labels)
    finally:
        for m, was in modes:
            m.train(was)
    n = len(dataset)
    return Scores(correct / n, loss / n, kl / n if reference is not None else float("nan"))
