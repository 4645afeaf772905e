"""The device's nodes of a network cut in some of its groups, from written graphs where learnt rules allow one.

Each cut network is judged on its ONNX graph optimised for the device (``LatencyEstimator``). A cut's graph
is written from the current network's export by the rules learnt for its groups (``CandidateGraphs``,
``netadapt.latency.synthesis``) wherever they allow, and exported from a cut copy otherwise; the exports of
one-group cuts are what the rules are learnt from, and a written graph is trusted only once the device runs
the same nodes for it as for its export.
"""

from __future__ import annotations

import time

import onnx
from torch import nn

from netadapt.latency.carried import CarriedRules
from netadapt.latency.estimator import LatencyEstimator, architecture_key, same_nodes
from netadapt.latency.joint import JointRules, joint_classes, joint_cuts
from netadapt.latency.synthesis import CandidateGraphs
from netadapt.pruning import NetworkGraph, shrunk_copy

__all__ = ["WrittenGraphs"]


class WrittenGraphs:
    """The device's nodes of ``model`` (whose analysis is ``graph``) cut in some of its groups, written rather
    than exported where the rules allow.

    A group's first two cuts are exported and every further count of it is written from them once they agree
    and the device runs the same nodes for the second cut written and exported; ``synthesised`` counts the
    cuts written.

    With ``grids`` (group -> the counts the caller may probe, ``netadapt.latency.grid.probe_grids``), the rules
    of every group with three counts below its size are first learnt from three networks with every such
    group cut at once (``joint_cuts``), before the first cut that would be exported: three exports instead of
    two per group, after which every group's cuts, and cuts of several of them at once, are written. Groups
    whose channels meet in one layer's input (a concatenation's width moves with each of them) are learnt in
    separate classes of three networks each (``joint_classes``); where a class's exports still cannot tell
    its groups apart, each of them is learnt from its own two cuts as before. ``joint_exports`` counts the
    networks exported for that.

    ``exported``: the current network's ONNX export when the caller already has it; otherwise it is exported
    here. ``current`` is its device nodes.

    ``previous``: the written graphs of the network before this one (the last iteration's): the rules they
    learnt are taken over where they still hold (``CarriedRules``), so only what the cut changed is learnt
    again; ``carried`` counts them. Joint cuts are then not needed.
    """

    def __init__(self, estimator: LatencyEstimator, model: nn.Module, graph: NetworkGraph,
                 exported: bytes | None = None, grids: dict[str, list[int]] | None = None,
                 previous: WrittenGraphs | None = None):
        self.estimator = estimator
        self.model = model
        self.graph = graph
        self.joint_exports = 0
        self.carried = 0
        self._carry_checked = False
        self._grids = grids
        self._prewritten: dict = {}
        shape = graph.input_shape
        self._key = architecture_key(model, shape)
        if exported is None:
            exported = estimator.export(model, shape)
        self.current = estimator.units_of_export(self._key, exported, shape)
        self.graphs = CandidateGraphs(onnx.load_model_from_string(exported), graph.sizes())
        self._carry = CarriedRules(self.graphs)
        if previous is not None:
            t0 = time.perf_counter()
            self.carried = self._carry.take_over(previous.graphs)
            estimator.clock("synthesis", t0)
            if self.carried:
                self._grids = None

    @property
    def synthesised(self) -> int:
        """Cuts whose graph was written rather than exported."""
        return self.graphs.synthesised

    def key_of(self, sizes: dict[str, int]) -> tuple:
        """The key the device's nodes of the written network with ``sizes`` are cached under."""
        return ("synthesised", self._key, tuple(sorted(sizes.items())))

    def units(self, sizes: dict[str, int]) -> list:
        """The device's nodes for the network with ``sizes`` (groups not at their current size, at least one):
        from its written graph where the rules allow one, otherwise from an export (a one-group cut's export
        teaches the group's rule). Nothing is measured."""
        written = self._written(sizes)
        if written is not None:
            return written
        estimator, shape, graphs = self.estimator, self.graph.input_shape, self.graphs
        copy = shrunk_copy(self.model, self.graph, sizes)
        if len(sizes) != 1:
            return estimator.units(copy, shape)
        (group, count), = sizes.items()
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
        """Work out the device's nodes of several networks (each with ``sizes`` of groups not at their current
        size) together (``LatencyEstimator.units_of_many``: one optimisation for a batch of written graphs), so
        that ``units`` finds them; networks that are not written (exported, or already known) are left to
        ``units``. Nothing is measured."""
        keyed, seen = [], set()
        for sizes in many:
            key = self.key_of(sizes)
            if not sizes or key in seen or self.estimator.known(key) is not None:
                continue
            written = self._write(sizes)
            if written is not None:
                keyed.append((key, written))
                seen.add(key)
        if len(keyed) > 1:
            self.estimator.units_of_many(keyed, self.graph.input_shape)
        self._prewritten = {key: written for key, written in keyed if self.estimator.known(key) is None}

    def _written(self, sizes: dict[str, int]) -> list | None:
        """The device's nodes for ``sizes`` from a written graph, when the rules allow one (learning them
        jointly first, where that has not been tried); None when the network is to be exported."""
        key = self.key_of(sizes)
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
        graphs, estimator = self.graphs, self.estimator
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
        grids, self._grids = self._grids, None
        groups, sizes = self.graph.groups, self.graph.sizes()
        for cls in joint_classes({g: set(groups[g].members) for g in grids if g in groups}):
            self._learn_class({g: sizes[g] for g in cls}, grids)

    def _learn_class(self, sizes: dict[str, int], grids: dict[str, list[int]]) -> None:
        """Learn the rules of the groups of ``sizes`` from three networks with all of them cut at once."""
        cuts = joint_cuts(sizes, grids)
        if cuts is None:
            return
        estimator, shape, joint = self.estimator, self.graph.input_shape, JointRules(self.graphs)
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
