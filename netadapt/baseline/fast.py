"""The fast-count uniform width: every group's count rounded to the nearest count the table says is fast.

On ONNX Runtime's blocked CPU kernels a count off the block (24 where blocks are 16, or 62) runs slower
than a larger count, so the naive uniform width steps on cliffs that a careful practitioner, who rounds to
what the device runs fast, would not. Here each group's latency curve is read from the lookup table as the
loop reads it (``CandidateEstimates.predicted``: the network with that one group cut to each count of its
grid, anchored on the network's latency), and a uniform width rounds each group's ``width x size`` to the
nearest count that is not slower than any larger count (``fast_counts``), ties going up: a tie in distance to
the larger count, and a count as fast as a larger one (24 channels padded to a block of 32) to the largest
count that fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from torch import nn


def fast_counts(latency: Mapping[int, float]) -> list[int]:
    """The counts of a latency curve (count -> ms) that are not slower than any larger count, ascending.

    The largest count is always one. A count on a cliff (slower than some larger count) is left out.

    >>> fast_counts({8: 1.0, 16: 2.0, 24: 4.5, 32: 4.0})
    [8, 16, 32]
    """
    if not latency:
        raise ValueError("a latency curve needs at least one count")
    fast, best = [], math.inf
    for count in sorted(latency, reverse=True):
        if latency[count] <= best:
            fast.append(count)
        best = min(best, latency[count])
    return fast[::-1]


def round_to_fast(latency: Mapping[int, float], wanted: float) -> int:
    """The count of ``fast_counts(latency)`` nearest to ``wanted`` (of two as near, the larger), or the largest
    count exactly as fast as that one (the same nodes, the channels padded alike, cost the same)."""
    count = min(fast_counts(latency), key=lambda c: (abs(c - wanted), -c))
    return max(c for c in latency if c >= count and math.isclose(latency[c], latency[count], rel_tol=1e-9))


def latency_curves(estimates, step: int, sizes: Mapping[str, int] | None = None) -> dict[str, dict[int, float]]:
    """Each group's latency curve: the estimated latency (ms) of the network with that group alone cut to
    every count of its grid (its current size included), from ``estimates``
    (``netadapt.algorithm.estimates.CandidateEstimates`` of the network), the other groups as they are.

    Args:
        step: the channel grid's step (``netadapt.latency.grid.group_grid``).
        sizes: the groups' sizes the grid is drawn from (default: their current sizes).
    """
    from netadapt.latency.grid import group_grid

    graph = estimates.graph
    sizes = dict(graph.sizes() if sizes is None else sizes)
    grids = {g: group_grid(graph.groups[g], sizes[g], step) for g in graph.groups}
    estimates.prefetch([{g: c} for g, counts in grids.items() for c in counts if c < graph.groups[g].size])
    return {g: {c: float(estimates.predicted(g, c)) for c in counts} for g, counts in grids.items()}


def table_curves(estimator, model: nn.Module, graph, step: int, anchor_ms: float | None = None,
                 synthesis: bool = True) -> dict[str, dict[int, float]]:
    """``latency_curves`` of ``model`` (analysed as ``graph``), its estimates anchored on ``anchor_ms`` (a
    measurement of the model on the device) or, without one, on its table latency.

    Args:
        estimator: a ``netadapt.latency.LatencyEstimator`` (its profiler measures nodes the table lacks).
    """
    from netadapt.algorithm.estimates import CandidateEstimates
    from netadapt.latency.grid import probe_grids

    estimates = CandidateEstimates(estimator, model, graph, math.nan, synthesis=synthesis,
                                   grids=probe_grids(graph, graph.sizes(), step) if synthesis else None)
    estimates.anchor_ms = float(anchor_ms) if anchor_ms else estimates.current_ms
    return latency_curves(estimates, step)


@dataclass
class FastRounding:
    """Uniform channel counts rounded to fast counts: ``rounding(groups, width)`` is
    ``uniform_channels``'s counterpart (group -> count), each group's ``width x size`` rounded by
    ``round_to_fast`` on its curve.

    Attributes:
        curves: group -> (count -> ms), as ``latency_curves`` gives them for the network at full width.
    """

    curves: dict[str, dict[int, float]]

    def __post_init__(self):
        self.curves = {g: {int(c): float(ms) for c, ms in curve.items()} for g, curve in self.curves.items()}

    def __call__(self, groups: Mapping, width: float, step: int = 1) -> dict[str, int]:
        if not 0 < width <= 1:
            raise ValueError(f"width must be in (0, 1], got {width}")
        return {name: round_to_fast(self.curves[name], width * getattr(g, "size", g)) for name, g in groups.items()}

    def to_dict(self) -> dict:
        return {g: {str(c): ms for c, ms in curve.items()} for g, curve in self.curves.items()}
