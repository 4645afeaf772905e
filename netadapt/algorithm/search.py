"""One candidate per group: the largest channel count whose estimated latency meets the target."""

from __future__ import annotations

from netadapt.latency.estimator import LatencyEstimator
from netadapt.latency.grid import channel_grid
from netadapt.pruning.graph import NetworkGraph


def largest_count_meeting(estimator: LatencyEstimator, graph: NetworkGraph, group: str,
                          original_size: int, step: int, anchor_ms: float,
                          target_ms: float) -> tuple[int, float] | None:
    """Scan the group's grid downwards from its current size.

    The estimate is anchored: ``anchor_ms`` (the current model's measured latency) plus the table's
    difference between the candidate and the current model. The scan does not assume latency is
    monotone in the channel count: it returns the largest count that meets the target.

    Returns:
        (channels, predicted ms), or None when even the smallest count misses the target.
    """
    current = graph.groups[group].size
    for count in sorted((c for c in channel_grid(original_size, step) if c < current), reverse=True):
        predicted = anchor_ms + estimator.delta(graph, group, count)
        if predicted <= target_ms:
            return count, predicted
    return None


def smallest_network_ms(estimator: LatencyEstimator, graph: NetworkGraph, original: dict[str, int],
                        step: int, anchor_ms: float) -> float:
    """Estimate of the network with every group at its smallest grid count.

    The measured latency is scaled by the table's ratio (smallest / current) rather than shifted by
    the table's difference: a whole-model measurement taken while the machine is busy is inflated
    by a factor, and a difference would carry all of that error into this bound.
    """
    smallest = {g: channel_grid(original[g], step)[0] for g in graph.groups}
    return anchor_ms * estimator.total(graph, smallest) / estimator.total(graph)
