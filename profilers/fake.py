"""A deterministic profiler that times nothing: latency is a linear function of work done."""

from __future__ import annotations

from devices.base import Device
from lut.signature import LayerSignature
from profilers.base import Profiler
from profilers.stats import Stats


class FakeProfiler(Profiler):
    """Latency = ``per_node_ms + ms_per_mmac * macs / 1e6`` per layer.

    A whole model is the sum over its layers (read from the ONNX graph the way the layer graphs are
    built) plus ``per_node_ms`` for every node that maps to no layer, so the fake model latency equals
    the sum of its fake layer latencies.

    Args:
        device: the device recorded in the table (a ``FakeDevice`` by default).
        per_node_ms: fixed cost of one timed unit.
        ms_per_mmac: cost per million multiply-accumulates (or elements, for ops without MACs).
    """

    def __init__(self, device: Device | None = None, per_node_ms: float = 0.01, ms_per_mmac: float = 0.02):
        if device is None:
            from devices.fake import FakeDevice

            device = FakeDevice()
        super().__init__(device)
        self.per_node_ms = float(per_node_ms)
        self.ms_per_mmac = float(ms_per_mmac)

    def latency_ms(self, sig: LayerSignature) -> float:
        """The fake latency of one layer."""
        return self.per_node_ms + self.ms_per_mmac * sig.macs / 1e6

    def measure_layer(self, sig: LayerSignature) -> Stats:
        ms = self.latency_ms(sig)
        self.timed_seconds += ms / 1e3
        self.wall_seconds += ms / 1e3
        return Stats.constant(ms)

    def measure_model(self, model, input_shape: tuple[int, ...]) -> Stats:
        from profilers.onnx_layers import model_signatures

        layers = model_signatures(model, input_shape)
        ms = sum(self.latency_ms(s) for s in layers.signatures) + self.per_node_ms * len(layers.other_nodes)
        self.timed_seconds += ms / 1e3
        self.wall_seconds += ms / 1e3
        return Stats.constant(ms)
