"""Profilers: time one layer signature or a whole ONNX model on a device, with robust statistics."""

from lut.stats import Stats
from profilers.base import ProfileConfig, Profiler
from profilers.registry import get_profiler

__all__ = ["ProfileConfig", "Profiler", "Stats", "get_profiler"]
