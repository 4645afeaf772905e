"""The latency lookup table: layer signatures and their measured statistics, per device.

``LatencyTable`` and ``measure_missing`` load SQLAlchemy on first use, so importing ``lut`` for the
signature alone stays light.
"""

from lut.signature import ACTIVATIONS, OPS, LayerSignature

__all__ = ["ACTIVATIONS", "OPS", "LayerSignature", "LatencyTable", "MeasureSummary", "NotInTable",
           "default_lut_path", "measure_missing"]

_LAZY = {
    "LatencyTable": "lut.table",
    "NotInTable": "lut.table",
    "default_lut_path": "lut.engine",
    "MeasureSummary": "lut.measure",
    "measure_missing": "lut.measure",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lut' has no attribute {name!r}")
