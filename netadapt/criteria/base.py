"""A pruning criterion ranks the channels of one group: the highest-scoring ones stay."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn as nn

from netadapt.pruning.graph import ChannelGroup
from netadapt.pruning.remove import expand_positions


class Criterion(ABC):
    """Scores channels; ``select`` keeps the ``n`` best (ties go to the lower index)."""

    name: str = "base"

    @abstractmethod
    def scores(self, model: nn.Module, group: ChannelGroup) -> torch.Tensor:
        """One score per channel of ``group`` (higher is more important)."""

    def select(self, model: nn.Module, group: ChannelGroup, n: int) -> list[int]:
        """The ``n`` channels to keep. In a group whose blocks shrink alike (grouped convolutions, the parts
        of a chunk, a model width split into attention heads) the same positions are kept in every block,
        ranked by their mean score; the heads of an attention layer stay or leave whole, ranked by theirs."""
        s = self.scores(model, group).detach().double().cpu()
        if s.shape != (group.size,):
            raise RuntimeError(f"criterion {self.name} gave {tuple(s.shape)} scores for {group.size} channels")
        if n % group.unit:
            raise ValueError(f"group {group.name} keeps multiples of {group.unit} channels, not {n}")
        if group.head_size > 1:
            per_head = s.view(-1, group.head_size).mean(dim=1)
            heads = sorted(range(len(per_head)), key=lambda h: (-float(per_head[h]), h))[:n // group.head_size]
            return [h * group.head_size + j for h in sorted(heads) for j in range(group.head_size)]
        per_position = s.view(group.multiple, -1).mean(dim=0)
        order = sorted(range(len(per_position)), key=lambda i: (-float(per_position[i]), i))
        return expand_positions(group, sorted(order[:n // group.multiple]))


def producer_weights(model: nn.Module, group: ChannelGroup) -> list[torch.Tensor]:
    """Each producer's weight as (channels, -1): one row per output channel of the group."""
    modules = dict(model.named_modules())
    return [modules[name].weight.detach().reshape(group.size, -1) for name in group.producers]
