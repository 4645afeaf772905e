"""One candidate per group: the largest channel count whose estimated latency meets the target.

The counts of a group's grid are probed through ``CandidateEstimates`` (``netadapt.algorithm.estimates``):
a jump down by the table's latency per channel, a gallop up and a bisection, several groups in step so
that the device's nodes of their networks are worked out together.
"""

from __future__ import annotations

import math

from torch import nn

from netadapt.algorithm.estimates import CandidateEstimates
from netadapt.errors import UserError
from netadapt.latency.estimator import LatencyEstimator
from netadapt.latency.grid import group_grid
from netadapt.pruning import NetworkGraph


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
    search = _count_search(estimates, group, original_size, step, target_ms, hint)
    try:
        count = next(search)
        while True:
            count = search.send(estimates.predicted(group, count))
    except StopIteration as done:
        return done.value


def largest_counts_meeting(estimates: CandidateEstimates, searches: dict[str, tuple[int, int | None]], step: int,
                           target_ms: float, done=lambda group: None) -> dict:
    """``largest_count_meeting`` for several groups (group -> (original size, hint)), in step: each round
    takes every unfinished search's next probe, and the device's nodes of all those networks are worked out
    together (``CandidateEstimates.prefetch``) before each is looked up, in group order. The probes are
    those of the searches one after another.

    Returns:
        group -> what ``largest_count_meeting`` returns, or the exception its probes raised (a
        ``UserError`` is raised at once). ``done(group)`` is called as each search ends.
    """
    results: dict = {}
    pending: dict = {}
    for group, (original, hint) in searches.items():
        search = _count_search(estimates, group, original, step, target_ms, hint)
        _advance(search, group, None, pending, results, done, first=True)
    while pending:
        estimates.prefetch([{group: count} for group, (_, count) in pending.items()])
        for group, (search, count) in list(pending.items()):
            try:
                ms = estimates.predicted(group, count)
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 - this group only (a cut the exporter refuses, say)
                del pending[group]
                results[group] = exc
                done(group)
                continue
            _advance(search, group, ms, pending, results, done)
    return results


def _advance(search, group, ms, pending, results, done, first=False) -> None:
    """Send a probe's result to a search: note its next probe in ``pending``, or its result when it ends."""
    try:
        count = next(search) if first else search.send(ms)
    except StopIteration as end:
        pending.pop(group, None)
        results[group] = end.value
        done(group)
        return
    pending[group] = (search, count)


def _count_search(estimates: CandidateEstimates, group: str, original_size: int, step: int, target_ms: float,
                  hint: int | None):
    """``largest_count_meeting`` as a generator: yields each count to probe, is sent its predicted ms, and
    returns the result."""
    g = estimates.graph.groups[group]
    grid = [c for c in group_grid(g, original_size, step) if c < g.size]
    if not grid:
        return None
    meets = {}

    def probe(k):
        if k not in meets:
            ms = yield grid[k]
            meets[k] = (ms <= target_ms, ms)
        return meets[k]

    top = len(grid) - 1
    i = grid.index(hint) if hint in grid else top
    ok, ms = yield from probe(i)
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
        ok, ms = yield from probe(i)
    # Gallop up from the meeting probe (1, 2, 4, ... counts, below the lowest miss) to a count that
    # misses, then bisect the gap: a jump that landed right costs one more probe, one that overshot a
    # plateau in the latency a few.
    jump, ceiling = 1, top + 1 if missed is None else missed
    while i + 1 < ceiling:
        up = min(i + jump, ceiling - 1)
        if not (yield from probe(up))[0]:
            ceiling = up
            break
        i, jump = up, 2 * jump
    while ceiling - i > 1:  # grid[i] meets, grid[ceiling] (where it exists) does not
        mid = (i + ceiling) // 2
        if (yield from probe(mid))[0]:
            i = mid
        else:
            ceiling = mid
    return grid[i], (yield from probe(i))[1]


def smallest_counts(graph: NetworkGraph, original: dict[str, int], step: int) -> dict[str, int]:
    """Every group at the smallest count of its grid: the smallest network a run can reach."""
    smallest = {g: group_grid(graph.groups[g], original[g], step)[0] for g in graph.groups}
    return {g: min(n, graph.groups[g].size) for g, n in smallest.items()}


def smallest_network_ms(estimates: CandidateEstimates, original: dict[str, int], step: int) -> float:
    """Estimate of the network with every group at its smallest grid count.

    The measured latency is scaled by the table's ratio (smallest / current) rather than shifted by
    the table's difference: a whole-model measurement taken while the machine is busy is inflated
    by a factor, and a difference would carry all of that error into this bound.
    """
    estimate = estimates.predicted_of(smallest_counts(estimates.graph, original, step))
    return estimate if math.isfinite(estimate) else estimates.anchor_ms


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
    from netadapt.config.run import RunConfig
    from netadapt.latency.grid import probe_grids

    estimates = CandidateEstimates(estimator, model, graph, float("nan"), synthesis=synthesis,
                                   grids=probe_grids(graph, graph.sizes(), step) if joint else None)
    start = estimates.anchor_ms = estimates.current_ms
    target = start - RunConfig().schedule.reduction_ms(0, start)
    smallest_network_ms(estimates, graph.sizes(), step)
    ticks = iter(progress(list(graph.groups)))
    next(ticks, None)  # the bar starts at none done
    results = largest_counts_meeting(estimates, {g: (graph.groups[g].size, None) for g in graph.groups}, step,
                                     target, done=lambda group: next(ticks, None))
    for _ in ticks:  # the progress bar ends
        pass
    failed = [r for r in results.values() if isinstance(r, Exception)]
    if failed:
        raise failed[0]
    return estimates
