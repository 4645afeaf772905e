"""Random ranking, seeded: the control every other criterion should beat."""

from __future__ import annotations

import zlib

import torch

from netadapt.criteria.base import Criterion


class RandomCriterion(Criterion):
    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def scores(self, model, group):
        # A fixed seed per (run seed, group, size) keeps runs reproducible and resumable.
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + zlib.crc32(f"{group.name}/{group.size}".encode()))
        return torch.rand(group.size, generator=gen, dtype=torch.float64)
