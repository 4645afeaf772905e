import pytest

from lut.table import LatencyTable
from netadapt.latency.calibration import Calibration, Sample, fit, leave_one_out


def _samples():
    # measured = 0.8 * table + 0.01 ms per layer + 0.05 ms
    pts = [(1.0, 10), (2.0, 30), (0.5, 11), (3.0, 65), (1.5, 33)]
    return [Sample(t, n, 0.8 * t + 0.01 * n + 0.05) for t, n in pts]


def test_fit_recovers_a_linear_device_model():
    c = fit(_samples())
    assert c.scale == pytest.approx(0.8, rel=1e-6)
    assert c.per_unit_ms == pytest.approx(0.01, rel=1e-6)
    assert c.offset_ms == pytest.approx(0.05, rel=1e-6)
    assert c.apply(2.0, 20) == pytest.approx(1.85)


def test_leave_one_out_is_exact_on_exact_data_and_scale_only_with_few_models():
    samples = _samples()
    for est, s in zip(leave_one_out(samples), samples):
        assert est == pytest.approx(s.measured_ms, rel=1e-6)
    two = fit([Sample(1.0, 3, 2.0), Sample(2.0, 3, 4.0)])
    assert two.scale == pytest.approx(2.0) and two.per_unit_ms == 0.0


def test_calibration_is_stored_per_device(tmp_path):
    table = LatencyTable(str(tmp_path / "t.db"))
    fp_a, fp_b = {"kind": "fake", "n": 1}, {"kind": "fake", "n": 2}
    assert Calibration.load(table, fp_a) is None
    Calibration(0.9, 0.002, 0.01, 7).save(table, fp_a)
    assert Calibration.load(table, fp_a) == Calibration(0.9, 0.002, 0.01, 7)
    assert Calibration.load(table, fp_b) is None
