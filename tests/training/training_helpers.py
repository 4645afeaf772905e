"""What the training tests share: a tiny network, seeded."""

import torch

from netadapt.models import create_model


def tiny_model(seed: int = 0):
    """digits_cnn at width 0.25 for 3 classes, with initial weights from ``seed``."""
    torch.manual_seed(seed)
    return create_model("digits_cnn", num_classes=3, width_mult=0.25)
