"""Seeds: one per call, derived from a run's seed and what the call is for, and how to apply one."""

from __future__ import annotations

import random
import zlib

import numpy as np
import torch


def derive_seed(base: int, *parts) -> int:
    """A seed for one purpose (an iteration's candidate, a baseline point ...) from the run's ``base`` seed:
    the same parts always give the same seed, different parts practically never do."""
    return (base * 1_000_003 + zlib.crc32("/".join(map(str, parts)).encode())) % (2**31)


def seed_everything(seed: int) -> None:
    """Seed torch, NumPy and Python's ``random`` (whatever a user's loop may draw from)."""
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    random.seed(seed)
