import pytest
import torch

from devices import get_device
from lut.table import LatencyTable
from netadapt.latency import LatencyEstimator
from netadapt.latency.check import check_model
from netadapt.models import create_model
from profilers import ProfileConfig, get_profiler


def test_check_model_keeps_the_export_where_asked(tmp_path):
    dev = get_device("fake")
    table = LatencyTable(str(tmp_path / "t.db"))
    profiler = get_profiler(dev, ProfileConfig(warmup=0, repeats=1))
    torch.manual_seed(0)
    model = create_model("digits_cnn", width_mult=0.25).eval()
    shape = (1, 1, 16, 16)
    kept = tmp_path / "kept.onnx"
    res = check_model(model, shape, LatencyEstimator(table, dev.fingerprint(), profiler), profiler, onnx_path=kept)
    assert kept.is_file() and kept.stat().st_size > 1000
    assert float(profiler.measure_model(str(kept), shape).median) == pytest.approx(res.measured_ms)
    assert res.table_ms == pytest.approx(sum(ms for *_, ms in res.breakdown))
    table.close()
