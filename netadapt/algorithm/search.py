"""One candidate per group: the largest channel count whose estimated latency meets the target.

Each count is judged on the network it would really be: a copy cut to that count is exported and its
nodes looked up (``LatencyEstimator``), so a count that changes which kernels the device runs (a layout
that needs multiples of 8 or 16 channels, say) is judged as the device will run it. The estimate is
anchored on the current model's measurement: ``anchor + table(candidate) - table(current)``.
"""

from __future__ import annotations

import math

import torch.nn as nn

from netadapt.latency.estimator import LatencyEstimator
from netadapt.latency.grid import group_grid
from netadapt.pruning import NetworkGraph, shrunk_copy


class CandidateEstimates:
    """Anchored latency estimates of one network cut in one group at a time (cached per count)."""

    def __init__(self, estimator: LatencyEstimator, model: nn.Module, graph: NetworkGraph, anchor_ms: float):
        self.estimator = estimator
        self.model = model
        self.graph = graph
        self.anchor_ms = anchor_ms
        self.current_ms = estimator.total(model, graph.input_shape)
        self._cache: dict[tuple, float] = {}
        self.probes = 0

    def table_ms(self, sizes: dict[str, int]) -> float:
        """Table latency of the network with ``sizes`` (group -> channels)."""
        key = tuple(sorted(sizes.items()))
        if key not in self._cache:
            self.probes += 1
            copy = shrunk_copy(self.model, self.graph, sizes)
            self._cache[key] = self.estimator.total(copy, self.graph.input_shape)
        return self._cache[key]

    def predicted(self, group: str, count: int) -> float:
        return self.anchor_ms + self.table_ms({group: count}) - self.current_ms


def largest_count_meeting(estimates: CandidateEstimates, group: str, original_size: int, step: int,
                          target_ms: float) -> tuple[int, float] | None:
    """The largest count on the group's grid (below its current size) predicted to meet the target.

    The first probe is the next count down. When it misses, the table's latency per channel from that
    probe says how far down the target lies, and the search jumps there, then walks up (to the largest
    count that still meets) or down (until one meets) one grid count at a time. It assumes latency falls
    with channels between probes; counts it skips are not looked at.

    Returns:
        (channels, predicted ms), or None when even the smallest count misses the target.
    """
    g = estimates.graph.groups[group]
    grid = [c for c in group_grid(g, original_size, step) if c < g.size]
    if not grid:
        return None
    i = len(grid) - 1  # index of the count being probed; grid ascends
    first = estimates.predicted(group, grid[i])
    if first <= target_ms:
        return grid[i], first
    saved = estimates.anchor_ms - first
    if saved > 0 and i > 0:
        per_channel = saved / (g.size - grid[i])
        wanted = g.size - (estimates.anchor_ms - target_ms) / per_channel
        i = max(0, min(i - 1, max(k for k in range(len(grid)) if grid[k] <= max(wanted, grid[0]))))
    else:
        i -= 1
    if i < 0:
        return None
    ms = estimates.predicted(group, grid[i])
    if ms <= target_ms:  # walk up while the next larger count still meets
        while i + 1 < len(grid) - 1:  # the last grid count was the first probe, and it missed
            up = estimates.predicted(group, grid[i + 1])
            if up > target_ms:
                break
            i, ms = i + 1, up
        return grid[i], ms
    while i > 0:  # walk down until one meets
        i -= 1
        ms = estimates.predicted(group, grid[i])
        if ms <= target_ms:
            return grid[i], ms
    return None


def smallest_network_ms(estimates: CandidateEstimates, original: dict[str, int], step: int) -> float:
    """Estimate of the network with every group at its smallest grid count.

    The measured latency is scaled by the table's ratio (smallest / current) rather than shifted by
    the table's difference: a whole-model measurement taken while the machine is busy is inflated
    by a factor, and a difference would carry all of that error into this bound.
    """
    graph = estimates.graph
    smallest = {g: group_grid(graph.groups[g], original[g], step)[0] for g in graph.groups}
    smallest = {g: min(n, graph.groups[g].size) for g, n in smallest.items()}
    ratio = estimates.table_ms(smallest) / estimates.current_ms
    return estimates.anchor_ms * (ratio if math.isfinite(ratio) else 1.0)
