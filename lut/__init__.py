"""The latency lookup table: node keys and their measured statistics, per device.

``LatencyTable`` and ``measure_missing`` load SQLAlchemy on first use, so importing ``lut`` for the
keys alone stays light.
"""

from lut.nodekey import NodeKey, TensorSpec

__all__ = ["LatencyTable", "MeasureSummary", "NodeKey", "TensorSpec", "default_lut_path",
           "measure_missing"]

_LAZY = {
    "LatencyTable": "lut.table",
    "default_lut_path": "lut.engine",
    "MeasureSummary": "lut.measure",
    "measure_missing": "lut.measure",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lut' has no attribute {name!r}")
