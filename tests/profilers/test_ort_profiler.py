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


def _scripted(prof, takes):
    """Make ``prof.time_runs`` return the given takes in order, counting the calls."""
    calls = []

    def time_runs(session, feeds):
        calls.append(1)
        return takes[len(calls) - 1]

    prof.time_runs = time_runs
    return calls


def test_an_unsteady_node_is_timed_again_and_the_lowest_median_kept():
    # a take where other work slowed two thirds of the runs: median 1.04 ms, 10th percentile 0.72
    loaded, quiet = [0.72] * 10 + [1.04] * 20, [0.73] * 15 + [0.74] * 15
    prof = OrtProfiler(CpuDevice(threads=1), ProfileConfig(warmup=0, repeats=30))
    calls = _scripted(prof, [loaded, quiet])
    stats = prof.measure_node(conv_key(8, 8, hw=16))
    assert len(calls) == 2 and prof.retaken == 1
    assert stats.median == pytest.approx(0.735) and stats.count == 30
    # a steady first take is kept as it is
    calls = _scripted(prof, [quiet])
    assert prof.measure_node(conv_key(8, 8, hw=16)).median == pytest.approx(0.735)
    assert len(calls) == 1 and prof.retaken == 1
    # unsteady every time: at most --retakes more takes, the lowest median kept
    worse = [0.72] * 10 + [1.5] * 20
    calls = _scripted(prof, [loaded, worse, loaded])
    assert prof.measure_node(conv_key(8, 8, hw=16)).median == pytest.approx(1.04)
    assert len(calls) == 3 and prof.retaken == 2
    none = OrtProfiler(CpuDevice(threads=1), ProfileConfig(warmup=0, repeats=30, retakes=0))
    calls = _scripted(none, [loaded])
    assert none.measure_node(conv_key(8, 8, hw=16)).median == pytest.approx(1.04) and len(calls) == 1


def test_bad_retake_settings_are_user_errors():
    with pytest.raises(UserError, match="max_spread"):
        ProfileConfig(max_spread=0)
    with pytest.raises(UserError, match="retakes"):
        ProfileConfig(retakes=-1)
