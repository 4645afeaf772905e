"""A pruning criterion ranks the channels of one group: the highest-scoring ones stay."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn as nn

from netadapt.pruning.graph import ChannelGroup


class Criterion(ABC):
    """Scores channels; ``select`` keeps the ``n`` best (ties go to the lower index)."""

    name: str = "base"

    @abstractmethod
    def scores(self, model: nn.Module, group: ChannelGroup) -> torch.Tensor:
        """One score per channel of ``group`` (higher is more important)."""

    def select(self, model: nn.Module, group: ChannelGroup, n: int) -> list[int]:
        s = self.scores(model, group).detach().double().cpu()
        if s.shape != (group.size,):
            raise RuntimeError(f"criterion {self.name} gave {tuple(s.shape)} scores for {group.size} channels")
        order = sorted(range(group.size), key=lambda i: (-float(s[i]), i))
        return sorted(order[:n])


def producer_weights(model: nn.Module, group: ChannelGroup) -> list[torch.Tensor]:
    """Each producer's weight as (channels, -1): one row per output channel of the group."""
    modules = dict(model.named_modules())
    return [modules[name].weight.detach().reshape(group.size, -1) for name in group.producers]
