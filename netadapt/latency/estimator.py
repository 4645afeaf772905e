"""Model latency from the lookup table, measuring what is missing on the device (hardware in the loop).

A model's latency from the table is the sum over the nodes of the graph its device really runs
(``profilers.units``): the model is exported to ONNX and handed to the device's optimiser, so fused
and re-laid-out nodes are what is looked up, whatever the architecture. Nodes the table lacks are timed
on the spot and stored.

Two estimates are offered (see DESIGN.md): the table alone (the sum of the node latencies), and the
anchored estimate NetAdapt uses inside its loop, ``measured(current) x table(candidate) / table(current)``,
which carries only the error of a ratio of two table sums.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import torch.nn as nn

from lut.nodekey import NodeKey
from netadapt.errors import UserError
from netadapt.inputs import device_inputs, inputs_key

STATISTICS = ("median", "p10")


def time_split(wall: float, seconds: dict, timed: float) -> dict[str, float]:
    """Where a profile's ``wall`` seconds went, from an estimator's ``seconds`` by phase and a profiler's
    ``timed_seconds``: exporting, writing graphs, the device's optimiser and inspection, node sessions and
    table writes, timed runs, and the rest."""
    parts = {"exporting": seconds.get("export", 0.0), "writing graphs": seconds.get("synthesis", 0.0),
             "optimising and inspecting": seconds.get("units", 0.0),
             "node sessions and writes": max(0.0, seconds.get("measure", 0.0) - timed), "timed runs": timed}
    parts["other"] = max(0.0, wall - sum(parts.values()))
    return parts


def same_nodes(a: list, b: list) -> bool:
    """Whether two lists of units hold the same device nodes, in whatever order the device's optimiser listed
    them (two graphs of one network may come out in different topological orders; the table sums them)."""
    return Counter(u.key for u in a) == Counter(u.key for u in b)


def architecture_key(model: nn.Module, input_shape) -> tuple:
    """What decides a pruned network's graph: its class, every tensor's name and shape, and the input."""
    return (type(model).__qualname__, inputs_key(input_shape),
            tuple((name, tuple(t.shape)) for name, t in model.state_dict().items()))


@dataclass
class LatencyEstimator:
    """Sums table latencies over the nodes a device runs for a network.

    Attributes:
        table: a ``lut.LatencyTable``.
        device: the device (its fingerprint keys the rows; its optimiser says what runs).
        profiler: measures missing nodes on the device; without one, a missing row is an error.
        progress: show a progress bar while measuring missing rows.
        statistic: which of a row's statistics is a node's latency: ``"median"``, or ``"p10"`` (the
            10th percentile, less moved by other work on a shared machine; compare it with whole
            models measured with the same statistic).
        measured_on_the_spot: nodes timed because the table lacked them.
        seconds: wall time spent, by phase (``export``, ``synthesis``, ``units``, ``measure``).
        inspect_by_run: run every optimised graph to read its tensors, even where the shapes ONNX Runtime
            declares when it loads the graph would do (``profilers.units.graph_units``): for comparison.
        weightless: have the device leave large weights out of the optimised graphs it hands back
            (``profilers.units.model_units``); False reads them back, for comparison.
        batch: how many written graphs ``units_of_many`` optimises together (0: each alone).
        measure_rounds: ``units_of_many`` also measures, in one call, the nodes the table lacks for all the
            networks it worked out (a farm of boards spreads them); otherwise a node is measured when a
            network using it is looked up.
        deploy: what of a network the device runs (``Task.deploy``): exports are of ``deploy(network)``;
            None: the network itself.
    """

    table: object
    device: object
    profiler: object | None = None
    progress: bool = False
    statistic: str = "median"
    measured_on_the_spot: int = 0
    seconds: dict = field(default_factory=dict)
    inspect_by_run: bool = False
    weightless: bool = True
    batch: int = 16
    deploy: object = None
    measure_rounds: bool = False
    _batch_checked: bool = field(default=False, repr=False)
    _ms: dict = field(default_factory=dict, repr=False)
    _units: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise UserError(f"unknown latency statistic {self.statistic!r}; "
                            f"choose from {', '.join(STATISTICS)}")
        self.fingerprint = self.device.fingerprint()

    def clock(self, phase: str, since: float) -> None:
        """Add the time since ``since`` (``time.perf_counter()``) to ``phase``."""
        self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - since

    def export(self, model: nn.Module, input_shape) -> bytes:
        """``model`` exported to ONNX, its large weights as zero references (``devices.zero_weights``: the
        export is read for its nodes, never run for its outputs), timed as ``export``."""
        from devices.zero_weights import lightened
        from netadapt.export import export_bytes

        t0 = time.perf_counter()
        try:
            return lightened(export_bytes(model if self.deploy is None else self.deploy(model), input_shape))
        finally:
            self.clock("export", t0)

    def units(self, model: nn.Module, input_shape) -> list:
        """The ``profilers.units.Unit`` list of ``model`` on the device (cached per architecture)."""
        key = architecture_key(model, input_shape)
        if key not in self._units:
            self.units_of_export(key, self.export(model, input_shape), input_shape)
        return self._units[key]

    def known(self, key) -> list | None:
        """The units cached under ``key``, if any."""
        return self._units.get(key)

    def units_of_export(self, key, exported, input_shape) -> list:
        """The units of an exported model (bytes or ModelProto), cached under ``key`` unless it is None."""
        from profilers.units import model_units

        if key is not None and key in self._units:
            return self._units[key]
        t0 = time.perf_counter()
        units = model_units(exported, self.device, device_inputs(input_shape), run=self.inspect_by_run,
                            weightless=self.weightless)
        self.clock("units", t0)
        if key is not None:
            self._units[key] = units
        return units

    def units_of_many(self, keyed: list[tuple], input_shape) -> None:
        """The units of several written graphs ((key, ModelProto) pairs, cut from one network), cached under
        their keys, from one optimisation per ``batch`` of them (``profilers.batched``). The first batch is
        checked: its first network is optimised alone too and must give the same units, or batches are not
        used again. Graphs a batch cannot tell are left uncached (``units_of_export`` does them one by one).
        With ``measure_rounds``, the nodes of the graphs cached are then measured where the table lacks them."""
        self._cache_many(keyed, input_shape)
        if self.measure_rounds:
            self.ensure(u.key for key, _ in keyed for u in self.known(key) or ())

    def _cache_many(self, keyed: list[tuple], input_shape) -> None:
        from profilers.batched import batched_units
        from profilers.units import model_units

        if not self.batch or self.inspect_by_run or not self.weightless:
            return
        todo = [(key, model) for key, model in keyed if key not in self._units]
        for start in range(0, len(todo) - 1, self.batch):  # a lone last graph is left to units_of_export
            chunk = todo[start:start + self.batch]
            t0 = time.perf_counter()
            try:
                found = batched_units([model for _, model in chunk], self.device, device_inputs(input_shape))
                if found is not None and not self._batch_checked:
                    self._batch_checked = True
                    alone = model_units(chunk[0][1], self.device, device_inputs(input_shape))
                    if not same_nodes(alone, found[0]):
                        self.batch, found = 0, None  # the device optimises a network beside others otherwise
            except Exception:  # noqa: BLE001 - a batch the device refuses: each network alone
                found = None
            finally:
                self.clock("units", t0)
            if found is None:
                return
            for (key, _), units in zip(chunk, found):
                self._units[key] = units

    def onnx_units(self, onnx_model, input_shape) -> list:
        """The units of an exported ONNX model (path, bytes or ModelProto), not cached."""
        from profilers.units import load_model_bytes

        return self.units_of_export(None, load_model_bytes(onnx_model), input_shape)

    def ensure(self, keys: Iterable[NodeKey]) -> None:
        """Make sure every key is in the table and in the cache, measuring what is missing."""
        wanted = [k for k in dict.fromkeys(keys) if k.key_id not in self._ms]
        if not wanted:
            return
        found = self.table.lookup_many(self.fingerprint, wanted)
        missing = [k for k in wanted if k not in found]
        if missing:
            if self.profiler is None:
                raise UserError(f"{len(missing)} node(s) are not in the lookup table for this device "
                                f"(first: {missing[0].short()}); run `netadapt profile` first")
            from lut.measure import measure_missing

            t0 = time.perf_counter()
            measure_missing(self.table, self.profiler, missing, progress=self.progress)
            self.clock("measure", t0)
            self.measured_on_the_spot += len(missing)
            found.update(self.table.lookup_many(self.fingerprint, missing))
        for k in wanted:
            if k not in found:
                raise RuntimeError(f"node {k.short()} was measured but is not in the table")
            self._ms[k.key_id] = getattr(found[k], self.statistic)

    def node(self, key: NodeKey) -> float:
        """Table latency (ms) of one node."""
        self.ensure([key])
        return self._ms[key.key_id]

    def breakdown_of(self, units) -> list[tuple[str, NodeKey, float]]:
        """(unit name, key, ms) for every unit."""
        self.ensure(u.key for u in units)
        return [(u.name, u.key, self._ms[u.key.key_id]) for u in units]

    def total(self, model: nn.Module, input_shape) -> float:
        """Table-only latency (ms) of ``model``."""
        return self.total_of(self.units(model, input_shape))

    def total_of(self, units) -> float:
        """Table-only latency (ms) of a unit list."""
        return sum(ms for *_, ms in self.breakdown_of(units))

    def weight_bytes(self, units) -> int:
        """The stored float tensors (weights) of a unit list, in bytes: what a whole model reads from memory on
        each inference once they no longer stay in the device's cache from one to the next."""
        return sum(t.nbytes for u in units for t in u.key.inputs if t is not None and t.role == "weight")

    def call_ms(self, units) -> float:
        """The part of a unit list's table latency that is each node's per-call cost: the time of an identity
        graph on the node's input in a session of its own (``overhead_ms`` of the profiler), at most the
        node's own time. 0 where the profiler has no such cost (the fake device) or there is no profiler."""
        overhead = getattr(self.profiler, "overhead_ms", None)
        if overhead is None:
            return 0.0
        total = 0.0
        for _, key, ms in self.breakdown_of(units):
            data = getattr(key, "data", None)
            if data is not None:
                total += min(ms, overhead(tuple(data.shape), data.dtype))
        return total
