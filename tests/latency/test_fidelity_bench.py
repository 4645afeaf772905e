"""bench/fidelity.py's merge: a grid measured in several processes is scored as one run would score it."""

import json

import pytest
from benches import load_bench


@pytest.fixture(scope="module")
def fidelity():
    return load_bench("fidelity")


def _model(name, width, variant, table_ms, passes):
    feats = {"table_ms": table_ms, "units": 10.0 + variant, "one": 1.0, "conv_ms": 0.8 * table_ms,
             "depthwise_ms": 0.0, "other_ms": 0.2 * table_ms, "weight_mb": width, "act_mb": 2 * width}
    row = {"model": name, "width": width, "input": 32, "variant": variant}
    for stat in ("median", "p10"):
        row[f"{stat}_passes_ms"] = passes
        row[f"{stat}_measured_ms"] = min(passes[: len(passes) // 2])
        row[f"{stat}_features"] = feats
    return row


def _write(path, rows, **args):
    base = {"models": "a", "widths": "1.0", "sizes": "32", "batch": 32, "repeats": 50, "json": str(path)}
    path.write_text(json.dumps({"args": {**base, **args}, "fingerprint": {"processor": "x"},
                                "models": rows}))
    return str(path)


def test_merged_files_score_like_one_run(fidelity, tmp_path):
    a = [_model("a", 1.0, 0, 10.0, [11.0, 12.0]), _model("a", 1.0, 1, 5.0, [5.5, 5.0])]
    b = [_model("b", 1.0, 0, 20.0, [20.0, 21.0]), _model("b", 1.0, 1, 8.0, [8.8, 8.0])]
    merged = fidelity.merge([_write(tmp_path / "a.json", a, models="a"),
                             _write(tmp_path / "b.json", b, models="b")])
    scores = merged["median"]["scores"]
    # noise floor: |12/11-1|, |5/5.5-1|, |21/20-1|, |8/8.8-1| -> median of 9.09%, 9.09%, 5%, 9.09%
    assert scores["repeat measurement (noise floor)"]["median"] == pytest.approx(1 / 11)
    assert scores["repeat measurement (noise floor)"]["n"] == 4
    # table: 10/11, 5/5.5, 20/20, 8/8.8 -> errors 9.09%, 9.09%, 0, 9.09%
    assert scores["table"]["median"] == pytest.approx(1 / 11)
    assert scores["table"]["within5"] == pytest.approx(0.25)
    # anchored by ratio: a's variant 11 * 5/10 = 5.5 (exact), b's 20 * 8/20 = 8 vs 8.8
    assert scores["anchored_ratio"]["n"] == 2
    assert scores["anchored_ratio"]["within5"] == pytest.approx(0.5)
    one = fidelity.score_models([("a", 1.0, 32, 0), ("a", 1.0, 32, 1), ("b", 1.0, 32, 0), ("b", 1.0, 32, 1)],
                                [m["median_features"] for m in a + b], [m["median_passes_ms"] for m in a + b])
    assert one["scores"] == scores


def test_merge_refuses_other_settings_or_a_model_twice(fidelity, tmp_path):
    a = [_model("a", 1.0, 0, 10.0, [11.0, 12.0])]
    with pytest.raises(SystemExit, match="repeats"):
        fidelity.merge([_write(tmp_path / "a.json", a), _write(tmp_path / "b.json", a, repeats=20)])
    with pytest.raises(SystemExit, match="twice"):
        fidelity.merge([_write(tmp_path / "a.json", a), _write(tmp_path / "b.json", a)])


def test_the_loops_estimate_drops_the_per_call_share_the_table_overstates(fidelity):
    keys = [("a", 1.0, 32, 0), ("a", 1.0, 32, 1), ("b", 1.0, 32, 0), ("b", 1.0, 32, 1)]
    feats = [{"table_ms": 10.0, "calls_ms": 4.0}, {"table_ms": 6.0, "calls_ms": 3.0},
             {"table_ms": 8.0, "calls_ms": 1.0}, {"table_ms": 4.0, "calls_ms": 0.5}]
    out = fidelity.score_models(keys, feats, [[8.0, 8.0], [5.2, 5.2], [6.0, 6.0], [3.0, 3.0]])["scores"]
    # a: the table exceeds the 8 ms measured by 2, half its calls: 8 * (6 - 1.5) / (10 - 2) = 4.5 against 5.2
    #    (by plain ratio 8 * 6 / 10 = 4.8); b: the excess is twice its calls, the share capped at all of them:
    #    6 * (4 - 0.5) / (8 - 1) = 3.0, exact (by plain ratio 6 * 4 / 8 = 3.0 too)
    assert out["anchored_call_share"]["n"] == 2
    assert out["anchored_call_share"]["median"] == pytest.approx(abs(4.5 / 5.2 - 1) / 2)
    assert out["anchored_ratio"]["median"] == pytest.approx(abs(4.8 / 5.2 - 1) / 2)
    assert out["anchored_ratio"]["within3"] == pytest.approx(0.5)
