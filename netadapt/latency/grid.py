"""The channel counts a NetAdapt run may visit."""

from __future__ import annotations

import math

from netadapt.pruning.graph import ChannelGroup, NetworkGraph


def channel_grid(size: int, step: int, multiple: int = 1, minimum: int = 1) -> list[int]:
    """Counts a group of ``size`` channels may be pruned to: multiples of ``step`` (and of ``multiple``,
    for groups whose blocks shrink alike) below it, at least ``minimum``, and itself.

    Where ``step`` and ``multiple`` > 1 together leave no count below ``size``, the multiples of ``multiple``
    are used.

    >>> channel_grid(20, 8)
    [8, 16, 20]
    >>> channel_grid(32, 8, multiple=16)
    [16, 32]
    """
    if step < 1:
        raise ValueError("channel step must be >= 1")
    unit = math.lcm(step, multiple)
    counts = {c for c in range(unit, size, unit) if c >= minimum}
    if not counts and multiple > 1:
        counts = {c for c in range(multiple, size, multiple) if c >= minimum}
    return sorted(counts | {size})


def group_grid(group: ChannelGroup, original_size: int, step: int) -> list[int]:
    """The grid of one group, from its size at the start of the run."""
    return channel_grid(original_size, step, group.unit, group.min_size)


def visitable_configs(graph: NetworkGraph, step: int) -> list[dict[str, int]]:
    """One configuration per (group, smaller count on its grid), the other groups as they are: every
    network the first NetAdapt iteration can propose."""
    configs = []
    for name, group in graph.groups.items():
        for count in group_grid(group, group.size, step):
            if count < group.size:
                configs.append({name: count})
    return configs


def probe_grids(graph: NetworkGraph, original: dict[str, int], step: int) -> dict[str, list[int]]:
    """Each group's counts below its current size that a search may probe (``group_grid``)."""
    return {name: [c for c in group_grid(g, original[name], step) if c < g.size]
            for name, g in graph.groups.items()}
