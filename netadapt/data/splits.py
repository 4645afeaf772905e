"""Deterministic subsets: size limits and the holdout carved from the training split."""

from __future__ import annotations

import torch

from netadapt.data.dataset import ImageTensorDataset
from netadapt.errors import UserError


def holdout_size(holdout: int | float, n: int) -> int:
    """Resolve ``holdout`` against a training split of ``n`` images.

    A float below 1 is a fraction of ``n``; anything else is a count of images.
    """
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)):
        raise UserError(f"holdout must be a count or a fraction, got {holdout!r}")
    if isinstance(holdout, float) and holdout < 1:
        if holdout < 0:
            raise UserError(f"holdout fraction must be in [0, 1), got {holdout}")
        size = int(round(holdout * n))
    elif float(holdout).is_integer():
        size = int(holdout)
    else:
        raise UserError(f"holdout must be a fraction below 1 or a whole count, got {holdout}")
    if size < 0 or size >= n:
        raise UserError(f"a holdout of {size} images leaves no training data out of {n}")
    return size


def limit(dataset: ImageTensorDataset, count: int | None, seed: int) -> ImageTensorDataset:
    """A random subset of at most ``count`` images (fixed by ``seed``); all of them if ``count`` is None."""
    if count is None or count >= len(dataset):
        return dataset
    if count < 1:
        raise UserError(f"a size limit must be at least 1, got {count}")
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return dataset.subset(order[:count].sort().values)


def split_holdout(train: ImageTensorDataset, holdout: int | float, seed: int
                  ) -> tuple[ImageTensorDataset, ImageTensorDataset]:
    """Split off a random holdout of the training data; the same ``seed`` gives the same split."""
    size = holdout_size(holdout, len(train))
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    return train.subset(order[size:].sort().values), train.subset(order[:size].sort().values)
