"""Compare the table's estimate of one model with a measurement of the whole exported model."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from netadapt.latency.calibration import Calibration
from netadapt.latency.estimator import LatencyEstimator
from netadapt.pruning import analyze


@dataclass
class CheckResult:
    table_ms: float
    measured_ms: float
    units: int
    breakdown: list  # (unit name, signature, ms)
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
    """Table estimate (measuring missing layers) and whole-model measurement of ``model``.

    The model is exported to ``onnx_path`` when given (and kept there), else to a temporary file.
    """
    from netadapt.export import export_onnx

    graph = analyze(model, input_shape)
    breakdown = estimator.breakdown(graph)
    table_ms = sum(ms for _, _, ms in breakdown)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, onnx_path or Path(tmp) / "model.onnx", input_shape, verify=False)
        stats = model_profiler.measure_model(str(path), input_shape)
    measured = float(getattr(stats, estimator.statistic))
    calibrated = calibration.apply_breakdown(breakdown) if calibration else None
    return CheckResult(table_ms, measured, len(graph.units), breakdown, calibrated, stats)
