"""The fast-count uniform width: the rounding rule on made-up curves, curves read from the table, the width
search over fast counts, and a real CPU model with a known cliff measured against the naive rounding."""

import platform

import pytest
import torch
from torch import nn

from netadapt.baseline import uniform_channels, uniform_prune
from netadapt.baseline.fast import FastRounding, fast_counts, round_to_fast, table_curves
from netadapt.baseline.search import WidthSearch
from netadapt.criteria import create_criterion
from netadapt.pruning import analyze

# as ONNX Runtime's blocked CPU kernels run a layer: counts off the block of 16 are slow (24 and 40 here are
# slower than 32 and 48), and 56 is as fast as 64 (a tie)
CURVE = {8: 1.0, 16: 2.0, 24: 4.5, 32: 4.0, 40: 6.5, 48: 6.0, 56: 8.0, 64: 8.0}


def test_fast_counts_are_those_not_slower_than_any_larger_count():
    assert fast_counts(CURVE) == [8, 16, 32, 48, 56, 64]
    assert fast_counts({8: 1.0}) == [8]
    assert fast_counts({4: 3.0, 8: 2.0, 12: 1.0}) == [12]  # every smaller count slower than the full size
    assert fast_counts({8: 1.0, 16: 2.0, 24: 3.0}) == [8, 16, 24]  # latency that grows: every count
    with pytest.raises(ValueError):
        fast_counts({})


def test_rounding_goes_to_the_nearest_fast_count_and_ties_go_up():
    assert round_to_fast(CURVE, 23.0) == 16  # 24 is on a cliff: 16 is 7 away, 32 is 9 away
    assert round_to_fast(CURVE, 24.0) == 32  # 8 either way: up
    assert round_to_fast(CURVE, 40.0) == 48  # 40 slower than 48: 32 and 48 tie, up
    assert round_to_fast(CURVE, 39.0) == 32
    assert round_to_fast(CURVE, 60.0) == 64  # 56 and 64 as near
    assert round_to_fast(CURVE, 55.0) == 64  # 56 is as fast as 64: up
    assert round_to_fast(CURVE, 51.0) == 48
    # as ResNet-20's groups on the CPU at step 8: 24 padded to 32 (the same latency), 40 to 48
    padded = {8: 83.3, 16: 83.71, 24: 85.04, 32: 85.04, 40: 86.59, 48: 86.59, 56: 88.17, 64: 88.17}
    assert [round_to_fast(padded, w * 64) for w in (0.3, 0.375, 0.5, 0.6, 0.8, 0.875)] == [16, 32, 32, 48, 48, 64]
    assert round_to_fast(CURVE, 0.3) == 8
    rounding = FastRounding({"a": CURVE, "b": {10: 1.0, 20: 3.0, 30: 2.0}})
    assert rounding({"a": 64, "b": 30}, 0.5) == {"a": 32, "b": 10}  # b: 15 is as near 10 as 20 is; 20 is slow
    assert rounding({"a": 64, "b": 30}, 1.0) == {"a": 64, "b": 30}
    with pytest.raises(ValueError):
        rounding({"a": 64}, 0.0)
    # stored as JSON (string counts) and read back
    assert FastRounding(rounding.to_dict()).curves == rounding.curves


def test_the_width_search_steps_over_slow_counts():
    sizes = {"a": 64}
    rounding = FastRounding({"a": CURVE})

    def measure(width):
        return CURVE[rounding(sizes, width)["a"]]

    search = WidthSearch(sizes, measure, step=8, channels=lambda w: rounding(sizes, w))
    width, ms = search.find(6.2)  # 48 channels at 6.0 ms; the naive 40 would be 6.5 ms
    assert rounding(sizes, width) == {"a": 48} and ms == 6.0
    width, ms = search.find(4.2)
    assert rounding(sizes, width) == {"a": 32} and ms == 4.0
    assert all(dict(key)["a"] in fast_counts(CURVE) for key in search.visited)


def cliff_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)).eval()


def test_fast_counts_measure_no_slower_than_the_naive_width_on_the_cpu(tmp_path):
    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.export import export_onnx
    from netadapt.latency import LatencyEstimator
    from netadapt.latency.paired import PairedConfig, compare_models
    from profilers import ProfileConfig, get_profiler

    model, shape, step = cliff_net(), (8, 3, 32, 32), 2
    device = get_device("cpu", threads=1)
    estimator = LatencyEstimator(LatencyTable(str(tmp_path / "lut.db")), device,
                                 get_profiler(device, ProfileConfig(warmup=3, repeats=15)), statistic="p10")
    graph = analyze(model, shape)
    curves = table_curves(estimator, model, graph, step)
    assert set(curves) == set(graph.groups)
    for curve in curves.values():
        assert sorted(curve) == list(range(2, 65, 2)) and all(ms > 0 for ms in curve.values())
    rounding = FastRounding(curves)
    width = 0.97  # 62 channels naively: off every SIMD block the CPU kernels are laid out in
    naive = uniform_channels(graph.groups, width, step)
    fast = rounding(graph.groups, width)
    assert set(naive.values()) == {62}
    if platform.machine().lower() in ("x86_64", "amd64"):  # blocked (NCHWc) kernels: 62 is slower than 64
        assert set(fast.values()) == {64}
    criterion = create_criterion("l2")
    paths = {}
    for name, how in (("naive", None), ("fast", rounding)):
        pruned = uniform_prune(model, shape, width, criterion, step, rounding=how)
        assert analyze(pruned, shape, validate=False).sizes() == (naive if how is None else fast)
        paths[name] = export_onnx(pruned, tmp_path / f"{name}.onnx", shape)
    result = compare_models(device, str(paths["fast"]), str(paths["naive"]), shape,
                            config=PairedConfig(warmup=5, min_pairs=60, max_pairs=60))
    assert result.ratio <= 1.02  # no slower, within the noise of a shared machine
    if fast != naive:  # the cliff the table saw is there (about 0.7 on a quiet x86 CPU)
        assert result.ratio < 0.9


def test_the_fast_count_arm_is_built_beside_the_naive_one_and_resumes(run_copy, tmp_path, monkeypatch):
    import json

    import netadapt.baseline.build as build
    from netadapt.baseline import build_uniform_baseline, build_wider_point, point_dir, wider_dir

    lut = str(tmp_path / "lut.db")
    point, = build_uniform_baseline(run_copy, points=[2], progress=False, log=lambda *_: None, channel_step=8,
                                    rounding="fast", lut=lut)
    assert point["rounding"] == "fast" and point["channel_step"] == 8
    assert (point_dir(run_copy, 2, "fast") / "model.onnx").is_file()
    assert point_dir(run_copy, 2, "fast") == run_copy / "baseline_fast" / "iter_002"
    assert not (run_copy / "baseline").exists()  # the naive arm's folder is its own
    stored = json.loads((run_copy / "baseline_fast" / "curves.json").read_text())
    rounding = FastRounding(stored["curves"])
    assert stored["step"] == 8 and set(rounding.curves) == set(point["channels"])
    for group, count in point["channels"].items():
        assert count in fast_counts(rounding.curves[group])
    assert rounding(point["channels"] | {g: max(c) for g, c in rounding.curves.items()}, point["width"]) == \
        point["channels"]
    assert point["measured_ms"] <= point["target_ms"] * 1.15  # the fake device's latency, on a coarse grid
    wider = build_wider_point(run_copy, 2, progress=False, log=lambda *_: None, rounding="fast", lut=lut)
    assert wider["width"] > point["width"] and (wider_dir(run_copy, 2, "fast") / "model.onnx").is_file()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("finished points must not be rebuilt")

    monkeypatch.setattr(build, "_Builder", no_rebuild)
    assert build_uniform_baseline(run_copy, points=[2], progress=False, log=lambda *_: None, channel_step=8,
                                  rounding="fast", lut=lut) == [point]
