"""A deterministic profiler that times nothing: latency is a linear function of work done."""

from __future__ import annotations

from devices.base import Device
from lut.nodekey import NodeKey
from lut.nodework import NodeWork
from lut.stats import Stats
from profilers.base import Profiler


class FakeProfiler(Profiler):
    """Latency = ``per_node_ms + ms_per_mmac * macs / 1e6`` per node.

    A whole model is the sum over the nodes of the graph the fake device runs (``FakeDevice.optimize``),
    so the fake model latency equals the sum of its fake node latencies.

    Args:
        device: the device recorded in the table (a ``FakeDevice`` by default).
        per_node_ms: fixed cost of one node.
        ms_per_mmac: cost per million multiply-accumulates (or elements, for ops without MACs).
    """

    def __init__(self, device: Device | None = None, per_node_ms: float = 0.01, ms_per_mmac: float = 0.02):
        if device is None:
            from devices.fake import FakeDevice

            device = FakeDevice()
        super().__init__(device)
        self.per_node_ms = float(per_node_ms)
        self.ms_per_mmac = float(ms_per_mmac)

    @classmethod
    def for_device(cls, device, config=None) -> "FakeProfiler":
        return cls(device)  # its latencies are a formula: no repeats or warm-up to configure

    def latency_ms(self, key: NodeKey) -> float:
        """The fake latency of one node."""
        return self.per_node_ms + self.ms_per_mmac * NodeWork.of(key).macs / 1e6

    def _charge(self, ms: float) -> Stats:
        self.timed_seconds += ms / 1e3
        self.wall_seconds += ms / 1e3
        return Stats.constant(ms)

    def measure_node(self, key: NodeKey) -> Stats:
        return self._charge(self.latency_ms(key))

    def measure_model(self, model, input_shape) -> Stats:
        from profilers.units import load_model_bytes, model_units

        units = model_units(load_model_bytes(model), self.device, input_shape)
        return self._charge(sum(self.latency_ms(u.key) for u in units))

    def model_timer(self, model, input_shape, seed: int = 0):
        ms = float(self.measure_model(model, input_shape).median)  # the fake device has no noise
        return lambda: ms
