"""A device that runs nothing: paired with the fake profiler, it lets tests run without timing anything."""

from __future__ import annotations

from devices.base import Device
from netadapt.errors import DeviceUnavailable


class FakeDevice(Device):
    """Always available, never runs ONNX Runtime.

    Args:
        threads: recorded in the fingerprint only, so fake tables with different settings stay apart.
    """

    name = "fake"
    profiler_kind = "fake"

    def __init__(self, threads: int = 1):
        self.threads = int(threads)

    def available(self) -> tuple[bool, str]:
        return True, ""

    def fingerprint(self) -> dict[str, str | int]:
        return {"kind": "fake", "name": self.name, "threads": self.threads}

    def create_session(self, model: bytes | str):
        raise DeviceUnavailable("device 'fake' does not run models; time it with the fake profiler")

    def __repr__(self) -> str:
        return f"FakeDevice(threads={self.threads})"
