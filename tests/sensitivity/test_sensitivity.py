"""Sensitivity scan: CSV rows, a valid PNG, thresholds and global budgets turned into ratios."""

import csv
import json

import pytest
from click.testing import CliRunner
from conftest import DATA

from netadapt.checkpoint import load_checkpoint
from netadapt.cli import cli
from netadapt.errors import UserError
from netadapt.iterative import count_params
from netadapt.sensitivity import SensitivityRow, ratios_for_threshold, search_threshold

GROUPS = {"features.0.0": 8, "features.2.0": 16}


def _run(checkpoint, out, *extra):
    result = CliRunner().invoke(cli, ["sensitivity", "--checkpoint", str(checkpoint), "--data", DATA,
                                      "--holdout", "30", "--ratios", "0,0.5,0.75", "--out", str(out),
                                      "--no-progress", *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_scan_writes_one_row_per_group_and_ratio_and_a_png(checkpoint, tmp_path):
    _run(checkpoint, tmp_path)
    with open(tmp_path / "sensitivity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["group", "ratio", "channels", "accuracy", "drop"]
    assert [(r["group"], float(r["ratio"]), int(r["channels"])) for r in rows] == [
        ("features.0.0", 0.0, 8), ("features.0.0", 0.5, 4), ("features.0.0", 0.75, 2),
        ("features.2.0", 0.0, 16), ("features.2.0", 0.5, 8), ("features.2.0", 0.75, 4)]
    baseline = json.loads((tmp_path / "sensitivity.json").read_text())["baseline_accuracy"]
    assert baseline > 0.5  # the tiny model learned something (chance: 0.33)
    for r in rows:
        assert float(r["drop"]) == pytest.approx(baseline - float(r["accuracy"]))
        assert 0 <= float(r["accuracy"]) <= 1
    png = (tmp_path / "sensitivity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "sensitivity.png").shape[:2] == (550, 880)
    assert not (tmp_path / "ratios.json").exists()


def test_threshold_and_params_target_write_ratios(checkpoint, tmp_path):
    _run(checkpoint, tmp_path, "--threshold", "1.0")
    ratios = json.loads((tmp_path / "ratios.json").read_text())
    assert ratios["ratios"] == {g: 0.75 for g in GROUPS}  # any drop allowed: the largest ratios
    again = _run(checkpoint, tmp_path, "--target-params", "0.6")
    assert "Reusing the scan" in again.output
    info = json.loads((tmp_path / "ratios.json").read_text())
    original = count_params(load_checkpoint(checkpoint).model)
    assert info["original_params"] == original and info["params"] <= 0.6 * original
    assert set(info["ratios"]) == set(GROUPS)


def test_latency_target_on_the_fake_device(checkpoint, tmp_path):
    _run(checkpoint, tmp_path, "--target-latency", "99%", "--device", "fake", "--lut", str(tmp_path / "t.db"))
    info = json.loads((tmp_path / "ratios.json").read_text())
    assert info["table_ms"] <= info["budget_ms"] == pytest.approx(0.99 * info["start_table_ms"])


def _rows(curves):
    return [SensitivityRow(g, r, 0, 1 - d, d) for g, pts in curves.items() for r, d in pts]


def test_ratios_for_threshold_stops_at_the_first_point_over_it():
    rows = _rows({"a": [(0, 0), (0.3, 0.01), (0.6, 0.05), (0.9, 0.02)],  # noisy: 0.9 after a bad 0.6
                  "b": [(0, 0), (0.3, 0.001), (0.6, 0.002), (0.9, 0.5)]})
    assert ratios_for_threshold(rows, 0.0) == {"a": 0.0, "b": 0.0}
    assert ratios_for_threshold(rows, 0.03) == {"a": 0.3, "b": 0.6}
    assert ratios_for_threshold(rows, 0.05) == {"a": 0.9, "b": 0.6}


def test_search_threshold_finds_the_smallest_threshold_meeting_the_budget():
    rows = _rows({"a": [(0, 0), (0.5, 0.01), (0.9, 0.2)], "b": [(0, 0), (0.5, 0.03), (0.9, 0.04)]})
    cost = lambda ratios: sum(1 - r for r in ratios.values())  # "parameters" left  # noqa: E731
    threshold, ratios, value = search_threshold(rows, cost, 1.0)
    assert (threshold, ratios, value) == (0.03, {"a": 0.5, "b": 0.5}, 1.0)
    assert search_threshold(rows, cost, 0.6)[1] == {"a": 0.5, "b": 0.9}
    with pytest.raises(UserError, match="scan larger ratios"):
        search_threshold(rows, cost, 0.1)


def test_fill_budget_blends_with_the_next_lower_threshold_to_land_on_the_target():
    from netadapt.sensitivity import SensitivityRow, fill_budget, ratios_for_threshold, search_threshold

    rows = [SensitivityRow(group=g, ratio=r, channels=16, accuracy=0.0, drop=d)
            for g, pts in {"a": [(0.25, 0.0), (0.5, 0.01), (0.75, 0.05)],
                           "b": [(0.25, 0.02), (0.5, 0.04), (0.75, 0.2)]}.items() for r, d in pts]

    def cost(ratios):  # what stays, as a fraction: the two groups weigh alike
        return 1 - (ratios["a"] + ratios["b"]) / 2

    threshold, ratios, at = search_threshold(rows, cost, 0.5)
    assert (threshold, ratios, at) == (0.04, {"a": 0.5, "b": 0.5}, 0.5)
    assert fill_budget(rows, cost, 0.5, threshold, ratios) == ratios  # already on the target
    threshold, ratios, at = search_threshold(rows, cost, 0.55)  # between two thresholds' costs
    assert at <= 0.55
    filled = fill_budget(rows, cost, 0.55, threshold, ratios, tol=1e-6)
    below = ratios_for_threshold(rows, 0.02)
    assert all(min(below[g], ratios[g]) <= filled[g] <= max(below[g], ratios[g]) for g in ratios)
    assert cost(filled) <= 0.55 and cost(filled) > 0.55 - 1e-5


# two spawned worker processes: about 4 s
def test_two_workers_score_the_points_one_does(checkpoint):
    from netadapt.checkpoint import load_checkpoint
    from netadapt.criteria.registry import CRITERIA
    from netadapt.data import load_data
    from netadapt.sensitivity import scan

    loaded = load_checkpoint(checkpoint)
    bundle = load_data("synthetic:n=120,test=30", holdout=30)
    runs = [scan(loaded.model, loaded.input_shape, bundle.holdout, [0, 0.25, 0.5, 0.75], CRITERIA.create("l2"),
                 train=bundle.train, finetune_steps=3, seed=1, workers=workers) for workers in (1, 2)]
    (base1, rows1), (base2, rows2) = runs
    assert base1 == base2 and len(rows1) == 8 and any(r.drop > 0 for r in rows1)
    assert [(r.group, r.ratio, r.channels) for r in rows1] == [(r.group, r.ratio, r.channels) for r in rows2]
    # the same points, seeds and steps; a worker trains with its share of torch's threads, which may round
    # differently from the main process's
    assert all(abs(a.accuracy - b.accuracy) <= 0.1 for a, b in zip(rows1, rows2))
