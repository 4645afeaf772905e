"""Magnitude criteria: a channel's importance is the norm of the filters that produce it.

Where a residual addition ties several layers into one group, the norms of all its producers are
combined (L2: root of the summed squares; L1: sum), so the whole group is ranked as one.
"""

from __future__ import annotations

import torch

from netadapt.criteria.base import Criterion, producer_weights


class L2Magnitude(Criterion):
    name = "l2"

    def scores(self, model, group):
        return torch.sqrt(sum((w.double() ** 2).sum(dim=1) for w in producer_weights(model, group)))


class L1Magnitude(Criterion):
    name = "l1"

    def scores(self, model, group):
        return sum(w.double().abs().sum(dim=1) for w in producer_weights(model, group))
