"""The uniform width multiplier applied to a trained network: every group keeps the same fraction."""

from __future__ import annotations

import copy
from torch import nn

from netadapt.criteria.base import Criterion
from netadapt.latency.grid import channel_grid, group_grid
from netadapt.pruning import analyze, keep_channels


def uniform_channels(groups: dict, width: float, step: int = 1) -> dict[str, int]:
    """Each group's channel count at ``width``: width x size rounded to the nearest count on NetAdapt's grid
    (multiples of ``step`` below the size, and the size itself; ties round up).

    With ``step`` 1 this is round(width x size), at least 1. A step of 8 matches the zoo's width multipliers
    (``make_divisible``) and the run's own grid: ONNX Runtime's CPU kernels run counts that are not multiples
    of 8 far slower, which would make an unrounded uniform network slower than a wider one.

    Args:
        groups: group name -> ``ChannelGroup`` (its block multiple and smallest size are kept), or -> size.
    """
    if not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1], got {width}")

    def grid(g):
        return group_grid(g, g.size, step) if hasattr(g, "size") else channel_grid(g, step)

    return {name: min(grid(g), key=lambda c: (abs(c - width * getattr(g, "size", g)), -c))
            for name, g in groups.items()}


def uniform_prune(model: nn.Module, input_shape: tuple[int, ...], width: float, criterion: Criterion,
                  step: int = 1, frozen: dict[str, str] | None = None, rounding=None) -> nn.Module:
    """A copy of ``model`` with every channel group pruned to ``width`` of its size (see ``uniform_channels``).

    Which channels stay in each group is decided by ``criterion`` on the unpruned weights, as NetAdapt
    decides them, so the baseline starts from the same trained weights as the run. ``frozen`` (the run's
    frozen groups) skips checking the groups again. ``rounding(groups, width, step)`` gives the counts instead
    of ``uniform_channels`` (``netadapt.baseline.fast.FastRounding``: each rounded to a count the device runs
    fast).
    """
    pruned = copy.deepcopy(model)
    graph = analyze(pruned, input_shape, validate=frozen is None, frozen=frozen)
    counts = (rounding or uniform_channels)(graph.groups, width, step)
    keep = {g: criterion.select(pruned, graph.groups[g], n) for g, n in counts.items() if n < graph.groups[g].size}
    if keep:
        keep_channels(pruned, graph, keep)
    return pruned
