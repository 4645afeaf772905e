"""Handwritten digits read as token sequences: scikit-learn's 8x8 digits (shipped with it, nothing to download),
each image the 64 ink levels (0 to 16) of its pixels in reading order, the label its digit."""

from __future__ import annotations

from dataclasses import dataclass

import torch

VOCAB = 17
LENGTH = 64


@dataclass(frozen=True)
class TokenSplits:
    """Train, holdout and test sequences (int64, (n, 64)) and labels, from disjoint digits."""

    train: tuple[torch.Tensor, torch.Tensor]
    holdout: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]


def digit_tokens(seed: int = 0, holdout: int = 300, test: int = 297) -> TokenSplits:
    """The 1,797 digits as token sequences, shuffled by ``seed`` and split three ways."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    tokens = torch.as_tensor(digits.images.reshape(len(digits.images), -1), dtype=torch.int64)
    labels = torch.as_tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(seed))
    tokens, labels = tokens[order], labels[order]
    first, second = len(tokens) - holdout - test, len(tokens) - test
    return TokenSplits((tokens[:first], labels[:first]), (tokens[first:second], labels[first:second]),
                       (tokens[second:], labels[second:]))
