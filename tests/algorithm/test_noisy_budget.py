"""A budget claim holds on a noisy, drifting machine: NetAdapt on the fake device with every whole-model
timing disturbed by 8% noise and a load that jumps between 1x and 1.7x, shared by both models of a pair.

The truth is known (the fake device's latency of each exported model), so every verdict can be checked:
a run may say "met" only when the model is truly within the budget, and a resumed run keeps its verdicts.
"""

import json
import shutil
from pathlib import Path

import pytest

import netadapt.latency.paired as paired
from netadapt.algorithm.loop import NetAdaptRun
from netadapt.config.run import FineTuneConfig, RunConfig
from netadapt.config.schedule import ReductionSchedule
from profilers.fake import FakeProfiler
from synthetic_machine import SyntheticMachine

TESTS = Path(__file__).resolve().parents[1]


def _true_ms(path) -> float:
    return FakeProfiler().measure_model(str(path), (1, 1, 32, 32)).median


@pytest.fixture
def noisy(monkeypatch):
    """Whole-model timers of a simulated busy machine around the fake device's true latencies."""
    machine = SyntheticMachine(noise=0.08, load=lambda step: 1.7 if (step // 7) % 3 == 0 else 1.0, seed=5)
    monkeypatch.setattr(paired, "model_timer", lambda device, model, shape, seed=0: machine.timer(_true_ms(model)))
    monkeypatch.syspath_prepend(str(TESTS))
    return machine


def _config(seed):
    return RunConfig(budget="72%", model="usermodels:residual_depthwise_net", model_kwargs={"width": 32},
                     data="synthetic:classes=3,size=32,n=120,channels=1,test=30", holdout=30, device="fake",
                     base_epochs=1, batch=1, warmup=0, repeats=1, model_repeats=20, seed=seed,
                     schedule=ReductionSchedule(initial=0.05, floor=0.03),
                     finetune=FineTuneConfig(short_steps=1, long_epochs=0, batch_size=32))


def _run(folder, seed):
    return NetAdaptRun(_config(seed), folder, lut=str(folder.parent / "lut.db"), progress=False,
                       log=lambda *_: None).run()


@pytest.mark.parametrize("seed", [0, 1])
def test_met_is_said_only_of_models_truly_within_the_budget_and_a_resume_keeps_it(noisy, tmp_path, seed):
    run = tmp_path / "run"
    result = _run(run, seed)
    start = _true_ms(run / "iter_000" / "model.onnx")
    assert result.iterations[0]["measured_ms"] == pytest.approx(start)  # the start is timed alone, exactly
    verdicts = []
    for it in result.iterations[1:]:
        truth = _true_ms(run / f"iter_{it['iteration']:03d}" / "model.onnx")
        assert it["measured_low_ms"] <= it["measured_ms"] <= it["measured_high_ms"]
        if it["verdict"] == "met":
            assert truth <= result.budget_ms
        if it["verdict"] == "not met":
            assert truth > result.budget_ms
        verdicts.append(it["verdict"])
    assert verdicts[-1] == "met" and "met" not in verdicts[:-1]  # the run stops at the first "met"
    final = result.final
    assert final["budget_met"] and result.stopped == "budget met"
    assert _true_ms(run / "final" / "model.onnx") <= result.budget_ms
    assert final["ratio_to_iteration_low"] <= 1.0 <= final["ratio_to_iteration_high"]

    # resumed from the iteration before the last: the same verdicts, and again never "met" above the budget
    last = result.iterations[-1]["iteration"]
    for folder in [run / f"iter_{last:03d}", run / "final"]:
        shutil.rmtree(folder)
    (run / "summary.json").unlink()
    again = _run(run, seed)
    for it in again.iterations[1:]:
        truth = _true_ms(run / f"iter_{it['iteration']:03d}" / "model.onnx")
        assert it["verdict"] != "met" or truth <= again.budget_ms
    assert [it["verdict"] for it in again.iterations[1:last]] == verdicts[:last - 1]
    assert again.final["budget_met"] == (again.stopped == "budget met")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["final"]["budget_met"] and _true_ms(run / "final" / "model.onnx") <= summary["budget_ms"]


def test_on_a_real_device_the_loop_stops_a_drift_margin_under_the_budget():
    from netadapt.algorithm.stopping import DRIFT_MARGIN, floor, stop_line, stops

    near = {"verdict": "met", "measured_ms": 9.70, "measured_high_ms": 9.85}  # met, but 1.5% under
    clear = {"verdict": "met", "measured_ms": 9.60, "measured_high_ms": 9.79}
    assert DRIFT_MARGIN == 0.02
    assert not stops(near, 10.0, exact=False) and stops(clear, 10.0, exact=False)
    assert not stops({"verdict": "not met", "measured_ms": 9.0, "measured_high_ms": 10.2}, 10.0, exact=False)
    assert stops({"measured_ms": 9.7}, 10.0, exact=False)  # the start, measured alone: its latency
    assert floor({}, stop_line(10.0, exact=False), exact=False) == pytest.approx(9.8 / 1.02)
    assert stops(near, 10.0, exact=True)  # an exact (simulated) device: no drift to leave room for
    # a paired measurement's interval sets the floor: twice its relative half-width under the line
    measured = {"ratio": 0.5, "ratio_low": 0.49, "ratio_high": 0.51}
    assert floor(measured, 9.8, exact=False) == pytest.approx(9.8 / 1.04)
