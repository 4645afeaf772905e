"""Compare the table's estimate of one model with a measurement of the whole exported model."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from netadapt.latency.calibration import Calibration
from netadapt.latency.estimator import LatencyEstimator


@dataclass
class CheckResult:
    table_ms: float
    measured_ms: float
    units: int
    breakdown: list  # (node name, node key, ms)
    calibrated_ms: float | None = None
    measured_stats: object | None = None  # profilers.Stats of the whole-model timing

    @property
    def error(self) -> float:
        return self.table_ms / self.measured_ms - 1.0

    @property
    def calibrated_error(self) -> float | None:
        return None if self.calibrated_ms is None else self.calibrated_ms / self.measured_ms - 1.0


def check_model(model, input_shape, estimator: LatencyEstimator, model_profiler,
                calibration: Calibration | None = None, onnx_path: Path | None = None) -> CheckResult:
    """Table estimate (measuring missing nodes) and whole-model measurement of ``model``.

    The model is exported once, to ``onnx_path`` when given (and kept there), else to a temporary file;
    the same file is measured and split into the nodes its device runs.
    """
    from netadapt.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, onnx_path or Path(tmp) / "model.onnx", input_shape, verify=False)
        breakdown = estimator.breakdown_of(estimator.onnx_units(str(path), input_shape))
        stats = model_profiler.measure_model(str(path), input_shape)
    table_ms = sum(ms for _, _, ms in breakdown)
    measured = float(getattr(stats, estimator.statistic))
    calibrated = calibration.apply_breakdown(breakdown) if calibration else None
    return CheckResult(table_ms, measured, len(breakdown), breakdown, calibrated, stats)
