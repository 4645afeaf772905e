"""What a data source returns: the three splits and what a model needs to know about them."""

from __future__ import annotations

from dataclasses import dataclass

from torch.utils.data import Dataset


@dataclass(frozen=True)
class DataBundle:
    """A loaded data set, split three ways.

    Attributes:
        name: the source string it was loaded from.
        train: training split (minus the holdout); yields (normalized float C x H x W tensor, int label).
        holdout: split carved from the training data with a fixed seed; NetAdapt ranks candidates on it.
        test: the test split; only for reporting final accuracy.
        num_classes: number of classes.
        input_shape: (C, H, W) of one image.
        augment: the augmentation suited to the data: ``"none"``, ``"crop"`` or ``"cifar"``.
    """

    name: str
    train: Dataset
    holdout: Dataset
    test: Dataset
    num_classes: int
    input_shape: tuple[int, int, int]
    augment: str = "none"
