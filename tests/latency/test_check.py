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
    res = check_model(model, shape, LatencyEstimator(table, dev, profiler), profiler, onnx_path=kept)
    assert kept.is_file() and kept.stat().st_size > 1000
    assert float(profiler.measure_model(str(kept), shape).median) == pytest.approx(res.measured_ms)
    assert res.table_ms == pytest.approx(sum(ms for *_, ms in res.breakdown))
    # the fake device's model latency is the sum of its nodes: the table estimate is exact
    assert res.table_ms == pytest.approx(res.measured_ms) and res.units == len(res.breakdown) > 5
    table.close()


def test_the_p10_statistic_reads_the_tables_tenth_percentile_and_the_models(tmp_path):
    from netadapt.errors import UserError
    from profilers import Stats

    from nodekeys import conv_key

    dev = get_device("fake")
    fp = dev.fingerprint()
    table = LatencyTable(str(tmp_path / "t.db"))
    sig = conv_key(8, 8)
    table.record(fp, sig, Stats(median=0.5, p10=0.4, p90=0.7, mean=0.52, std=0.1, count=50))
    assert LatencyEstimator(table, dev).node(sig) == pytest.approx(0.5)
    assert LatencyEstimator(table, dev, statistic="p10").node(sig) == pytest.approx(0.4)
    with pytest.raises(UserError, match="p10"):
        LatencyEstimator(table, dev, statistic="mean")
    with pytest.raises(UserError, match="not in the lookup table"):
        LatencyEstimator(table, dev).node(conv_key(8, 16))

    profiler = get_profiler(dev, ProfileConfig(warmup=0, repeats=3))
    model = create_model("digits_cnn", width_mult=0.25).eval()
    res = check_model(model, (1, 1, 16, 16), LatencyEstimator(table, dev, profiler, statistic="p10"), profiler)
    assert res.measured_ms == pytest.approx(res.measured_stats.p10)
    table.close()
