"""A device that runs nothing: paired with the fake profiler, it lets tests run without timing anything."""

from __future__ import annotations

from devices.base import Device
from devices.errors import DeviceUnavailable


class FakeDevice(Device):
    """Always available, never runs ONNX Runtime.

    Args:
        threads: recorded in the fingerprint only, so fake tables with different settings stay apart.
    """

    fills_zero_weights = True  # optimize_with gives zero references one shared buffer

    name = "fake"
    profiler_kind = "fake"
    exact = True

    def __init__(self, threads: int = 1):
        self.threads = int(threads)

    def available(self) -> tuple[bool, str]:
        return True, ""

    def fingerprint(self) -> dict[str, str | int]:
        return {"kind": "fake", "name": self.name, "threads": self.threads}

    def create_session(self, model: bytes | str, optimization: str | None = None):
        raise DeviceUnavailable("device 'fake' does not run models; time it with the fake profiler")

    def optimize(self, model: bytes, weights: bool = True):
        """The exported graph after ONNX Runtime's extended rewrites on the CPU (batch-norm and constants
        folded, activations fused into ``FusedConv``): the same on every machine, unlike the CPU's
        layout-specific level, which depends on the instruction set."""
        import onnxruntime as ort

        from devices.ort import cpu_options, optimize_with

        return optimize_with(model, cpu_options(ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
                             ["CPUExecutionProvider"], weights=weights)

    def inspection_session(self, model: bytes):
        from devices.ort import cpu_inspection_session

        return cpu_inspection_session(model)

    def __repr__(self) -> str:
        return f"FakeDevice(threads={self.threads})"
