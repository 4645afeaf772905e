"""The host CPU through ONNX Runtime's default execution provider."""

from __future__ import annotations

from devices.ort import OrtDevice


class CpuDevice(OrtDevice):
    """CPUExecutionProvider with a fixed number of intra-op threads, sequential execution, all optimisations.

    Args:
        threads: intra-op threads (1 gives the most stable timings).
    """

    def __init__(self, threads: int = 1):
        super().__init__("CPUExecutionProvider", {}, threads=threads, name="cpu")
