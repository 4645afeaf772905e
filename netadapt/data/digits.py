"""scikit-learn's handwritten digits: 1,797 real 8x8 grayscale images of 0-9, shipped with the wheel.

Images are upsampled bilinearly to 32x32 by default (``image_size`` changes that) and kept as one
channel. The train/test split is a fixed 80/20 random split (seed 0, whatever ``load_data``'s seed):
1,438 training and 359 test images. Normalization uses the training split's mean and deviation.
"""

from __future__ import annotations

import torch

from netadapt.data.dataset import ImageTensorDataset, channel_stats
from netadapt.data.registry import RawData, register_source
from netadapt.data.resize import resize
from netadapt.errors import UserError

TEST_FRACTION = 0.2
SPLIT_SEED = 0


@register_source("digits", "digits")
def load_digits(argument: str | None, image_size: int | None) -> RawData:
    if argument:
        raise UserError(f"digits takes no argument, got 'digits:{argument}'")
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    images = torch.from_numpy(data.images).float().div_(16.0).unsqueeze(1)
    images = resize(images, image_size or 32).clamp_(0.0, 1.0)
    labels = torch.from_numpy(data.target).long()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = int(round(TEST_FRACTION * len(images)))
    test_rows, train_rows = order[:n_test].sort().values, order[n_test:].sort().values
    mean, std = channel_stats(images[train_rows])
    return RawData(
        train=ImageTensorDataset(images[train_rows], labels[train_rows], mean, std),
        test=ImageTensorDataset(images[test_rows], labels[test_rows], mean, std),
        num_classes=10,
        augment="crop",
    )
