"""Export a network, check its ONNX model against PyTorch, and time it on the device against the start.

The starting model is measured in ``ROUNDS`` rounds and its least disturbed round (lowest median) is kept.
Every later model is timed run by run alternately with the starting model (``netadapt.latency.paired``): the
median of the per-pair ratios times the start's latency, with its 95% interval, and the verdict against the
budget, timed until the verdict is decided and the interval is within ``PRECISION``. Each pair's two runs see
the same load, so a machine that gets busier does not move the ratio the way it moves blocks of runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from netadapt.errors import UserError
from netadapt.latency import calibration

# Whole-model measurements of the start are taken in this many rounds.
ROUNDS = 3
# A paired measurement times at most this many pairs, for at most this long, to decide a model against the
# budget ...
MAX_PAIRS = 1920
MAX_PAIR_SECONDS = 60.0
# ... and goes on past a decided verdict until its interval's half-width is within this fraction of the ratio,
# for at most PRECISE_SECONDS: the next iteration's estimates are anchored on it, so a verdict decided on a wide
# interval (40 pairs of a 0.15 ms network at batch 1: +-6%) would move every estimate by as much. (A
# sub-millisecond network at batch 1 beside other work was still +-2-5% at 480 pairs.)
PRECISION = 0.01
PRECISE_SECONDS = 5.0


@dataclass
class Measurer:
    """Measures networks of one run on its device.

    Attributes:
        device: where latency is measured.
        table: the lookup table (whole-model measurements are stored there for the device's calibration).
        estimator: the table's estimates of a network (``netadapt.latency.estimator``).
        profiler: times whole models (the start's rounds).
        input_shape: the inputs models are exported and timed at.
        warmup: untimed runs before timing.
        repeats: the fewest pairs of a paired measurement (and runs per round of the start's).
        deploy: what of a network is exported and timed (None: the network).
        log: where warnings go.
        record_models: store whole-model measurements for the device's calibration (turned off when the table
            refuses them).
    """

    device: object
    table: object
    estimator: object
    profiler: object
    input_shape: object
    warmup: int = 10
    repeats: int = 40
    deploy: object = None
    log: object = print
    record_models: bool = True

    def __post_init__(self):
        self.calibration = calibration.Calibration.load(self.table, self.device.fingerprint())

    def export(self, model, folder: Path) -> Path:
        """``folder/model.onnx`` of the deployed network, checked output by output against PyTorch."""
        from netadapt.export import export_onnx

        deployed = model if self.deploy is None else self.deploy(model)
        return export_onnx(deployed, Path(folder) / "model.onnx", self.input_shape, verify=True)

    def measure_alone(self, onnx_path) -> dict:
        """The start: ``ROUNDS`` rounds, the least disturbed kept."""
        rounds = [float(self.profiler.measure_model(str(onnx_path), self.input_shape).median)
                  for _ in range(ROUNDS)]
        return {"measured_ms": min(rounds), "measured_rounds_ms": rounds}

    def compare(self, onnx_path, reference, reference_ms: float, budget_ms: float | None,
                max_pairs: int | None = None) -> dict:
        """Latency of ``onnx_path`` as ``reference_ms`` x its paired ratio to ``reference``, with the 95%
        interval and, given a budget, the verdict (timing goes on near the line until it can decide)."""
        from netadapt.latency.paired import PairedConfig, compare_models, report_latency

        config = PairedConfig(warmup=self.warmup, min_pairs=self.repeats,
                              max_pairs=max(self.repeats, MAX_PAIRS), max_seconds=MAX_PAIR_SECONDS,
                              precision=PRECISION, precise=True, precise_seconds=PRECISE_SECONDS)
        if max_pairs:
            config = dataclasses.replace(config, max_pairs=max_pairs, max_seconds=2 * MAX_PAIR_SECONDS)
        threshold = None if budget_ms is None else budget_ms / reference_ms
        result = compare_models(self.device, str(onnx_path), str(reference), self.input_shape,
                                threshold=threshold, config=config)
        report = report_latency(result, reference_ms, budget_ms)
        return {"measured_ms": report.ms, "measured_low_ms": report.low_ms, "measured_high_ms": report.high_ms,
                "ratio": result.ratio, "ratio_low": result.low, "ratio_high": result.high,
                "pairs": result.pairs, "verdict": report.verdict, "measurement": str(report)}

    def against_start(self, onnx_path, start_dir: Path, budget_ms: float | None) -> dict:
        """``compare`` with the start model of ``start_dir`` (its ``model.onnx`` and ``info.json``)."""
        from netadapt.runs import folder as rf

        start_ms = rf.read_json(Path(start_dir) / "info.json")["measured_ms"]
        measured = self.compare(onnx_path, Path(start_dir) / "model.onnx", start_ms, budget_ms)
        measured["ratio_to_start"] = measured["ratio"]
        return measured

    def note_table_estimates(self, onnx_path, info: dict) -> None:
        """Add the table's estimate (and the calibrated one, when the device has a calibration) of a measured
        model to ``info``, and store the measurement for the device's calibration."""
        breakdown = self.estimator.breakdown_of(self.estimator.onnx_units(str(onnx_path), self.input_shape))
        info["table_ms"] = sum(ms for *_, ms in breakdown)
        if self.calibration is not None:
            info["calibrated_ms"] = self.calibration.apply_breakdown(breakdown)
        if self.record_models:
            try:
                calibration.record(self.table, self.device.fingerprint(), breakdown, info["measured_ms"],
                                   "netadapt run")
            except UserError as exc:  # e.g. a complete table shared read-only: the run goes on
                self.record_models = False
                self.log(f"Warning: whole-model measurements are not stored for calibration ({exc}).")
