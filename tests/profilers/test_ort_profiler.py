import pytest

from devices.cpu import CpuDevice
from devices.fake import FakeDevice
from netadapt.errors import UserError
from profilers import ProfileConfig, get_profiler
from profilers.fake import FakeProfiler
from profilers.node_graphs import build_node_model
from profilers.ort_profiler import OrtProfiler

from nodekeys import conv_key, relu_key


def test_tiny_fused_conv_timing():
    prof = OrtProfiler(CpuDevice(threads=1), ProfileConfig(warmup=3, repeats=25))
    stats = prof.measure_node(conv_key(8, 8, hw=16))
    assert stats.count == 25
    assert 0 < stats.p10 <= stats.median <= stats.p90
    assert stats.median < 50  # milliseconds; a 16x16 conv of 8 channels is far below this
    assert 0 < prof.timed_seconds <= prof.wall_seconds


def test_min_time_extends_repeats():
    prof = OrtProfiler(CpuDevice(), ProfileConfig(warmup=0, repeats=2, min_time_ms=5.0))
    stats = prof.measure_node(relu_key((1, 4, 4, 4)))
    assert stats.count > 2
    assert stats.mean * stats.count >= 5.0 * 0.999


def test_subtract_overhead_is_cached_and_clamped():
    prof = OrtProfiler(CpuDevice(), ProfileConfig(warmup=2, repeats=10, subtract_overhead=True))
    stats = prof.measure_node(relu_key((1, 4, 2, 2)))
    assert stats.p10 >= 0.0 and stats.count == 10
    assert list(prof._overhead) == [((1, 4, 2, 2), "float32")]
    cost = prof.overhead_ms((1, 4, 2, 2))
    assert cost > 0 and prof.overhead_ms((1, 4, 2, 2)) == cost


def test_measure_model_from_proto_bytes_and_path(tmp_path):
    model, _ = build_node_model(conv_key(3, 8, hw=16))
    path = tmp_path / "conv.onnx"
    path.write_bytes(model.SerializeToString())
    prof = OrtProfiler(CpuDevice(), ProfileConfig(warmup=1, repeats=5))
    for m in (model, model.SerializeToString(), str(path)):
        assert prof.measure_model(m, (1, 3, 16, 16)).count == 5


def test_measure_model_wrong_shape_is_user_error():
    prof = OrtProfiler(CpuDevice(), ProfileConfig(warmup=0, repeats=1))
    with pytest.raises(UserError, match="does not fit"):
        prof.measure_model(build_node_model(conv_key(3, 8, hw=16))[0], (1, 4, 16, 16))


def test_bad_config_is_user_error():
    with pytest.raises(UserError):
        ProfileConfig(repeats=0)
    assert ProfileConfig.__dataclass_fields__["warmup"].metadata["help"]


def test_registry_picks_profiler_by_device():
    assert isinstance(get_profiler(FakeDevice()), FakeProfiler)
    prof = get_profiler(CpuDevice(), ProfileConfig(repeats=7))
    assert isinstance(prof, OrtProfiler) and prof.config.repeats == 7
