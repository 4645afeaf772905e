"""Batches from in-memory data sets: seeded shuffling and batch-level augmentation, no worker processes."""

from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Dataset, Subset

from netadapt.data import augment as augmentations


def gather(dataset: Dataset, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels at ``positions``, in one tensor each (fast path for in-memory data sets)."""
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(positions)
    if isinstance(dataset, Subset):  # e.g. a holdout cut down with torch's Subset: stay on the fast path
        return gather(dataset.dataset, torch.as_tensor(dataset.indices)[positions])
    items = [dataset[int(i)] for i in positions]
    return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])


class BatchLoader:
    """Iterates (images, labels) batches; epoch ``e`` is shuffled and augmented from ``(seed, e)``,
    so any epoch replays identically, including after a resume.

    Args:
        dataset: the data set (an ``ImageTensorDataset`` is batched without per-item work).
        batch_size: images per batch.
        shuffle: draw a fresh random order each epoch.
        seed: fixes orders and augmentations.
        augment: ``"none"``, ``"crop"`` or ``"cifar"``.
        drop_last: skip a final partial batch.
    """

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0, augment: str = "none",
                 drop_last: bool = False):
        augmentations.check_augment(augment)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.augment = augment
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and augmentations the next iteration replays."""
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = len(self.dataset)
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        for i in range(len(self)):
            images, labels = gather(self.dataset, order[i * self.batch_size:(i + 1) * self.batch_size])
            yield augmentations.apply(self.augment, images, generator), labels
        self.epoch += 1


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0, augment: str = "none",
                drop_last: bool = False) -> BatchLoader:
    """A :class:`BatchLoader` over ``dataset`` (see there)."""
    return BatchLoader(dataset, batch_size, shuffle, seed=seed, augment=augment, drop_last=drop_last)


def first_batches(dataset: Dataset, batches: int, batch_size: int, seed: int = 0) -> list:
    """The first ``batches`` shuffled (images, labels) batches of ``dataset`` (seeded; no augmentation), with
    the batch size capped at the data set's size: what data-aware criteria score channels on."""
    loader = make_loader(dataset, min(batch_size, len(dataset)), shuffle=True, seed=seed)
    return [b for b, _ in zip(loader, range(batches))]
