"""The HALP step: the knapsack is exact against brute force, and a run with --search halp cuts several groups
per iteration, meets the budget and resumes."""

import itertools
import random
from pathlib import Path

import pytest
import torch

from netadapt.algorithm.halp import Option, choose_counts, keep_most_important
from netadapt.algorithm.loop import NetAdaptRun
from netadapt.checkpoint import load_checkpoint
from netadapt.config.run import FineTuneConfig, RunConfig
from netadapt.config.schedule import ReductionSchedule

TESTS = Path(__file__).resolve().parents[1]


def _brute(options, required):
    names = sorted(options)
    best = None
    for picks in itertools.product(*[[None] + list(options[n]) for n in names]):
        saved = sum(p.saved_ms for p in picks if p is not None)
        lost = sum(p.lost for p in picks if p is not None)
        if saved >= required - 1e-12 and (best is None or lost < best[0] - 1e-12):
            best = (lost, {n: p.count for n, p in zip(names, picks) if p is not None})
    return best


@pytest.mark.parametrize("trial", range(30))
def test_the_knapsack_finds_the_least_importance_lost_that_saves_enough(trial):
    rng = random.Random(trial)
    options = {}
    for g in range(rng.randint(1, 4)):
        # counts with savings on multiples of 0.25 ms: exact in the knapsack's units at required 3 ms
        opts = [Option(c, rng.randint(-1, 8) * 0.25, rng.uniform(0, 5)) for c in range(1, rng.randint(2, 5))]
        options[f"g{g}"] = opts
    required = 3.0
    got = choose_counts(options, required, resolution=12)
    want = _brute(options, required)
    if want is None:
        assert got is None
        return
    lost = sum(o.lost for g, n in got.items() for o in options[g] if o.count == n)
    saved = sum(o.saved_ms for g, n in got.items() for o in options[g] if o.count == n)
    assert saved >= required - 1e-9
    assert lost == pytest.approx(want[0])


def test_savings_are_rounded_down_so_the_sum_is_never_overstated():
    # 0.999 ms saved counts as 0 units of 1 ms: the two options together (1.998 ms) do not reach 2 ms
    options = {"a": [Option(4, 0.999, 1.0)], "b": [Option(4, 0.999, 1.0)]}
    assert choose_counts(options, 2.0, resolution=2) is None
    assert choose_counts(options, 1.998, resolution=1000) == {"a": 4, "b": 4}
    assert choose_counts(options, 0.0) == {}


def test_the_most_important_channels_are_kept():
    importance = {"a": torch.tensor([0.1, 3.0, 0.5, 2.0]), "b": torch.tensor([1.0, 0.0])}
    assert keep_most_important(importance, {"a": 2, "b": 1}) == {"a": [1, 3], "b": [0]}


@pytest.fixture(autouse=True)
def _user_models(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))


def _config(**overrides):
    base = dict(budget="60%", model="usermodels:residual_depthwise_net",
                model_kwargs={"width": 32}, data="synthetic:classes=3,size=32,n=240,channels=1,test=60",
                holdout=60, device="fake", channel_step=4, base_epochs=2, search="halp",
                schedule=ReductionSchedule(0.25, 0.9, 0.05),
                finetune=FineTuneConfig(short_steps=2, short_lr=0.01, long_epochs=1, batch_size=32),
                warmup=0, repeats=1, model_repeats=1, seed=3, batch=1)
    base.update(overrides)
    return RunConfig(**base)


def test_a_halp_run_cuts_several_groups_per_iteration_and_meets_the_budget(tmp_path):
    cfg = _config()
    result = NetAdaptRun(cfg, tmp_path / "run", lut=str(tmp_path / "lut.db"), progress=False,
                         log=lambda *_: None).run()
    its = result.iterations
    assert result.stopped == "budget met" and result.final["budget_met"]
    assert its[-1]["measured_ms"] <= result.budget_ms
    groups = len(its[0]["channels"])
    several = 0
    for prev, cur in zip(its, its[1:]):
        changed = [g for g in cur["channels"] if cur["channels"][g] != prev["channels"][g]]
        assert changed == cur["pruned_groups"] and changed
        assert all(cur["channels"][g] < prev["channels"][g] for g in changed)
        several += len(changed) > 1
        # the knapsack's network was priced as a whole and meets the iteration's target
        assert cur["predicted_ms"] <= cur["target_ms"] + 1e-9
        # the fake device is exact: the measurement is the estimate
        assert cur["measured_ms"] == pytest.approx(cur["predicted_ms"], rel=1e-6)
        assert cur["finetune_steps"] == 2 * groups
        loaded = load_checkpoint(tmp_path / "run" / f"iter_{cur['iteration']:03d}" / "model.pt")
        assert loaded.channels == cur["channels"]
        # each kept channel's origin is an index of the start network, one per channel
        for g, n in cur["channels"].items():
            assert len(cur["origin"][g]) == n and len(set(cur["origin"][g])) == n
            assert set(cur["origin"][g]) <= set(prev["origin"][g])
    assert several >= 1
    from netadapt.report import write_report

    written = write_report(tmp_path / "run")
    assert all(Path(p).is_file() for p in written.values())
    assert its[1]["pruned_group"] in written["report.md"].read_text()
    assert [it["pruned_group"].endswith("groups (halp)") for it in its[1:]] == \
        [len(it["pruned_groups"]) > 1 for it in its[1:]]


def test_a_halp_run_resumes_after_a_crash_to_the_same_result(tmp_path, monkeypatch):
    from netadapt.task.classification import ClassificationTask as candidates

    cfg = _config()
    whole = NetAdaptRun(cfg, tmp_path / "whole", lut=str(tmp_path / "a.db"), progress=False,
                        log=lambda *_: None).run()
    calls = {"n": 0}
    real = candidates.candidate

    def crash_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(candidates, "candidate", crash_second)
    with pytest.raises(KeyboardInterrupt):
        NetAdaptRun(cfg, tmp_path / "resumed", lut=str(tmp_path / "b.db"), progress=False,
                    log=lambda *_: None).run()
    monkeypatch.setattr(candidates, "candidate", real)
    resumed = NetAdaptRun(cfg, tmp_path / "resumed", lut=str(tmp_path / "b.db"), progress=False,
                          log=lambda *_: None).run()
    assert [it["channels"] for it in resumed.iterations] == [it["channels"] for it in whole.iterations]
    assert resumed.final["test_accuracy"] == pytest.approx(whole.final["test_accuracy"])


def test_an_unknown_search_is_refused_in_one_line(tmp_path):
    from netadapt.errors import UserError

    with pytest.raises(UserError, match="search must be one of netadapt, halp, not 'greedy'"):
        NetAdaptRun(_config(search="greedy"), tmp_path / "run", lut=str(tmp_path / "lut.db"), progress=False,
                    log=lambda *_: None).run()


def test_runs_made_before_the_search_setting_read_back_as_netadapt():
    old = {k: v for k, v in RunConfig().to_dict().items() if k not in ("version", "search")}  # version 1
    assert RunConfig.from_dict(old).search == "netadapt"
    assert RunConfig(search="halp").to_dict()["search"] == "halp"
