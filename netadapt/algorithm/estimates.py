"""The estimated latency of a network cut in one or more groups, anchored on the current network's measurement.

Each count is judged on the network it would really be: its ONNX graph (a copy cut to that count and
exported, or written from two such exports of the group, see ``netadapt.latency.synthesis``) is optimised
for the device and its nodes looked up (``LatencyEstimator``), so a count that changes which kernels the
device runs (a layout that needs multiples of 8 or 16 channels, say) is judged as the device will run it. The estimate is
anchored on the current model's measurement and scaled by the table's ratio:
``anchor x table(candidate) / table(current)``. A ratio rather than a difference, because a measurement
taken while other work loads the machine is inflated by a factor: a table difference (timed at another
moment) added to an inflated anchor understates what a cut saves by that factor, and the search then
cuts far more than the schedule asked for. Where the table's latency of the current network exceeds its
measurement, both sides of the ratio first drop that much of their nodes' per-call costs
(``CandidateEstimates.call_share``): at batch 1 a small network's table sum is largely such costs, which a
node inside a whole model does not pay.
"""

from __future__ import annotations

import math
import time

from torch import nn

from netadapt.latency.estimator import LatencyEstimator, architecture_key, same_nodes
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
    are written. Groups whose channels meet in one layer's input (a concatenation's width moves with each of
    them) are learnt in separate classes of three networks each (``joint_classes``); where a class's exports
    still cannot tell its groups apart, each of them is learnt from its own two cuts as before.
    ``joint_exports`` counts the networks exported for that.

    ``exported``: the current network's ONNX export when the caller already has it (the loop has just
    exported it to measure it); otherwise it is exported here.

    ``previous``: the estimates of the network before this one (the last iteration's): the rules they learnt
    are taken over where they still hold (``netadapt.latency.carried``), so only what the cut changed is learnt
    again; ``carried`` counts them. Joint cuts are then not needed.
    """

    def __init__(self, estimator: LatencyEstimator, model: nn.Module, graph: NetworkGraph, anchor_ms: float,
                 synthesis: bool = True, exported: bytes | None = None, grids: dict[str, list[int]] | None = None,
                 previous: "CandidateEstimates | None" = None):
        self.estimator = estimator
        self.model = model
        self.graph = graph
        self.anchor_ms = anchor_ms
        self._cache: dict[tuple, float] = {}
        self.probes = 0
        self.joint_exports = 0
        self.carried = 0
        self._carry_checked = False
        self._grids = grids if synthesis else None
        self._graphs = None
        self._prewritten: dict = {}
        shape = graph.input_shape
        self._key = architecture_key(model, shape)
        if synthesis:
            import onnx

            from netadapt.latency.carried import CarriedRules
            from netadapt.latency.synthesis import CandidateGraphs

            if exported is None:
                exported = estimator.export(model, shape)
            self._current = estimator.units_of_export(self._key, exported, shape)
            self._graphs = CandidateGraphs(onnx.load_model_from_string(exported), graph.sizes())
            self._carry = CarriedRules(self._graphs)
            if previous is not None and previous._graphs is not None:
                t0 = time.perf_counter()
                self.carried = self._carry.take_over(previous._graphs)
                estimator.clock("synthesis", t0)
                if self.carried:
                    self._grids = None
        else:
            self._current = estimator.units(model, shape)
        self._current_ms = None
        self._calls_ms = None

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
        sizes = self._cut(sizes)
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
            graphs.confirm(group, self._agrees(check, lambda: units))
        return units

    def prefetch(self, many: list[dict[str, int]]) -> None:
        """Work out the device's nodes of several networks together (``LatencyEstimator.units_of_many``: one
        optimisation for a batch of written graphs), so that ``units`` and ``table_ms`` find them; networks
        that are not written (exported, or already known) are left to ``units``. Nothing is measured."""
        if self._graphs is None:
            return
        keyed, seen = [], set()
        for sizes in many:
            sizes = self._cut(sizes)
            key = self._written_key(sizes)
            if not sizes or key in seen or self.estimator.known(key) is not None:
                continue
            written = self._write(sizes)
            if written is not None:
                keyed.append((key, written))
                seen.add(key)
        if len(keyed) > 1:
            self.estimator.units_of_many(keyed, self.graph.input_shape)
        self._prewritten = {key: written for key, written in keyed if self.estimator.known(key) is None}

    def _cut(self, sizes: dict[str, int]) -> dict[str, int]:
        """The groups of ``sizes`` not at their current size."""
        return {g: n for g, n in sizes.items() if n != self.graph.groups[g].size}

    def _written_key(self, sizes: dict[str, int]) -> tuple:
        return ("synthesised", self._key, tuple(sorted(sizes.items())))

    def _written(self, sizes: dict[str, int]) -> list | None:
        """The device's nodes for ``sizes`` from a written graph, when the rules allow one (learning them
        jointly first, where that has not been tried); None when the network is to be exported."""
        key = self._written_key(sizes)
        known = self.estimator.known(key)
        if known is not None:
            return known
        written = self._prewritten.pop(key, None) or self._write(sizes)  # written by prefetch, left over
        if written is None:
            return None
        return self.estimator.units_of_export(key, written, self.graph.input_shape)

    def _write(self, sizes: dict[str, int]):
        """The written graph of the network with ``sizes`` (groups not at their size), or None when the rules
        do not allow one (learning them jointly first, where that has not been tried)."""
        graphs, estimator = self._graphs, self.estimator
        if self._grids is not None and not all(graphs.can(g) for g in sizes):
            self._learn_jointly()
        if not self._carry_checked and not all(graphs.can(g) for g in sizes):
            self._confirm_carried()
        if not all(graphs.can(g) for g in sizes):
            return None
        t0 = time.perf_counter()
        if len(sizes) == 1:
            (group, count), = sizes.items()
            written = graphs.synthesise(group, count)
        else:
            written = graphs.synthesise_many(sizes)
        estimator.clock("synthesis", t0)
        return written

    def _agrees(self, written, exported_units) -> bool:
        """Whether the device runs the same nodes for a written graph as for its export (``exported_units()``,
        the export's units); False when the device refuses the written graph, which is then simply not used."""
        try:
            return same_nodes(self.estimator.onnx_units(written, self.graph.input_shape), exported_units())
        except Exception:  # noqa: BLE001 - a written graph the device refuses
            return False

    def _confirm_carried(self) -> None:
        """Confirm every rule taken over from the network before whose integers the cut moved too, by one export
        of this network with each of those groups cut (once)."""
        self._carry_checked = True
        carry, estimator, shape = self._carry, self.estimator, self.graph.input_shape
        cut = carry.cuts()
        if not cut:
            return
        try:
            copy = shrunk_copy(self.model, self.graph, cut)
            exported = estimator.export(copy, shape)
        except Exception:  # noqa: BLE001 - a cut the model or exporter refuses: each group on its own cuts
            carry.confirm(cut, False)
            return
        self.joint_exports += 1
        t0 = time.perf_counter()
        check = carry.check(cut, exported)
        estimator.clock("synthesis", t0)
        same = check is not None and self._agrees(
            check, lambda: estimator.units_of_export(architecture_key(copy, shape), exported, shape))
        carry.confirm(cut, same)

    def _learn_jointly(self) -> None:
        """Learn every group's rule from three networks per class of groups (``joint_classes``), each with all
        the class's groups cut at once (once)."""
        from netadapt.latency.joint import joint_classes

        grids, self._grids = self._grids, None
        groups, sizes = self.graph.groups, self.graph.sizes()
        for cls in joint_classes({g: set(groups[g].members) for g in grids if g in groups}):
            self._learn_class({g: sizes[g] for g in cls}, grids)

    def _learn_class(self, sizes: dict[str, int], grids: dict[str, list[int]]) -> None:
        """Learn the rules of the groups of ``sizes`` from three networks with all of them cut at once."""
        from netadapt.latency.joint import JointRules, joint_cuts

        cuts = joint_cuts(sizes, grids)
        if cuts is None:
            return
        estimator, shape, joint = self.estimator, self.graph.input_shape, JointRules(self._graphs)
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
                learnt = joint.learn(cuts, [e for _, e in exports])
                estimator.clock("synthesis", t0)
                if not learnt:
                    return
        t0 = time.perf_counter()
        check = joint.check(cuts[2], exports[2][1])
        estimator.clock("synthesis", t0)
        if check is None:
            return
        joint.confirm(self._agrees(check, lambda: estimator.units_of_export(*exports[2], shape)))

    def predicted(self, group: str, count: int) -> float:
        """The anchored estimate of the network with ``group`` cut to ``count`` channels."""
        return self.predicted_of({group: count})

    def predicted_of(self, sizes: dict[str, int]) -> float:
        """The anchored estimate of the network with ``sizes``: the measurement of the current network times
        the table's ratio, each side without the share of its nodes' per-call costs that the current
        network's table latency exceeds its measurement by (``call_share``)."""
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

    def _current_calls_ms(self) -> float:
        if self._calls_ms is None:
            self._calls_ms = self.estimator.call_ms(self._current)
        return self._calls_ms
