"""Pick the profiler that times a device: the device names its kind (``profiler_kind``)."""

from __future__ import annotations

import importlib

from lut.errors import UserError
from profilers.base import ProfileConfig, Profiler

_PROFILERS = {
    "ort": "profilers.ort_profiler:OrtProfiler",
    "fake": "profilers.fake:FakeProfiler",
    "remote": "profilers.remote_profiler:RemoteProfiler",
    "farm": "profilers.farm:FarmProfiler",
}


def list_profilers() -> list[str]:
    return sorted(_PROFILERS)


def get_profiler(device, config: ProfileConfig | None = None) -> Profiler:
    """The profiler for a device: ``FakeProfiler`` for the fake device, ``RemoteProfiler`` for a device
    reached through an agent, ``FarmProfiler`` for a farm of them, ``OrtProfiler`` otherwise.

    Raises:
        UserError: the device asks for an unknown profiler kind.
    """
    kind = getattr(device, "profiler_kind", "ort")
    if kind not in _PROFILERS:
        raise UserError(f"unknown profiler kind {kind!r} for device {device.name!r}; "
                        f"valid: {', '.join(list_profilers())}")
    module, attr = _PROFILERS[kind].split(":")
    return getattr(importlib.import_module(module), attr).for_device(device, config)
