"""Correct the table's whole-model estimate from whole-model measurements on the same device.

Summing layers timed one by one misses what happens between them (the executor's per-node work,
memory traffic) and includes each isolated call's fixed cost, and the size of each error depends on
the kind of layer. A linear model over a few features of the model,

    measured ~= sum_f coef_f * feature_f

fitted by least squares on the relative error of models measured whole on the device, captures that.
Two feature sets are offered:

- ``SIMPLE``: the table's sum, the number of timed units and a constant;
- ``FULL``: the table's sum split by layer kind (dense convolutions and linear layers, depthwise and
  grouped convolutions, everything else), the number of units, the megabytes of weights the model
  streams through memory per inference, and a constant;
- ``TRAFFIC``: ``FULL`` plus the megabytes of activations the layers read and write. It tests one
  idea: a layer timed in its own session pays for its input and output at the session's boundary
  (ONNX Runtime's CPU provider converts them to and from its blocked NCHWc layout there), which
  consecutive layers inside a whole model mostly do not. On the fidelity benchmark it did no better
  than ``FULL``, so ``fit`` uses it only when asked.

``fit`` uses the richest set the number of models supports. Whole-model measurements (``record``: from
``netadapt run``, ``netadapt lut check`` and bench/fidelity.py) are stored in the lookup table, and
``refit`` fits on all of them; the result is stored under the device's fingerprint, so it is never
applied to another device, and it improves with every model the device measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from lut.nodework import NodeWork


SIMPLE = ("table_ms", "units", "one")
FULL = ("conv_ms", "depthwise_ms", "other_ms", "units", "weight_mb", "one")
TRAFFIC = FULL + ("act_mb",)
TABLE_ONLY = ("table_ms",)
_SETS = (TABLE_ONLY, SIMPLE, FULL, TRAFFIC)  # stored as an index: append, never reorder
# Coefficients a fit is pulled towards when the models say nothing about a feature (for example no
# model had a depthwise layer): the table taken at its word.
_PRIOR = {"table_ms": 1.0, "conv_ms": 1.0, "depthwise_ms": 1.0, "other_ms": 1.0}
_RIDGE = 1e-4
_BYTES = {"float32": 4, "float16": 2, "float64": 8}
# Set in the features of every model measured since tables are keyed by the nodes the device runs:
# models recorded before (summed from isolated layer signatures) are left out of fits.
BASIS = "node_keys"
# Names the first stored calibrations used for the SIMPLE coefficients.
_OLD_NAMES = {"table_ms": "scale", "units": "per_unit_ms", "one": "offset_ms"}


def features(breakdown: Iterable[tuple]) -> dict[str, float]:
    """Every feature of one model from its table breakdown: (unit name, node key, ms) per node."""
    f = {"table_ms": 0.0, "conv_ms": 0.0, "depthwise_ms": 0.0, "other_ms": 0.0, "units": 0.0,
         "weight_mb": 0.0, "act_mb": 0.0, "one": 1.0, BASIS: 1.0}
    for _, key, ms in breakdown:
        f["table_ms"] += ms
        f["units"] += 1
        kind = {"dense": "conv_ms", "depthwise": "depthwise_ms"}.get(key.kind, "other_ms")
        f[kind] += ms
        size = _BYTES.get(key.dtype, 4) / 1e6
        work = NodeWork.of(key)
        f["weight_mb"] += work.weight_count * size
        f["act_mb"] += work.io_elements * size
    return f


@dataclass(frozen=True)
class Sample:
    """One model measured whole: its features and its measured latency (ms)."""

    features: Mapping[str, float]
    measured_ms: float

    @classmethod
    def from_breakdown(cls, breakdown, measured_ms: float) -> "Sample":
        return cls(features(breakdown), measured_ms)


@dataclass(frozen=True)
class Calibration:
    """Coefficients per feature name; ``models`` is how many measured models they were fitted on."""

    coef: Mapping[str, float] = field(default_factory=lambda: {"table_ms": 1.0})
    models: int = 0

    @property
    def feature_set(self) -> tuple[str, ...]:
        return tuple(self.coef)

    def apply(self, feats: Mapping[str, float]) -> float:
        return float(sum(c * feats[name] for name, c in self.coef.items()))

    def apply_breakdown(self, breakdown) -> float:
        return self.apply(features(breakdown))

    def describe(self) -> str:
        units = {"units": "ms/unit", "weight_mb": "ms/MB", "act_mb": "ms/MB", "one": "ms"}
        return ", ".join(f"{name} {c:+.4g}" + (f" {units[name]}" if name in units else "")
                         for name, c in self.coef.items())

    def save(self, table, fingerprint) -> None:
        if self.feature_set not in _SETS:
            raise ValueError(f"cannot store a calibration over features {self.feature_set}")
        for name, c in self.coef.items():
            table.calibration.set(fingerprint, f"whole_model.{name}", float(c))
        table.calibration.set(fingerprint, "whole_model.feature_set", float(_SETS.index(self.feature_set)))
        table.calibration.set(fingerprint, "whole_model.models", float(self.models))

    @classmethod
    def load(cls, table, fingerprint) -> "Calibration | None":
        models = table.calibration.get(fingerprint, "whole_model.models")
        if models is None:
            return None
        code = table.calibration.get(fingerprint, "whole_model.feature_set")
        if code is None:  # stored before feature sets existed: the SIMPLE coefficients, other names
            names = {n: f"whole_model.{o}" for n, o in _OLD_NAMES.items()}
        else:
            names = {n: f"whole_model.{n}" for n in _SETS[int(code)]}
        values = {n: table.calibration.get(fingerprint, key) for n, key in names.items()}
        if any(v is None for v in values.values()):
            return None
        return cls(values, int(models))


def _solve(samples: Sequence[Sample], names: Sequence[str]) -> dict[str, float]:
    """Least squares on relative error, with a light ridge towards ``_PRIOR`` on normalised columns."""
    y = np.array([s.measured_ms for s in samples], dtype=float)
    x = np.array([[s.features[n] for n in names] for s in samples], dtype=float) / y[:, None]
    target = np.ones(len(samples))
    scale = np.sqrt((x ** 2).mean(axis=0))
    scale[scale == 0] = 1.0
    prior = np.array([_PRIOR.get(n, 0.0) for n in names])
    xs = x / scale
    a = np.vstack([xs, np.sqrt(_RIDGE) * np.eye(len(names))])
    b = np.concatenate([target, np.sqrt(_RIDGE) * prior * scale])
    coef_scaled, *_ = np.linalg.lstsq(a, b, rcond=None)
    return {n: float(c) for n, c in zip(names, coef_scaled / scale)}


def fit(samples: Sequence[Sample], feature_set: Sequence[str] | None = None) -> Calibration:
    """The calibration fitted on ``samples``: each model weighs the same, small or large.

    Without ``feature_set``, the richest set with at least two models per coefficient is used
    (``FULL``, then ``SIMPLE``, then the table's sum alone). ``TRAFFIC`` is only used when asked for:
    on the fidelity benchmark it was no better than ``FULL`` (see the README).
    """
    if not samples:
        raise ValueError("calibration needs at least one measured model")
    if feature_set is None:
        feature_set = next((fs for fs in (FULL, SIMPLE) if len(samples) >= 2 * len(fs)), TABLE_ONLY)
    missing = {n for s in samples for n in feature_set if n not in s.features}
    if missing:
        raise ValueError(f"some models were recorded without the feature(s) {sorted(missing)}")
    return Calibration(_solve(samples, tuple(feature_set)), len(samples))


def leave_one_out(samples: Sequence[Sample], feature_set: Sequence[str] | None = None) -> list[float]:
    """Each model's calibrated estimate from a fit on all the others (an honest error estimate)."""
    out = []
    for i, s in enumerate(samples):
        rest = [o for j, o in enumerate(samples) if j != i]
        out.append(fit(rest, feature_set).apply(s.features))
    return out


def model_key(breakdown) -> str:
    """The identity of a network's architecture as the device runs it: a hash of its node keys in order."""
    import hashlib

    text = "|".join(key.key_id for _, key, _ in breakdown)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def record(table, fingerprint, breakdown, measured_ms: float, source: str) -> None:
    """Store one whole-model measurement and its features in the table, for later fits."""
    table.models.record(fingerprint, model_key(breakdown), features(breakdown), measured_ms, source)


def refit(table, fingerprint) -> Calibration | None:
    """Fit on every whole model measured on this device so far, store the result and return it.

    None (and nothing stored) when the table holds no whole-model measurement for the device.
    """
    samples = [Sample(f, ms) for f, ms in table.models.measured_on(fingerprint) if f.get(BASIS)]
    if not samples:
        return None
    calib = fit(samples)
    calib.save(table, fingerprint)
    return calib
