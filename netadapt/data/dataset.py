"""In-memory image data sets: raw pixels kept as one tensor, normalized on the way out."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class ImageTensorDataset(Dataset):
    """Images held in memory as one (N, C, H, W) tensor, with labels and per-channel normalization.

    ``uint8`` pixels are scaled by 1/255, floating-point pixels are taken as already in [0, 1]; both are
    then normalized with ``(x - mean) / std``. Subsets share the pixel storage.

    Args:
        images: (N, C, H, W) uint8 or float tensor.
        labels: (N,) integer tensor.
        mean: per-channel mean of the scaled pixels.
        std: per-channel standard deviation of the scaled pixels.
        indices: optional positions into ``images`` that this data set exposes (a view).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: tuple[float, ...],
                 std: tuple[float, ...], indices: torch.Tensor | None = None):
        if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"images must be (N, C, H, W) and labels (N,), got {tuple(images.shape)} "
                             f"and {tuple(labels.shape)}")
        self.images = images
        self.labels = labels.long()
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.indices = torch.arange(len(images)) if indices is None else indices.long()

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        images, labels = self.get_batch(torch.tensor([i]))
        return images[0], int(labels[0])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def get_batch(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalized float images and labels at ``positions`` (indices into this data set)."""
        rows = self.indices[positions]
        return self.normalize(self.images[rows]), self.labels[rows]

    def normalize(self, raw: torch.Tensor) -> torch.Tensor:
        x = raw.float()
        if raw.dtype == torch.uint8:
            x = x.mul_(1.0 / 255.0)
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x - mean) / std

    def subset(self, positions: torch.Tensor) -> "ImageTensorDataset":
        """A view of this data set restricted to ``positions`` (indices into this data set)."""
        return ImageTensorDataset(self.images, self.labels, self.mean, self.std, self.indices[positions])

    def targets(self) -> torch.Tensor:
        """All labels, in order."""
        return self.labels[self.indices]


def channel_stats(images: torch.Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of images scaled to [0, 1].

    uint8 images go through a 256-bin histogram per channel (exact and fast); float images are
    summed in float64 chunks to bound memory.
    """
    channels = images.shape[1]
    if images.dtype == torch.uint8:
        values = torch.arange(256, dtype=torch.float64) / 255.0
        means, stds = [], []
        for c in range(channels):
            hist = torch.bincount(images[:, c].reshape(-1), minlength=256).double()
            mean = (hist * values).sum() / hist.sum()
            var = (hist * (values - mean) ** 2).sum() / hist.sum()
            means.append(float(mean))
            stds.append(max(float(var.sqrt()), 1e-6))
        return tuple(means), tuple(stds)
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros_like(total)
    for start in range(0, len(images), chunk):
        x = images[start:start + chunk].double()
        total += x.sum(dim=(0, 2, 3))
        squares += x.pow(2).sum(dim=(0, 2, 3))
    count = images.numel() // channels
    mean = total / count
    std = (squares / count - mean.pow(2)).clamp_min(1e-12).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())
