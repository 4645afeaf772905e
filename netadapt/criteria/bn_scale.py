"""Batch-norm scale (network slimming): a channel's importance is |gamma| of its batch-norms.

Data-aware in the sense that gamma is learned to scale each channel's normalised activation; a
channel whose gamma is near zero contributes little whatever its filter norm.
"""

from __future__ import annotations

from netadapt.criteria.base import Criterion
from netadapt.criteria.magnitude import L2Magnitude


class BatchNormScale(Criterion):
    name = "bn_scale"

    def scores(self, model, group):
        modules = dict(model.named_modules())
        norms = [modules[n] for n in group.norms if getattr(modules[n], "weight", None) is not None]
        if not norms:
            return L2Magnitude().scores(model, group)  # a group without batch-norm (e.g. linear)
        return sum(m.weight.detach().double().abs() for m in norms)
