"""One candidate per group: the largest channel count whose estimated latency meets the target.

Each count is judged on the network it would really be: a copy cut to that count is exported and its
nodes looked up (``LatencyEstimator``), so a count that changes which kernels the device runs (a layout
that needs multiples of 8 or 16 channels, say) is judged as the device will run it. The estimate is
anchored on the current model's measurement and scaled by the table's ratio:
``anchor x table(candidate) / table(current)``. A ratio rather than a difference, because a measurement
taken while other work loads the machine is inflated by a factor: a table difference (timed at another
moment) added to an inflated anchor understates what a cut saves by that factor, and the search then
cuts far more than the schedule asked for.
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
        return self.anchor_ms * self.table_ms({group: count}) / self.current_ms


def largest_count_meeting(estimates: CandidateEstimates, group: str, original_size: int, step: int,
                          target_ms: float, hint: int | None = None) -> tuple[int, float] | None:
    """The largest count on the group's grid (below its current size) predicted to meet the target.

    The first probe is ``hint`` (the count the previous iteration found for this group, which another
    group's pruning rarely moves far) or else the next count down. From a probe that misses, the search
    jumps down by the table's latency per channel between the current size and that probe (1, 2, 4, ...
    counts down while the probes save nothing) until a probe meets. From the meeting probe it gallops up
    (1, 2, 4, ... counts, below the lowest count seen to miss) to a count that misses, and bisects the gap
    between the two. It assumes latency falls with channels between probes; counts it skips are not
    looked at.

    Returns:
        (channels, predicted ms), or None when even the smallest count misses the target.
    """
    g = estimates.graph.groups[group]
    grid = [c for c in group_grid(g, original_size, step) if c < g.size]
    if not grid:
        return None
    meets = {}

    def probe(k):
        if k not in meets:
            ms = estimates.predicted(group, grid[k])
            meets[k] = (ms <= target_ms, ms)
        return meets[k]

    top = len(grid) - 1
    i = grid.index(hint) if hint in grid else top
    ok, ms = probe(i)
    missed = None  # the lowest index seen to miss the target, if any
    down = 1  # while the probes save nothing (a plateau), each step down is twice the last
    while not ok:  # jump down by the table's per-channel latency, or step down when it says nothing
        missed = i
        saved = estimates.anchor_ms - ms
        if i == 0:
            return None
        nxt = max(0, i - down)
        down *= 2
        if saved > 0:
            wanted = g.size - (estimates.anchor_ms - target_ms) * (g.size - grid[i]) / saved
            nxt = min(i - 1, max([0] + [k for k in range(len(grid)) if grid[k] <= wanted]))
        i = nxt
        ok, ms = probe(i)
    # Gallop up from the meeting probe (1, 2, 4, ... counts, below the lowest miss) to a count that
    # misses, then bisect the gap: a jump that landed right costs one more probe, one that overshot a
    # plateau in the latency a few.
    jump, ceiling = 1, top + 1 if missed is None else missed
    while i + 1 < ceiling:
        up = min(i + jump, ceiling - 1)
        if not probe(up)[0]:
            ceiling = up
            break
        i, jump = up, 2 * jump
    while ceiling - i > 1:  # grid[i] meets, grid[ceiling] (where it exists) does not
        mid = (i + ceiling) // 2
        if probe(mid)[0]:
            i = mid
        else:
            ceiling = mid
    return grid[i], probe(i)[1]


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
