"""Correct the table's whole-model estimate from whole-model measurements on the same device.

Summing layers timed one by one misses what happens between them (the executor's per-node work,
memory traffic) and includes each isolated call's fixed cost. A linear correction,

    measured ~= scale * table_sum + per_unit_ms * units + offset_ms,

fitted by least squares on models measured whole on the device, captures both. It is stored in the
lookup table under the device's fingerprint, so it is never applied to another device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

KEYS = ("scale", "per_unit_ms", "offset_ms", "models")


@dataclass(frozen=True)
class Sample:
    """One whole model: its table sum, its number of timed units, and its measured latency."""

    table_ms: float
    units: int
    measured_ms: float


@dataclass(frozen=True)
class Calibration:
    scale: float = 1.0
    per_unit_ms: float = 0.0
    offset_ms: float = 0.0
    models: int = 0

    def apply(self, table_ms: float, units: int) -> float:
        return self.scale * table_ms + self.per_unit_ms * units + self.offset_ms

    def save(self, table, fingerprint) -> None:
        for key in KEYS:
            table.set_calibration(fingerprint, f"whole_model.{key}", float(getattr(self, key)))

    @classmethod
    def load(cls, table, fingerprint) -> "Calibration | None":
        values = {k: table.get_calibration(fingerprint, f"whole_model.{k}") for k in KEYS}
        if any(v is None for v in values.values()):
            return None
        values["models"] = int(values["models"])
        return cls(**values)


def fit(samples: Sequence[Sample]) -> Calibration:
    """Least squares on relative error (each model weighs the same, small or large).

    With fewer than three models only the scale is fitted.
    """
    if not samples:
        raise ValueError("calibration needs at least one measured model")
    y = np.array([s.measured_ms for s in samples])
    if len(samples) < 3:
        t = np.array([s.table_ms for s in samples])
        return Calibration(scale=float(np.sum(t * y / y**2) / np.sum(t * t / y**2)), models=len(samples))
    x = np.array([[s.table_ms, s.units, 1.0] for s in samples])
    w = 1.0 / y  # divide each row by its measurement: minimise relative error
    coef, *_ = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)
    return Calibration(scale=float(coef[0]), per_unit_ms=float(coef[1]), offset_ms=float(coef[2]),
                       models=len(samples))


def leave_one_out(samples: Sequence[Sample]) -> list[float]:
    """Each model's calibrated estimate from a fit on all the others (an honest error estimate)."""
    out = []
    for i, s in enumerate(samples):
        rest = [o for j, o in enumerate(samples) if j != i]
        out.append(fit(rest).apply(s.table_ms, s.units))
    return out
