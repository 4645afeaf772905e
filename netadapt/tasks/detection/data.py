"""Detection canvases made of real handwritten digits, with nothing to download.

scikit-learn ships 1797 8x8 handwritten digits (``sklearn.datasets.load_digits``, 10 classes). They are
split once, by a seeded permutation, into disjoint train, holdout and test pools, so held-out canvases show
digits never seen in training. A canvas pastes 1 to 4 digits of its split's pool, each scaled bilinearly to
a random size (log-uniform between the bounds, mild aspect jitter) and contrast, at random positions where
their squares do not overlap, on a dark background with optional Gaussian noise. A digit's box is the tight
box of its ink: the pixels above a quarter of its peak value.

Canvases are rendered on demand from ``(seed, split, index)``, so a data set of any length costs only
its source digits in memory (and pickles as small), and the same index always gives the same canvas.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

SPLITS = ("train", "holdout", "test")
INK = 0.25  # the share of a digit's peak value above which a pixel is ink (and inside its box)


def split_digits(seed: int = 0, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's digits, split into disjoint pools by a permutation drawn from ``seed``.

    Returns:
        split name -> (images (n, 8, 8) float32 in [0, 1], labels (n,) int64).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(images))
    bounds = np.cumsum([0, *(round(f * len(images)) for f in fractions[:-1]), len(images)])
    bounds[-1] = len(images)
    return {name: (images[order[a:b]], digits.target[order[a:b]].astype(np.int64))
            for name, a, b in zip(SPLITS, bounds[:-1], bounds[1:])}


class DigitCanvases(Dataset):
    """Canvases of pasted digits.

    Args:
        images: the source digits (n, 8, 8), values in [0, 1].
        labels: their classes (n,).
        length: canvases in the data set.
        seed: with ``stream``, fixes every canvas.
        stream: tells apart data sets built from the same seed (the split's index).
        image_size: canvas height and width.
        channels: 1 (grey) or 3 (each digit tinted by a random colour).
        digits: the fewest and most digits on a canvas (fewer when no free place is found).
        digit_size: the smallest and largest side, in pixels, of a digit's scaled 8x8 square.
        noise: standard deviation of the Gaussian background noise (0: a clean canvas).

    Items are ``(image (channels, H, W) float32 in [0, 1], {"boxes": (K, 4) float32 xyxy pixels,
    "labels": (K,) int64})``.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, length: int, *, seed: int = 0, stream: int = 0,
                 image_size: int = 96, channels: int = 1, digits: tuple[int, int] = (1, 4),
                 digit_size: tuple[int, int] = (12, 48), noise: float = 0.05):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if not 1 <= digits[0] <= digits[1] or not 4 <= digit_size[0] <= digit_size[1] <= image_size:
            raise ValueError(f"bad digit counts {digits} or sizes {digit_size} for {image_size}px canvases")
        self.images = torch.as_tensor(images, dtype=torch.float32)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.length = length
        self.seed, self.stream = seed, stream
        self.image_size, self.channels = image_size, channels
        self.digits, self.digit_size, self.noise = tuple(digits), tuple(digit_size), noise
        self.num_classes = 10

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.stream, index])
        size = self.image_size
        canvas = torch.zeros(self.channels, size, size)
        squares, boxes, labels = [], [], []
        for _ in range(rng.integers(self.digits[0], self.digits[1] + 1)):
            place = self._place(rng, squares)
            if place is None:
                break
            y, x, h, w = place
            squares.append(place)
            source = int(rng.integers(len(self.images)))
            digit = F.interpolate(self.images[source][None, None], size=(h, w), mode="bilinear",
                                  align_corners=False)[0, 0]
            digit = digit * float(rng.uniform(0.6, 1.0)) / digit.max().clamp(min=1e-6)
            colour = torch.ones(1) if self.channels == 1 else torch.as_tensor(rng.uniform(0.4, 1.0, 3),
                                                                              dtype=torch.float32)
            region = canvas[:, y:y + h, x:x + w]
            torch.maximum(region, digit[None] * colour[:, None, None], out=region)
            rows = torch.nonzero((digit > INK * digit.max()).any(1)).flatten()
            cols = torch.nonzero((digit > INK * digit.max()).any(0)).flatten()
            boxes.append([x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1])
            labels.append(int(self.labels[source]))
        if self.noise > 0:
            noise = torch.as_tensor(rng.standard_normal((self.channels, size, size)), dtype=torch.float32)
            canvas = (canvas + self.noise * noise).clamp_(0.0, 1.0)
        target = {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                  "labels": torch.tensor(labels, dtype=torch.int64)}
        return canvas, target

    def _place(self, rng: np.random.Generator, squares: list) -> tuple[int, int, int, int] | None:
        """A free (y, x, h, w) rectangle for the next digit, or None after 30 tries."""
        low, high = self.digit_size
        for _ in range(30):
            side = math.exp(rng.uniform(math.log(low), math.log(high)))
            aspect = math.exp(rng.uniform(-0.15, 0.15))
            h = int(min(self.image_size, max(4, round(side * aspect))))
            w = int(min(self.image_size, max(4, round(side / aspect))))
            y, x = int(rng.integers(0, self.image_size - h + 1)), int(rng.integers(0, self.image_size - w + 1))
            if all(y >= sy + sh or sy >= y + h or x >= sx + sw or sx >= x + w for sy, sx, sh, sw in squares):
                return y, x, h, w
        return None


def make_splits(seed: int = 0, sizes: tuple[int, int, int] = (20000, 300, 300), **canvas
                ) -> dict[str, DigitCanvases]:
    """Train, holdout and test canvases from disjoint pools of source digits.

    Args:
        seed: fixes the split of the source digits and every canvas.
        sizes: canvases in the train, holdout and test sets.
        canvas: passed to :class:`DigitCanvases` (``image_size``, ``channels``, ``digit_size`` ...).
    """
    pools = split_digits(seed)
    return {name: DigitCanvases(*pools[name], length, seed=seed, stream=i, **canvas)
            for i, (name, length) in enumerate(zip(SPLITS, sizes))}


def collate(items) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """A batch: (images (N, C, H, W), the N target dicts)."""
    return torch.stack([image for image, _ in items]), [target for _, target in items]


def batches(dataset: Dataset, batch_size: int, *, shuffle: bool = False, seed: int = 0, epoch: int = 0,
            drop_last: bool = False) -> Iterator[tuple[torch.Tensor, list[dict[str, torch.Tensor]]]]:
    """One pass over ``dataset`` in collated batches; a shuffled order is drawn from ``(seed, epoch)``."""
    n = len(dataset)
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).tolist()
    else:
        order = list(range(n))
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield collate([dataset[i] for i in order[start:start + batch_size]])
