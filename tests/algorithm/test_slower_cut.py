"""A kept cut that the device runs slower than the network it was cut from is refused and the next best
candidate measured instead (at batch 1 some channel counts fall off the fast kernels: the table promised a
saving the device did not give)."""

import dataclasses
from pathlib import Path

import pytest

from netadapt.algorithm.loop import NetAdaptRun
from netadapt.algorithm.measure import Measurer
from netadapt.algorithm.selection import slower_than_cut
from netadapt.config.run import RunConfig
from netadapt.runs import folder as rf
from run_copies import start_from

TESTS = Path(__file__).resolve().parents[1]


def test_refused_only_when_the_whole_interval_is_above_the_network_it_cut():
    assert slower_than_cut({"measured_ms": 2.10, "measured_low_ms": 2.05}, 2.0).startswith("measured 2.100 ms")
    assert "2.000 ms network" in slower_than_cut({"measured_ms": 2.10, "measured_low_ms": 2.05}, 2.0)
    assert slower_than_cut({"measured_ms": 2.10, "measured_low_ms": 1.99}, 2.0) is None  # within its noise
    assert slower_than_cut({"measured_ms": 1.90, "measured_low_ms": 1.85}, 2.0) is None
    assert slower_than_cut({"measured_ms": 2.01}, 2.0) is not None  # one timed run: judged by its value
    assert slower_than_cut({"measured_ms": 2.00}, 2.0) is None


def test_a_cut_measured_slower_is_refused_and_the_next_best_kept(tiny_run, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    plain = rf.read_json(tiny_run / "iter_001" / "info.json")
    start_ms = rf.read_json(tiny_run / "iter_000" / "info.json")["measured_ms"]
    out = start_from(tiny_run, tmp_path / "run")
    config = dataclasses.replace(RunConfig.from_dict(rf.read_json(tiny_run / rf.CONFIG_FILE)), max_iterations=1)
    calls = []
    measure = Measurer.against_start

    def first_measured_slower(self, onnx_path, start_dir, budget_ms):
        measured = measure(self, onnx_path, start_dir, budget_ms)
        calls.append(measured["measured_ms"])
        if len(calls) == 1:  # the device ran the first kept cut 10% slower than the start
            measured.update(measured_ms=1.1 * start_ms, measured_low_ms=1.05 * start_ms)
        return measured

    monkeypatch.setattr(Measurer, "against_start", first_measured_slower)
    logged = []
    NetAdaptRun(config, out, lut=str(tmp_path / "lut.db"), progress=False, log=logged.append).run()
    info = rf.read_json(out / "iter_001" / "info.json")
    assert len(calls) >= 2  # the refused cut and the one kept (then the final model)
    assert info["pruned_group"] != plain["pruned_group"]
    refused = {c["group"]: c for c in info["candidates"]}[plain["pruned_group"]]
    assert refused["feasible"] is False and "slower than the" in refused["dropped"]
    assert refused["refused_measured_ms"] == pytest.approx(1.1 * start_ms)
    assert info["measured_ms"] < start_ms
    assert any("refused" in line for line in logged)
    assert not (out / "iter_001.partial").exists()
