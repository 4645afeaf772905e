"""One candidate per group: the largest channel count whose estimated latency meets the target.

Each count is judged on the network it would really be: its ONNX graph (a copy cut to that count and
exported, or written from two such exports of the group, see ``netadapt.latency.synthesis``) is optimised
for the device and its nodes looked up (``LatencyEstimator``), so a count that changes which kernels the
device runs (a layout that needs multiples of 8 or 16 channels, say) is judged as the device will run it. The estimate is
anchored on the current model's measurement and scaled by the table's ratio:
``anchor x table(candidate) / table(current)``. A ratio rather than a difference, because a measurement
taken while other work loads the machine is inflated by a factor: a table difference (timed at another
moment) added to an inflated anchor understates what a cut saves by that factor, and the search then
cuts far more than the schedule asked for.
"""

from __future__ import annotations

import math
import time

import torch.nn as nn

from netadapt.latency.estimator import LatencyEstimator, architecture_key
from netadapt.latency.grid import group_grid
from netadapt.pruning import NetworkGraph, shrunk_copy


class CandidateEstimates:
    """Anchored latency estimates of one network cut in one group at a time (cached per count).

    With ``synthesis`` (the default), a group's first two cuts are exported and every further count of it
    is written from them (``netadapt.latency.synthesis``) once they agree and the device runs the same
    nodes for the second cut written and exported; ``synthesised`` counts the cuts written.

    With ``grids`` (group -> the counts the caller may probe, ``netadapt.latency.grid.probe_grids``) as
    well, the rules of every group with three counts below its size are first learnt from three networks
    with every such group cut at once (``joint_cuts``), before the first cut that would be exported: three
    exports instead of two per group, after which every group's cuts, and cuts of several of them at once,
    are written. Where those exports cannot tell the groups apart (an integer that moves with two groups'
    counts, as a concatenation's width does), each group is learnt from its own two cuts as before.
    ``joint_exports`` counts the networks exported for that.

    ``exported``: the current network's ONNX export when the caller already has it (the loop has just
    exported it to measure it); otherwise it is exported here.
    """

    def __init__(self, estimator: LatencyEstimator, model: nn.Module, graph: NetworkGraph, anchor_ms: float,
                 synthesis: bool = True, exported: bytes | None = None, grids: dict[str, list[int]] | None = None):
        self.estimator = estimator
        self.model = model
        self.graph = graph
        self.anchor_ms = anchor_ms
        self._cache: dict[tuple, float] = {}
        self.probes = 0
        self.joint_exports = 0
        self._grids = grids if synthesis else None
        self._graphs = None
        shape = graph.input_shape
        self._key = architecture_key(model, shape)
        if synthesis:
            import onnx

            from netadapt.latency.synthesis import CandidateGraphs

            if exported is None:
                exported = estimator.export(model, shape)
            self._current = estimator.units_of_export(self._key, exported, shape)
            self._graphs = CandidateGraphs(onnx.load_model_from_string(exported), graph.sizes())
        else:
            self._current = estimator.units(model, shape)
        self._current_ms = None

    @property
    def current_ms(self) -> float:
        """Table latency of the current network (its missing nodes measured when first asked)."""
        if self._current_ms is None:
            self._current_ms = self.estimator.total_of(self._current)
        return self._current_ms

    @property
    def synthesised(self) -> int:
        """Cuts whose graph was written rather than exported."""
        return self._graphs.synthesised if self._graphs is not None else 0

    def table_ms(self, sizes: dict[str, int]) -> float:
        """Table latency of the network with ``sizes`` (group -> channels)."""
        key = tuple(sorted(sizes.items()))
        if key not in self._cache:
            self.probes += 1
            self._cache[key] = self.estimator.total_of(self.units(sizes))
        return self._cache[key]

    def units(self, sizes: dict[str, int]) -> list:
        """The device's nodes for the network with ``sizes`` (group -> channels); nothing is measured."""
        estimator, shape, graphs = self.estimator, self.graph.input_shape, self._graphs
        sizes = {g: n for g, n in sizes.items() if n != self.graph.groups[g].size}
        if not sizes:
            return self._current
        if graphs is not None:
            written = self._written(sizes)
            if written is not None:
                return written
        one = len(sizes) == 1 and graphs is not None
        if one:
            (group, count), = sizes.items()
        copy = shrunk_copy(self.model, self.graph, sizes)
        if not one:
            return estimator.units(copy, shape)
        key = architecture_key(copy, shape)
        known = estimator.known(key)
        if known is not None:  # seen before (another iteration's search)
            return known
        exported = estimator.export(copy, shape)
        units = estimator.units_of_export(key, exported, shape)
        t0 = time.perf_counter()
        check = graphs.observe(group, count, exported)
        estimator.clock("synthesis", t0)
        if check is not None:  # the group's second cut: do the written graph's device nodes agree?
            try:
                written = estimator.onnx_units(check, shape)
                same = [u.key for u in written] == [u.key for u in units]
            except Exception:  # noqa: BLE001 - a written graph the device refuses is simply not used
                same = False
            graphs.confirm(group, same)
        return units

    def _written(self, sizes: dict[str, int]) -> list | None:
        """The device's nodes for ``sizes`` from a written graph, when the rules allow one (learning them
        jointly first, where that has not been tried); None when the network is to be exported."""
        graphs, estimator, shape = self._graphs, self.estimator, self.graph.input_shape
        if self._grids is not None and not all(graphs.can(g) for g in sizes):
            self._learn_jointly()
        if not all(graphs.can(g) for g in sizes):
            return None
        t0 = time.perf_counter()
        if len(sizes) == 1:
            (group, count), = sizes.items()
            written = graphs.synthesise(group, count)
        else:
            written = graphs.synthesise_many(sizes)
        estimator.clock("synthesis", t0)
        if written is None:
            return None
        return estimator.units_of_export(("synthesised", self._key, tuple(sorted(sizes.items()))), written, shape)

    def _learn_jointly(self) -> None:
        """Learn every group's rule from three networks with all of them cut at once (once)."""
        from netadapt.latency.synthesis import joint_cuts

        grids, self._grids = self._grids, None
        cuts = joint_cuts(self.graph.sizes(), grids)
        if cuts is None:
            return
        estimator, shape, graphs = self.estimator, self.graph.input_shape, self._graphs
        exports = []
        for cut in cuts:
            try:
                copy = shrunk_copy(self.model, self.graph, cut)
                exported = estimator.export(copy, shape)
            except Exception:  # noqa: BLE001 - a joint cut the model or exporter refuses: each group alone
                return
            exports.append((architecture_key(copy, shape), exported))
            self.joint_exports += 1
            if len(exports) == 2:
                t0 = time.perf_counter()
                learnt = graphs.learn_jointly(cuts, [e for _, e in exports])
                estimator.clock("synthesis", t0)
                if not learnt:
                    return
        t0 = time.perf_counter()
        check = graphs.check_jointly(cuts[2], exports[2][1])
        estimator.clock("synthesis", t0)
        if check is None:
            return
        try:
            same = ([u.key for u in estimator.onnx_units(check, shape)]
                    == [u.key for u in estimator.units_of_export(*exports[2], shape)])
        except Exception:  # noqa: BLE001 - a written graph the device refuses is simply not used
            same = False
        graphs.confirm_jointly(same)

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


def first_iteration_search(estimator: LatencyEstimator, model: nn.Module, graph: NetworkGraph, step: int,
                           synthesis: bool = True, progress=lambda groups: groups,
                           joint: bool = True) -> CandidateEstimates:
    """Probe the networks the first NetAdapt iteration's search probes, with run's default schedule: the
    table's estimate of the start stands in for its measurement (``anchor_ms`` of the result). Every node
    the probed networks run is looked up, and measured where the estimator's profiler is asked to.

    Args:
        progress: wraps the list of groups (a progress bar).
        joint: learn the groups' rules from cuts of all of them at once first (``CandidateEstimates``).
    """
    from netadapt.algorithm.config import RunConfig
    from netadapt.latency.grid import probe_grids

    estimates = CandidateEstimates(estimator, model, graph, float("nan"), synthesis=synthesis,
                                   grids=probe_grids(graph, graph.sizes(), step) if joint else None)
    start = estimates.anchor_ms = estimates.current_ms
    target = start - RunConfig().schedule.reduction_ms(0, start)
    smallest_network_ms(estimates, graph.sizes(), step)
    for group in progress(list(graph.groups)):
        largest_count_meeting(estimates, group, graph.groups[group].size, step, target)
    return estimates
