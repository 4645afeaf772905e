"""Digit canvases: a segmentation data set made offline from scikit-learn's 1,797 real 8x8 handwritten digits.

Each canvas (64x64 by default) holds one to three digits, each upsampled bilinearly to a random square size
(14 to 24 pixels) and pasted at a random position where it overlaps no other digit's square. A pixel is
labelled with its digit's class + 1 where the upsampled intensity (scaled to [0, 1]) exceeds ``threshold``,
and 0 (background) everywhere else: 11 classes. The image blends a per-canvas background grey into a
per-digit ink colour by the upsampled intensity, plus Gaussian noise.

Everything follows from the seed: the source digits are split once into disjoint train, holdout and test
pools (60/20/20), and each split's canvases are drawn from its own pool with its own random stream.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

NUM_CLASSES = 11  # background + the digits 0-9
SPLITS = ("train", "holdout", "test")
SOURCE_FRACTIONS = (0.6, 0.2, 0.2)
_PLACEMENT_TRIES = 20


@dataclass(frozen=True)
class Placement:
    """One digit pasted on a canvas.

    Attributes:
        source: index of the digit in ``sklearn.datasets.load_digits()``.
        digit: its class, 0-9 (labelled ``digit + 1`` in the mask).
        top: row of the square's top-left corner.
        left: column of the square's top-left corner.
        size: side of the square it was upsampled to.
    """

    source: int
    digit: int
    top: int
    left: int
    size: int


def upsample_digit(image: torch.Tensor, size: int) -> torch.Tensor:
    """An 8x8 digit with intensities in [0, 1], resized bilinearly to ``size`` x ``size``, clamped to [0, 1]."""
    up = F.interpolate(image.reshape(1, 1, *image.shape[-2:]).float(), size=(size, size), mode="bilinear",
                       align_corners=False)
    return up[0, 0].clamp_(0.0, 1.0)


class DigitCanvases(Dataset):
    """Canvases and their masks, held in memory.

    Attributes:
        images: (N, C, H, W) float32 images.
        masks: (N, H, W) int64 labels, 0 background and ``digit + 1`` on a digit's stroke.
        placements: per canvas, the digits pasted on it.
        recipe: ``(seed, split, count, options)`` when the canvases are a split of
            :func:`load_digit_segmentation`: they then pickle as the recipe and are drawn again when
            unpickled (a few bytes sent to a worker process instead of tens of megabytes).

    Items are ``(image, mask)``; ``get_batch`` gathers several at once (``netadapt.data.loader`` uses it).
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, placements: list[list[Placement]],
                 recipe: tuple | None = None):
        if len(images) != len(masks) or len(images) != len(placements):
            raise ValueError(f"{len(images)} images, {len(masks)} masks and {len(placements)} placement lists")
        self.images = images
        self.masks = masks
        self.placements = placements
        self.recipe = recipe

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.masks[index]

    def get_batch(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[positions], self.masks[positions]

    def __reduce__(self):
        if self.recipe is None:
            return super().__reduce__()
        return render_split, self.recipe


def _overlaps(box: tuple[int, int, int], boxes: list[tuple[int, int, int]]) -> bool:
    top, left, size = box
    return any(top < t + s and t < top + size and left < l + s and l < left + size for t, l, s in boxes)


def render_canvases(digits: np.ndarray, labels: np.ndarray, pool: np.ndarray, count: int,
                    rng: np.random.Generator, *, size: int = 64, channels: int = 3, scales: tuple[int, int] = (14, 24),
                    per_canvas: tuple[int, int] = (1, 3), noise: float = 0.05, threshold: float = 0.4) -> DigitCanvases:
    """Draw ``count`` canvases from the digits at indices ``pool``.

    Args:
        digits: (K, 8, 8) intensities in [0, 1].
        labels: (K,) classes 0-9.
        pool: the indices of ``digits`` this split may use.
        count: canvases to draw.
        rng: the split's random stream (layout, sizes, colours and noise all come from it).
        size: canvas side in pixels.
        channels: image channels (the ink colour has one value per channel).
        scales: smallest and largest side of a pasted digit, inclusive.
        per_canvas: fewest and most digits per canvas, inclusive; a digit that finds no free square in
            20 tries is left out.
        noise: standard deviation of the Gaussian noise added to every pixel.
        threshold: upsampled intensity above which a pixel is labelled as the digit.
    """
    if not 0 < scales[0] <= scales[1] <= size:
        raise ValueError(f"digit sizes {scales} must lie in 1..{size}")
    images = torch.empty(count, channels, size, size)
    masks = torch.zeros(count, size, size, dtype=torch.int64)
    placements: list[list[Placement]] = []
    for n in range(count):
        background = float(rng.uniform(0.0, 0.3))
        canvas = torch.full((channels, size, size), background)
        boxes: list[tuple[int, int, int]] = []
        placed: list[Placement] = []
        for _digit in range(int(rng.integers(per_canvas[0], per_canvas[1] + 1))):
            source = int(rng.choice(pool))
            side = int(rng.integers(scales[0], scales[1] + 1))
            ink = torch.from_numpy(rng.uniform(0.6, 1.0, channels)).float()
            for _try in range(_PLACEMENT_TRIES):
                top, left = (int(v) for v in rng.integers(0, size - side + 1, 2))
                if not _overlaps((top, left, side), boxes):
                    break
            else:
                continue
            alpha = upsample_digit(torch.tensor(digits[source]), side)
            region = canvas[:, top:top + side, left:left + side]
            region.mul_(1 - alpha).add_(ink[:, None, None] * alpha)
            masks[n, top:top + side, left:left + side][alpha > threshold] = int(labels[source]) + 1
            boxes.append((top, left, side))
            placed.append(Placement(source, int(labels[source]), top, left, side))
        images[n] = canvas + noise * torch.from_numpy(rng.standard_normal(canvas.shape)).float()
        placements.append(placed)
    return DigitCanvases(images, masks, placements)


@functools.lru_cache(maxsize=1)
def source_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (1797, 8, 8) float32 intensities in [0, 1] and (1797,) int64 classes
    (read once per process; the arrays are read-only)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images, labels = (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def source_pools(count: int, seed: int) -> dict[str, np.ndarray]:
    """Disjoint, sorted index pools of the ``count`` source digits per split, split 60/20/20 by ``seed``."""
    order = np.random.default_rng([seed, 0]).permutation(count)
    ends = np.cumsum([int(round(f * count)) for f in SOURCE_FRACTIONS[:-1]])
    return {name: np.sort(part) for name, part in zip(SPLITS, np.split(order, ends))}


@dataclass
class DigitSegmentation:
    """The three splits of one seed.

    Attributes:
        train: canvases to train on.
        holdout: canvases to rank candidates on (what a task's ``evaluate`` scores).
        test: canvases for the final report only.
        num_classes: 11.
        pools: the source digit indices each split draws from (disjoint).
    """

    train: DigitCanvases
    holdout: DigitCanvases
    test: DigitCanvases
    num_classes: int
    pools: dict[str, np.ndarray]


def render_split(seed: int, split: str, count: int, options: dict) -> DigitCanvases:
    """The ``count`` canvases of one split (``"train"``, ``"holdout"`` or ``"test"``) for ``seed``, drawn with
    :func:`render_canvases`'s keyword ``options`` from that split's pool and random stream."""
    digits, labels = source_digits()
    pools = source_pools(len(digits), seed)
    rng = np.random.default_rng([seed, 1, SPLITS.index(split)])
    canvases = render_canvases(digits, labels, pools[split], count, rng, **options)
    canvases.recipe = (seed, split, count, dict(options))
    return canvases


def load_digit_segmentation(seed: int = 0, *, image_size: int = 64, channels: int = 3, train: int = 1024,
                            holdout: int = 256, test: int = 256, noise: float = 0.05,
                            scales: tuple[int, int] = (14, 24), threshold: float = 0.4) -> DigitSegmentation:
    """Digit canvases for ``seed``: the same arguments give the same tensors.

    A split's canvases do not depend on the other splits' counts.

    Args:
        seed: fixes the source split and every canvas.
        image_size: canvas side in pixels.
        channels: image channels.
        train: training canvases.
        holdout: holdout canvases.
        test: test canvases.
        noise: standard deviation of the pixel noise.
        scales: smallest and largest side of a pasted digit.
        threshold: intensity above which a pixel belongs to its digit.
    """
    options = {"size": image_size, "channels": channels, "scales": tuple(scales), "noise": noise,
               "threshold": threshold}
    counts = {"train": train, "holdout": holdout, "test": test}
    splits = {name: render_split(seed, name, counts[name], options) for name in SPLITS}
    return DigitSegmentation(**splits, num_classes=NUM_CLASSES, pools=source_pools(len(source_digits()[0]), seed))
