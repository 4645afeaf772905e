"""The uniform width-multiplier baseline: channel rounding, the width search, curve reading, and a real build
on the tiny fake-device run."""

import json
import math

import pytest
import torch
from click.testing import CliRunner

import netadapt.baseline.build as build
from netadapt.baseline import (between_dir, bracket, build_between_points, build_uniform_baseline, build_wider_point,
                               choose_iterations, interpolate, latency_at_accuracy, latency_ratio, uniform_channels,
                               uniform_prune, wider_dir)
from netadapt.baseline.search import WidthSearch
from netadapt.cli import cli
from netadapt.criteria import create_criterion
from netadapt.errors import UserError
from netadapt.pruning import analyze


def test_uniform_channels_round_and_stay_within_one_and_size():
    assert uniform_channels({"a": 32, "b": 10, "c": 3}, 0.5) == {"a": 16, "b": 5, "c": 2}  # 1.5 rounds up
    assert uniform_channels({"a": 32, "b": 10}, 0.01) == {"a": 1, "b": 1}
    assert uniform_channels({"a": 32}, 1.0) == {"a": 32}
    # on NetAdapt's channel grid: multiples of the step below the size, and the size itself
    assert uniform_channels({"a": 64, "b": 20, "c": 4}, 0.55, step=8) == {"a": 32, "b": 8, "c": 4}
    assert uniform_channels({"a": 64, "b": 20}, 0.8, step=8) == {"a": 48, "b": 16}
    assert uniform_channels({"a": 64, "b": 20}, 0.9, step=8) == {"a": 56, "b": 20}
    assert uniform_channels({"a": 64}, 0.01, step=8) == {"a": 8}
    for bad in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError):
            uniform_channels({"a": 8}, bad)


def test_uniform_prune_keeps_the_criterions_channels(user_net):
    shape = (1, 3, 16, 16)
    graph = analyze(user_net, shape)
    criterion = create_criterion("l2")
    pruned = uniform_prune(user_net, shape, 0.5, criterion)
    assert analyze(pruned, shape).sizes() == {g: n // 2 for g, n in graph.sizes().items()}
    assert analyze(user_net, shape).sizes() == graph.sizes()  # the original is untouched
    keep = criterion.select(user_net, graph.groups["stem"], 8)
    torch.testing.assert_close(pruned.stem.weight, user_net.stem.weight[keep])


def test_choose_iterations():
    assert choose_iterations(10, None) == list(range(1, 11))
    assert choose_iterations(10, 3) == [3, 7, 10]
    assert choose_iterations(10, 1) == [10]
    assert choose_iterations(2, 5) == [1, 2]
    assert choose_iterations(10, [4, 2, 4]) == [2, 4]
    for last, points in ((0, 1), (5, 0), (5, [6]), (5, [0])):
        with pytest.raises(UserError):
            choose_iterations(last, points)


def test_width_search_matches_targets_and_reuses_measurements():
    sizes = {"a": 64, "b": 256}
    calls = []

    def measure(width):  # a latency that grows with the channels actually kept
        calls.append(width)
        c = uniform_channels(sizes, width)
        return 0.2 + 1e-4 * c["a"] * c["b"] + 1e-3 * c["b"]

    search = WidthSearch(sizes, measure, rtol=0.01)
    full = search.latency(1.0)
    for fraction in (0.8, 0.5, 0.3, 0.12):
        width, ms = search.find(fraction * full)
        assert 0 < width <= 1
        assert ms == pytest.approx(fraction * full, rel=0.01)
        assert ms == pytest.approx(measure(width))
    n = len(calls)
    assert search.find(0.5 * full)[1] == pytest.approx(0.5 * full, rel=0.01)
    assert len(calls) == n  # a target met by a width measured before costs no measurement
    assert search.find(2 * full) == (1.0, full)
    width, ms = search.find(0.01 * full)  # below the smallest network: one channel per group
    assert uniform_channels(sizes, width) == {"a": 1, "b": 1}


def test_width_search_takes_the_widest_width_within_the_target_where_latency_is_not_monotone():
    # as ONNX Runtime's blocked CPU kernels do: a count that is not a multiple of 16 is padded, so 24
    # channels cost more than 32
    sizes = {"a": 16, "b": 32, "c": 64}
    cost = {8: 1.0, 16: 2.0, 24: 4.5, 32: 4.0, 40: 5.0, 48: 6.0, 56: 7.5, 64: 8.0}

    def measure(width):
        c = uniform_channels(sizes, width, step=8)
        return sum(cost[n] for n in c.values())

    search = WidthSearch(sizes, measure, step=8, rtol=0.01)
    target = measure(0.375)  # 8/16/24: 7.5, which 0.5 (8/16/32: 7.0) beats at more channels
    width, ms = search.find(target)
    assert uniform_channels(sizes, width, step=8) == {"a": 8, "b": 16, "c": 32}
    assert ms == pytest.approx(7.0) and ms <= target
    # with nothing wider within the target, the closest width is kept, as before
    width, ms = search.find(measure(0.25))
    assert ms == pytest.approx(measure(0.25))


def test_the_wider_bracket_is_the_fastest_configuration_at_least_that_slow():
    sizes = {"a": 64, "b": 64}
    calls = []

    def measure(width):
        calls.append(width)
        c = uniform_channels(sizes, width, step=8)
        slow = 1.0 if c["a"] % 16 else 0.0  # a count off the kernels' block of 16 runs slow
        return 1.0 + 0.01 * (c["a"] + c["b"]) + slow  # 1.64 ms at 32/32, 2.80 at 40/40, 1.96 at 48/48

    search = WidthSearch(sizes, measure, step=8)
    width = search.fastest_at_least(0.5, 1.64 * 1.08)  # at least 1.7712 ms: 48/48 (1.96), not 40/40 (2.80)
    assert uniform_channels(sizes, width, step=8) == {"a": 48, "b": 48}
    assert len(calls) == 4  # every configuration above 32/32 once: 40, 48, 56, 64
    assert uniform_channels(sizes, search.fastest_at_least(0.5, 2.0), step=8) == {"a": 64, "b": 64}  # 2.28
    assert len(calls) == 4  # measured once, whatever the target
    assert search.fastest_at_least(0.5, 5.0) == 1.0  # nothing is that slow: full width
    assert search.fastest_at_least(1.0, 1.0) is None
    # where latency grows with width, that is the narrowest width so slow
    plain = WidthSearch(sizes, lambda w: 1.0 + 0.01 * sum(uniform_channels(sizes, w, step=8).values()), step=8)
    assert uniform_channels(sizes, plain.fastest_at_least(0.5, 1.7712), step=8) == {"a": 40, "b": 40}


def test_reading_curves():
    curve = [(2.0, 0.6), (1.0, 0.4), (3.0, 0.7)]
    assert interpolate(curve, 1.5) == pytest.approx(0.5)
    assert math.isnan(interpolate(curve, 0.5))
    assert latency_at_accuracy(curve, 0.65) == pytest.approx(2.5)
    assert math.isnan(latency_at_accuracy(curve, 0.8))  # never reached
    assert math.isnan(latency_at_accuracy(curve, 0.3))  # reached below the lowest latency measured
    assert latency_ratio((1.25, 0.65), curve) == pytest.approx(2.0)


def test_the_reading_at_a_latency_is_between_the_neighbouring_points_that_bracket_it():
    # MobileNetV1 seed 0 at 50%: matched 0.555, two widths between, the wider 0.625; NetAdapt at 3.714 ms
    uniform = [(3.449, 0.7844), (4.536, 0.7961), (3.753, 0.7925), (3.870, 0.7917)]
    assert bracket(uniform, 3.714) == ((3.449, 0.7844), (3.753, 0.7925))
    assert 0.7941 - interpolate(bracket(uniform, 3.714), 3.714) == pytest.approx(0.0026, abs=5e-5)  # +0.26
    assert bracket(uniform, 4.0) == ((3.870, 0.7917), (4.536, 0.7961))  # not the line from 3.449 to 4.536
    assert bracket(uniform, 3.582 - 0.2) is None  # faster than every uniform model: nothing to read
    assert bracket(uniform, 4.6) is None
    assert bracket([(16.5, 0.81), (16.5, 0.82)], 16.5) is None  # a span of zero width reads nothing


def test_build_matches_latencies_and_resumes(run_copy, monkeypatch):
    iterations = [json.loads((run_copy / f"iter_{k:03d}" / "info.json").read_text()) for k in range(3)]
    # channel step 1: fine enough for a close latency match on this small network
    points = build_uniform_baseline(run_copy, points=2, progress=False, log=lambda *_: None, channel_step=1)
    assert [p["iteration"] for p in points] == [1, 2]
    short = json.loads((run_copy / "config.json").read_text())["finetune"]["short_steps"]
    for p in points:
        assert p["target_ms"] == iterations[p["iteration"]]["measured_ms"]
        assert 0 < p["width"] <= 1
        assert p["measured_ms"] == pytest.approx(p["target_ms"], rel=0.03)
        assert 0 <= p["test_accuracy"] <= 1 and 0 <= p["holdout_accuracy"] <= 1
        assert p["finetune_steps"] == p["iteration"] * short and p["long_epochs"] == 1
        assert (run_copy / "baseline" / f"iter_{p['iteration']:03d}" / "model.onnx").is_file()
    assert points[0]["width"] > points[1]["width"]  # less latency, narrower network
    stored = json.loads((run_copy / "baseline" / "points.json").read_text())
    assert [{k: s[k] for k in ("width", "measured_ms", "test_accuracy", "holdout_accuracy", "target_ms")}
            for s in stored] == [{k: p[k] for k in ("width", "measured_ms", "test_accuracy",
                                                    "holdout_accuracy", "target_ms")} for p in points]
    assert not [p for p in (run_copy / "baseline").iterdir() if p.name.startswith(".")]

    def no_rebuild(*args, **kwargs):
        raise AssertionError("finished points must not be rebuilt")

    monkeypatch.setattr(build, "_Builder", no_rebuild)
    again = build_uniform_baseline(run_copy, points=[2], progress=False, log=lambda *_: None, channel_step=1)
    assert again == [points[1]]


def test_the_next_wider_point_brackets_the_matched_one_and_stays_out_of_the_report(run_copy, monkeypatch):
    with pytest.raises(UserError, match="no uniform baseline point matches iteration 2"):
        build_wider_point(run_copy, 2, progress=False, log=lambda *_: None)
    matched, = build_uniform_baseline(run_copy, points=[2], progress=False, log=lambda *_: None, channel_step=1)
    wider = build_wider_point(run_copy, 2, progress=False, log=lambda *_: None)
    assert wider["below_width"] == matched["width"] < wider["width"] <= 1
    assert wider["target_ms"] == matched["target_ms"] and wider["channel_step"] == 1
    assert sum(wider["channels"].values()) > sum(matched["channels"].values())
    assert all(wider["channels"][g] >= n for g, n in matched["channels"].items())
    assert wider["finetune_steps"] == matched["finetune_steps"] and wider["long_epochs"] == matched["long_epochs"]
    assert 0 <= wider["test_accuracy"] <= 1 and wider["measured_ms"] > 0
    assert wider_dir(run_copy, 2) == run_copy / "baseline" / "iter_002_wider"
    assert (wider_dir(run_copy, 2) / "model.onnx").is_file()
    stored = json.loads((run_copy / "baseline" / "points.json").read_text())
    assert [p["iteration"] for p in stored] == [2] and stored[0]["width"] == matched["width"]

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a finished wider point must not be rebuilt")

    monkeypatch.setattr(build, "_Builder", no_rebuild)
    assert build_wider_point(run_copy, 2, progress=False, log=lambda *_: None) == wider
    # built for another target (the iteration's network was since replaced): not reused
    stale = wider_dir(run_copy, 2) / "info.json"
    stale.write_text(json.dumps({**wider, "target_ms": wider["target_ms"] * 0.9}))
    with pytest.raises(AssertionError, match="must not be rebuilt"):
        build_wider_point(run_copy, 2, progress=False, log=lambda *_: None)
    stale.write_text(json.dumps(wider))
    monkeypatch.undo()
    apart = build_wider_point(run_copy, 2, progress=False, log=lambda *_: None, margin=0.3)
    assert apart["margin"] == 0.3 and apart["rule"] == "fastest"  # rebuilt: another margin
    assert apart["width"] > wider["width"]
    assert apart["search_ms"] >= 1.3 * matched["target_ms"] or apart["width"] == 1.0


def test_the_widths_between_the_matched_and_the_wider_point_are_fine_tuned_alike(run_copy, monkeypatch):
    matched, = build_uniform_baseline(run_copy, points=[2], progress=False, log=lambda *_: None, channel_step=1)
    with pytest.raises(UserError, match="wider point first"):
        build_between_points(run_copy, 2, progress=False, log=lambda *_: None)
    wider = build_wider_point(run_copy, 2, progress=False, log=lambda *_: None, margin=0.3)
    inside = build_between_points(run_copy, 2, progress=False, log=lambda *_: None, limit=2)
    assert 1 <= len(inside) <= 2
    widths = [p["width"] for p in inside]
    assert matched["width"] < widths[0] and widths == sorted(widths) and widths[-1] < wider["width"]
    for p in inside:
        assert p["between"] == [matched["width"], wider["width"]] and p["target_ms"] == matched["target_ms"]
        assert p["finetune_steps"] == matched["finetune_steps"] and p["long_epochs"] == matched["long_epochs"]
        assert all(matched["channels"][g] <= n <= wider["channels"][g] for g, n in p["channels"].items())
        assert sum(matched["channels"].values()) < sum(p["channels"].values()) < sum(wider["channels"].values())
        assert between_dir(run_copy, 2, p["width"]) == run_copy / "baseline" / f"iter_002_at_{p['width']:.4f}"
        assert (between_dir(run_copy, 2, p["width"]) / "model.onnx").is_file()
    stored = json.loads((run_copy / "baseline" / "points.json").read_text())
    assert [p["iteration"] for p in stored] == [2]  # outside the report's points

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a finished width must not be rebuilt")

    def no_data(*args, **kwargs):
        raise AssertionError("nothing to train: the data must not be loaded")

    monkeypatch.setattr(build._Builder, "point", no_rebuild)
    monkeypatch.setattr("netadapt.data.load_data", no_data)
    assert build_between_points(run_copy, 2, progress=False, log=lambda *_: None, limit=2) == inside


def test_report_cli_builds_the_baseline_first(run_copy, tmp_path):
    result = CliRunner().invoke(cli, ["report", str(run_copy), "--baseline", "1", "--no-progress",
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Uniform baseline: 1 points" in result.output
    stored = json.loads((run_copy / "baseline" / "points.json").read_text())
    assert [p["iteration"] for p in stored] == [2]
    assert stored[0]["channel_step"] == 8  # the run's grid by default
    info = json.loads((run_copy / "baseline" / "iter_002" / "info.json").read_text())
    assert all(n % 8 == 0 for n in info["channels"].values())
    assert stored[0]["measured_ms"] == pytest.approx(stored[0]["target_ms"], rel=0.15)  # a coarse grid
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Uniform width-multiplier baseline" in md


def test_the_uniform_path_is_fine_tuned_as_long_as_each_iteration_was(tmp_path):
    from netadapt.baseline.build import path_finetune_steps
    from netadapt.runs import folder as rf

    for i, info in enumerate([{}, {}, {"finetune_steps": 480}, {"finetune_steps": 120}]):
        folder = rf.iteration_dir(tmp_path, i)
        folder.mkdir(parents=True)
        rf.write_json(folder / "info.json", {"iteration": i, **info})
    # NetAdapt iterations (no finetune_steps) fine-tuned their winner for --short-term-steps; HALP steps longer
    assert path_finetune_steps(tmp_path, 3, 40) == [40, 480, 120]
    assert path_finetune_steps(tmp_path, 1, 40) == [40]
    assert path_finetune_steps(tmp_path, 0, 40) == []
