"""Profilers: time one layer signature or a whole ONNX model on a device, with robust statistics."""

from profilers.base import ProfileConfig, Profiler
from profilers.registry import get_profiler
from profilers.stats import Stats

__all__ = ["ProfileConfig", "Profiler", "Stats", "get_profiler"]
