"""End to end: NetAdapt on synthetic data with the deterministic fake device."""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import netadapt.training
from netadapt.algorithm.loop import NetAdaptRun
from netadapt.checkpoint import load_checkpoint
from netadapt.config.run import FineTuneConfig, RunConfig
from netadapt.config.schedule import ReductionSchedule

TESTS = Path(__file__).resolve().parents[1]


def _config(**overrides):
    base = dict(budget="70%", model="usermodels:residual_depthwise_net",
                model_kwargs={"width": 32}, data="synthetic:classes=3,size=32,n=240,channels=1,test=60",
                holdout=60, device="fake", channel_step=8, base_epochs=2,
                finetune=FineTuneConfig(short_steps=4, short_lr=0.01, long_epochs=1, batch_size=32),
                warmup=0, repeats=1, model_repeats=1, seed=3, batch=1)
    base.update(overrides)
    return RunConfig(**base)


def _run(tmp_path, name, **overrides):
    cfg = _config(**overrides)
    return NetAdaptRun(cfg, tmp_path / name, lut=str(tmp_path / f"{name}.db"), progress=False,
                       log=lambda *_: None).run()


def _run_on(tmp_path, name, db, **overrides):
    return NetAdaptRun(_config(**overrides), tmp_path / name, lut=str(tmp_path / db), progress=False,
                       log=lambda *_: None).run()


@pytest.fixture(autouse=True)
def _user_models(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))


def test_netadapt_meets_budget_and_every_iteration_is_consistent(tmp_path):
    result = _run(tmp_path, "run")
    its = result.iterations
    assert len(its) >= 3
    start = its[0]["measured_ms"]
    assert result.budget_ms == pytest.approx(0.7 * start)
    for prev, cur in zip(its, its[1:]):
        reduction = cur["reduction_ms"]
        assert reduction >= 0.01 * start - 1e-12
        assert cur["target_ms"] == pytest.approx(max(prev["measured_ms"] - reduction, result.budget_ms))
        # the estimate drops by at least the scheduled reduction (or down to the budget)
        assert cur["predicted_ms"] <= cur["target_ms"] + 1e-9
        # channels only shrink, and exactly one group per iteration
        shrunk = [g for g in cur["channels"] if cur["channels"][g] < prev["channels"][g]]
        assert shrunk == [cur["pruned_group"]]
        assert all(cur["channels"][g] <= prev["channels"][g] for g in cur["channels"])
        assert cur["measured_ms"] < prev["measured_ms"]
        # timed run by run against the start model and reported as start x ratio, with its interval and
        # verdict (the fake device's timings are exact: the interval is the ratio itself)
        assert cur["measured_ms"] == pytest.approx(start * cur["ratio_to_start"])
        assert cur["ratio_low"] == cur["ratio"] == cur["ratio_high"] and cur["pairs"] >= 6
        assert cur["verdict"] == ("met" if cur["measured_ms"] <= result.budget_ms else "not met")
        assert "vs budget" in cur["measurement"]
    for it in its:
        folder = tmp_path / "run" / f"iter_{it['iteration']:03d}"
        loaded = load_checkpoint(folder / "model.pt")
        x = torch.randn(2, 1, 32, 32)
        sess = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        # exported at batch 1: compare one sample at a time
        for k in range(2):
            want = loaded.model(x[k:k + 1]).detach().numpy()
            got = sess.run(None, {sess.get_inputs()[0].name: x[k:k + 1].numpy()})[0]
            np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-3)
        assert loaded.channels == it["channels"]
    final = result.final
    assert final["budget_met"] and final["measured_ms"] <= result.budget_ms and final["verdict"] == "met"
    assert final["from_iteration"] == its[-1]["iteration"]
    assert final["ratio_to_iteration"] == pytest.approx(1.0)  # the same architecture as its iteration
    assert 0.0 <= final["test_accuracy"] <= 1.0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["iterations"]) == len(its)
    assert (tmp_path / "run" / "summary.csv").read_text().count("\n") == len(its) + 1

    # every measured model is stored for the device's calibration, which is refitted at the end
    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.latency.calibration import Calibration

    table = LatencyTable(str(tmp_path / "run.db"))
    fp = get_device("fake").fingerprint()
    stored = table.models.measured_on(fp)
    # the final model has the last iteration's architecture: its measurement replaces that row
    expected = [it["measured_ms"] for it in its[:-1]] + [final["measured_ms"]]
    assert sorted(ms for _, ms in stored) == pytest.approx(sorted(expected))
    assert all(f["table_ms"] > 0 and f["units"] > 0 for f, _ in stored)
    assert Calibration.load(table, fp).models == len(stored) == len(its)
    assert all("calibrated_ms" not in it for it in its)  # no calibration existed when the run began
    table.close()
    # a second run on the same device uses it: every iteration carries a calibrated estimate
    again = _run_on(tmp_path, "run2", "run.db", max_iterations=1)
    assert all(it["calibrated_ms"] > 0 for it in again.iterations)


def test_crash_and_resume_gives_the_same_channels(tmp_path, monkeypatch):
    reference = _run(tmp_path, "ref")
    real = netadapt.training.fine_tune
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # iteration 2's first candidate: iteration 1 is whole, 2 is not
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(netadapt.training, "fine_tune", crashing)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "crash")
    folder = tmp_path / "crash"
    assert not (folder / "final").exists()
    assert any(p.name.endswith(".partial") for p in folder.iterdir())
    monkeypatch.setattr(netadapt.training, "fine_tune", real)
    resumed = _run(tmp_path, "crash")
    assert resumed.final["channels"] == reference.final["channels"]
    assert [i["pruned_group"] for i in resumed.iterations] == [i["pruned_group"] for i in reference.iterations]


def test_changed_settings_are_refused_on_resume(tmp_path):
    _run(tmp_path, "run", max_iterations=1)
    from netadapt.errors import UserError

    with pytest.raises(UserError, match="other settings"):
        _run(tmp_path, "run", max_iterations=1, seed=4)
    # max_iterations may change: the run continues where it stopped
    result = _run(tmp_path, "run", max_iterations=3)
    assert result.iterations[-1]["iteration"] >= 2
    assert result.final["from_iteration"] == result.iterations[-1]["iteration"]


@pytest.mark.parametrize("model,kwargs", [
    ("mobilenet_v1", {"width_mult": 0.25}),
    pytest.param("mobilenet_v2", {"width_mult": 0.25}, marks=pytest.mark.slow),
    ("resnet20", {"width_mult": 0.5}),
])
def test_zoo_models_take_an_iteration(tmp_path, model, kwargs):
    result = _run(tmp_path, model, model=model, model_kwargs=kwargs, max_iterations=1,
                  data="synthetic:classes=3,size=16,n=96,channels=3,test=30", holdout=30,
                  base_epochs=1, finetune=FineTuneConfig(short_steps=1, long_epochs=0, batch_size=32),
                  budget="99%", schedule=ReductionSchedule(initial=0.005, floor=0.001))
    assert len(result.iterations) == 2
    one = result.iterations[1]
    assert sum(one["channels"].values()) < sum(result.iterations[0]["channels"].values())
    assert one["predicted_ms"] <= one["target_ms"]


@pytest.mark.parametrize("criterion,rewinder", [("taylor", "none"), ("l1", "lr_rewind")])
def test_plugins_run_inside_the_loop(tmp_path, criterion, rewinder):
    result = _run(tmp_path, f"{criterion}-{rewinder}", criterion=criterion, rewinder=rewinder,
                  max_iterations=1, finetune=FineTuneConfig(short_steps=2, long_epochs=0, batch_size=32))
    assert len(result.iterations) == 2
    assert result.iterations[1]["predicted_ms"] <= result.iterations[1]["target_ms"]


def test_a_table_that_refuses_whole_model_rows_does_not_stop_the_run(tmp_path, monkeypatch):
    from lut.model_measurements import ModelMeasurements
    from netadapt.errors import UserError

    def refuse(self, *args, **kwargs):
        raise UserError("cannot write lookup table t.db: attempt to write a readonly database")

    monkeypatch.setattr(ModelMeasurements, "record", refuse)
    logged = []
    result = NetAdaptRun(_config(max_iterations=1), tmp_path / "run", lut=str(tmp_path / "run.db"),
                         progress=False, log=logged.append).run()
    assert result.final is not None and len(result.iterations) == 2
    warnings = [m for m in logged if "not stored for calibration" in m]
    assert len(warnings) == 1 and "readonly" in warnings[0]
    assert not any("refitted" in m for m in logged)


@pytest.mark.parametrize("score", ["loss", "kl"])
def test_candidates_ranked_by_a_continuous_score_after_batchnorm_recalibration_with_distillation(tmp_path, score):
    result = _run(tmp_path, score, score=score, bn_batches=2, max_iterations=2,
                  finetune=FineTuneConfig(short_steps=2, long_epochs=1, batch_size=32, distill=0.5))
    assert len(result.iterations) == 3
    for it in result.iterations[1:]:
        feasible = [c for c in it["candidates"] if c["feasible"]]
        assert all(c[f"holdout_{score}"] == c[f"holdout_{score}"] for c in feasible)  # not NaN
        best = min(c[f"holdout_{score}"] for c in feasible)
        assert it[f"holdout_{score}"] == best
    config = json.loads((tmp_path / score / "config.json").read_text())
    assert config["score"] == score and config["finetune"]["distill"] == 0.5 and config["bn_batches"] == 2
    assert 0 <= result.final["test_accuracy"] <= 1


def test_a_step_no_single_group_can_give_is_halved_until_one_can(tmp_path):
    # 95% of the start in one step: far more than any one group of ResNet-20 removes, so the search
    # halves the reduction until one can instead of stopping short of the budget
    schedule = ReductionSchedule(initial=0.95, decay=1.0, floor=0.95)
    result = _run(tmp_path, "run", budget="45%", schedule=schedule, max_iterations=2, model="resnet20",
                  model_kwargs={}, data="synthetic:classes=3,size=32,n=120,channels=3,test=60", base_epochs=1)
    its = result.iterations
    start = its[0]["measured_ms"]
    assert len(its) == 3
    for cur in its[1:]:
        assert cur["scheduled_reduction_ms"] == pytest.approx(0.95 * start)
        halvings = np.log2(cur["scheduled_reduction_ms"] / cur["reduction_ms"])
        assert halvings == pytest.approx(round(halvings)) and round(halvings) >= 1
        assert cur["reduction_ms"] >= 0.001 * start
        assert cur["predicted_ms"] <= cur["target_ms"] + 1e-9


def test_halving_stops_at_the_smallest_step(tmp_path, monkeypatch):
    import netadapt.algorithm.netadapt_step as loop

    # steps may not go below 20% of the start: 95% -> 47.5% -> 23.75% and no further, which no one
    # group of ResNet-20 gives, so the run stops with its reason instead of taking a smaller step
    monkeypatch.setattr(loop, "SMALLEST_STEP", 0.2)
    schedule = ReductionSchedule(initial=0.95, decay=1.0, floor=0.95)
    result = _run(tmp_path, "run", budget="45%", schedule=schedule, max_iterations=2, model="resnet20",
                  model_kwargs={}, data="synthetic:classes=3,size=32,n=120,channels=3,test=60", base_epochs=1)
    assert len(result.iterations) == 1
    assert result.stopped == "no layer can shrink further to meet the next target"
    search = json.loads((tmp_path / "run" / "iter_001.partial" / "search.json").read_text())
    assert search["reduction_ms"] == pytest.approx(0.95 / 4 * result.iterations[0]["measured_ms"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU visible to PyTorch")
def test_candidates_fine_tune_on_cuda_while_latency_is_measured_elsewhere(tmp_path):
    from netadapt.config.run import ExecutionConfig

    cfg = _config(max_iterations=2, finetune=FineTuneConfig(short_steps=4, short_lr=0.01, long_epochs=1,
                                                             batch_size=32, distill=0.5))
    result = NetAdaptRun(cfg, tmp_path / "run", lut=str(tmp_path / "run.db"), progress=False, log=lambda *_: None,
                         execution=ExecutionConfig(train_device="cuda")).run()
    assert 2 <= len(result.iterations) <= 3
    final = load_checkpoint(tmp_path / "run" / "final" / "model.pt")
    assert next(final.model.parameters()).device.type == "cpu"
    assert 0 < result.final["test_accuracy"] <= 1


def test_reconstruction_refits_each_candidate_before_its_fine_tune(tmp_path):
    """With no short-term fine-tune, the candidates refit on 64 training images lose less than those only cut."""
    ft = dict(short_steps=0, long_epochs=1, batch_size=32, distill=0.0)
    plain = _run(tmp_path, "plain", score="loss", max_iterations=1, finetune=FineTuneConfig(**ft))
    refit = _run(tmp_path, "refit", score="loss", max_iterations=1, finetune=FineTuneConfig(**ft, reconstruct=64))

    def losses(result):
        return {c["group"]: c["holdout_loss"] for c in result.iterations[1]["candidates"] if c["feasible"]}

    before, after = losses(plain), losses(refit)
    assert before.keys() == after.keys() and len(before) >= 2
    assert all(after[g] < before[g] for g in before), (before, after)
    config = json.loads((tmp_path / "refit" / "config.json").read_text())
    assert config["finetune"]["reconstruct"] == 64 and config["version"] == 3


def test_reconstruction_takes_no_rewinder_and_no_other_search(tmp_path):
    from netadapt.errors import UserError

    with pytest.raises(UserError, match="--reconstruct refits the candidates of --search netadapt"):
        _run(tmp_path, "halp", search="halp", finetune=FineTuneConfig(reconstruct=32))
    assert not (tmp_path / "halp").exists()
