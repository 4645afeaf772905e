"""The estimated latency of a network cut in one or more groups, anchored on the current network's measurement.

Each count is judged on the network it would really be: its ONNX graph (a copy cut to that count and
exported, or written from two such exports of the group, see ``netadapt.latency.written``) is optimised
for the device and its nodes looked up (``LatencyEstimator``), so a count that changes which kernels the
device runs (a layout that needs multiples of 8 or 16 channels, say) is judged as the device will run it. The estimate is
anchored on the current model's measurement and scaled by the table's ratio:
``anchor x table(candidate) / table(current)``. A ratio rather than a difference, because a measurement
taken while other work loads the machine is inflated by a factor: a table difference (timed at another
moment) added to an inflated anchor understates what a cut saves by that factor, and the search then
cuts far more than the schedule asked for. Where the table's latency of the current network exceeds its
measurement, both sides of the ratio first drop that much of their nodes' per-call costs
(``CandidateEstimates.call_share``): at batch 1 a small network's table sum is largely such costs, which a
node inside a whole model does not pay. Where the measurement exceeds the table instead, the excess is taken as
the cost of reading the weights from memory (a node timed alone keeps its own in the cache; a whole model
past the cache streams all of them each inference), in proportion to their bytes: a cut is predicted to save
its table difference plus that excess's share of the weights it removes (``CandidateEstimates.weights_ms``).
"""

from __future__ import annotations

import math

from torch import nn

from netadapt.latency.estimator import LatencyEstimator
from netadapt.pruning import NetworkGraph, shrunk_copy


#: The most a whole model is taken to spend reading a byte of its weights (0.1 ms per MB, 10 GB/s): a measurement
#: that exceeds the table by more than that is also slowed by other work (or a table made elsewhere).
MAX_READ_MS_PER_BYTE = 1e-7


class CandidateEstimates:
    """Anchored latency estimates of one network cut in one group at a time (cached per count).

    With ``synthesis`` (the default), cut networks' graphs are written rather than exported where the rules
    learnt from a few exports allow (``written``, a ``netadapt.latency.written.WrittenGraphs``: its notes say
    how ``grids`` and ``previous`` serve that); ``synthesised`` counts the cuts written, ``joint_exports`` the
    networks exported to learn or confirm rules for several groups at once, ``carried`` the rules taken over
    from ``previous`` (the estimates of the last iteration's network).

    ``exported``: the current network's ONNX export when the caller already has it (the loop has just
    exported it to measure it); otherwise it is exported here.
    """

    def __init__(self, estimator: LatencyEstimator, model: nn.Module, graph: NetworkGraph, anchor_ms: float,
                 synthesis: bool = True, exported: bytes | None = None, grids: dict[str, list[int]] | None = None,
                 previous: CandidateEstimates | None = None):
        self.estimator = estimator
        self.model = model
        self.graph = graph
        self.anchor_ms = anchor_ms
        self._cache: dict[tuple, float] = {}
        self.probes = 0
        self.written = None
        if synthesis:
            from netadapt.latency.written import WrittenGraphs

            self.written = WrittenGraphs(estimator, model, graph, exported, grids,
                                         previous.written if previous is not None else None)
            self._current = self.written.current
        else:
            self._current = estimator.units(model, graph.input_shape)
        self.carried = self.written.carried if self.written is not None else 0
        self._current_ms = None
        self._calls_ms = None
        self._weights = None

    @property
    def current_ms(self) -> float:
        """Table latency of the current network (its missing nodes measured when first asked)."""
        if self._current_ms is None:
            self._current_ms = self.estimator.total_of(self._current)
        return self._current_ms

    @property
    def synthesised(self) -> int:
        """Cuts whose graph was written rather than exported."""
        return self.written.synthesised if self.written is not None else 0

    @property
    def joint_exports(self) -> int:
        """Networks exported to learn or confirm the rules of several groups at once."""
        return self.written.joint_exports if self.written is not None else 0

    def table_ms(self, sizes: dict[str, int]) -> float:
        """Table latency of the network with ``sizes`` (group -> channels)."""
        key = tuple(sorted(sizes.items()))
        if key not in self._cache:
            self.probes += 1
            self._cache[key] = self.estimator.total_of(self.units(sizes))
        return self._cache[key]

    def units(self, sizes: dict[str, int]) -> list:
        """The device's nodes for the network with ``sizes`` (group -> channels); nothing is measured."""
        sizes = self._cut(sizes)
        if not sizes:
            return self._current
        if self.written is not None:
            return self.written.units(sizes)
        return self.estimator.units(shrunk_copy(self.model, self.graph, sizes), self.graph.input_shape)

    def prefetch(self, many: list[dict[str, int]]) -> None:
        """Work out the device's nodes of several networks together (``WrittenGraphs.prefetch``: one
        optimisation for a batch of written graphs), so that ``units`` and ``table_ms`` find them; networks
        that are not written (exported, or already known) are left to ``units``. Nothing is measured."""
        if self.written is not None:
            self.written.prefetch([self._cut(sizes) for sizes in many])

    def _cut(self, sizes: dict[str, int]) -> dict[str, int]:
        """The groups of ``sizes`` not at their current size."""
        return {g: n for g, n in sizes.items() if n != self.graph.groups[g].size}

    def predicted(self, group: str, count: int) -> float:
        """The anchored estimate of the network with ``group`` cut to ``count`` channels."""
        return self.predicted_of({group: count})

    def predicted_of(self, sizes: dict[str, int]) -> float:
        """The anchored estimate of the network with ``sizes``: the measurement of the current network times
        the table's ratio, each side without the share of its nodes' per-call costs that the current
        network's table latency exceeds its measurement by (``call_share``); where the measurement exceeds
        the table, the measurement less the table's difference and the excess's share of the weights cut
        (``weights_ms``)."""
        weights_ms = self.weights_ms()
        if weights_ms > 0:  # the rest of the excess, if any, scales with the table (a loaded machine)
            weights = self.estimator.weight_bytes(self.units(sizes))
            return ((self.anchor_ms - weights_ms) * self.table_ms(sizes) / self.current_ms
                    + weights_ms * weights / self._current_weights())
        share = self.call_share()
        if share == 0.0:
            return self.anchor_ms * self.table_ms(sizes) / self.current_ms
        calls = self.estimator.call_ms(self.units(sizes))
        return (self.anchor_ms * (self.table_ms(sizes) - share * calls)
                / (self.current_ms - share * self._current_calls_ms()))

    def call_share(self) -> float:
        """The share of every node's per-call cost (``LatencyEstimator.call_ms``) that the table's latency of
        the current network exceeds its measurement by, between 0 and 1.

        A node timed alone pays a session call and its input's copy that the same node inside a whole model
        mostly does not: at batch 1, where that cost is a large part of a small network's table sum, the
        plain ratio takes a cut's saving as that much smaller (on 18 small networks at batch 1 the ratio was
        within 3% of the measurement in 58% of first cuts, this in 94%; bench/iteration_estimates.py). With
        no such cost, a table at or below the measurement, or no measurement yet, it is 0: the plain ratio.
        """
        if not math.isfinite(self.anchor_ms) or self.anchor_ms >= self.current_ms:
            return 0.0
        calls = self._current_calls_ms()
        return min((self.current_ms - self.anchor_ms) / calls, 1.0) if calls > 0 else 0.0

    def weights_ms(self) -> float:
        """How far the current network's measurement exceeds its table latency, taken as the time its whole
        model spends reading its weights (0 where it does not exceed it, there is no measurement yet or the
        network has no weights), at most ``MAX_READ_MS_PER_BYTE`` per byte of them: what exceeds that is taken
        as a loaded machine's and scales with the table, as the plain ratio has it.

        At batch 1 on the CPU, ResNet-18 at 64x64 (45 MB of weights, past a 32 MB cache) measures about 1.6
        times its table: by the plain ratio, a cut of its stem (much of the table, few weights) would save 1.6
        times what it does."""
        if not math.isfinite(self.anchor_ms) or self.anchor_ms <= self.current_ms:
            return 0.0
        return min(self.anchor_ms - self.current_ms, MAX_READ_MS_PER_BYTE * self._current_weights())

    def _current_weights(self) -> int:
        if self._weights is None:
            self._weights = self.estimator.weight_bytes(self._current)
        return self._weights

    def _current_calls_ms(self) -> float:
        if self._calls_ms is None:
            self._calls_ms = self.estimator.call_ms(self._current)
        return self._calls_ms
