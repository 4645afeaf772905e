"""The uniform width multiplier applied to a trained network: every group keeps the same fraction."""

from __future__ import annotations

import copy
import math

from torch import nn

from netadapt.criteria.base import Criterion
from netadapt.pruning import analyze, keep_channels


def uniform_channels(sizes: dict[str, int], width: float) -> dict[str, int]:
    """Each group's channel count at ``width``: round(width x size), at least 1 and at most size."""
    if not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1], got {width}")
    return {g: min(n, max(1, math.floor(width * n + 0.5))) for g, n in sizes.items()}


def uniform_prune(model: nn.Module, input_shape: tuple[int, ...], width: float, criterion: Criterion) -> nn.Module:
    """A copy of ``model`` with every channel group pruned to ``width`` of its size.

    Which channels stay in each group is decided by ``criterion`` on the unpruned weights, as NetAdapt
    decides them, so the baseline starts from the same trained weights as the run.
    """
    pruned = copy.deepcopy(model)
    graph = analyze(pruned, input_shape)
    counts = uniform_channels(graph.sizes(), width)
    keep = {g: criterion.select(pruned, graph.groups[g], n) for g, n in counts.items() if n < graph.groups[g].size}
    if keep:
        keep_channels(pruned, graph, keep)
    return pruned
