"""Candidates fine-tuned in worker processes: the same seed gives the same candidates, scores and choices as
one after another in the main process; a resumed run keeps the candidates already stored; the Ray executor
without Ray installed is one line and exit status 2."""

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import pytest

from netadapt.algorithm.executors import create_executor, list_executors
from netadapt.algorithm.loop import NetAdaptRun
from netadapt.cli import main
from netadapt.config.run import ExecutionConfig, FineTuneConfig, RunConfig
from netadapt.config.schedule import ReductionSchedule
from netadapt.errors import UserError
from netadapt.runs import folder as rf
from run_copies import start_from

TESTS = Path(__file__).resolve().parents[1]
# distillation, the kl score and batch-norm re-estimation: workers rebuild the teacher and the data too
CONFIG = RunConfig(budget="70%", model="usermodels:residual_depthwise_net", model_kwargs={"width": 32},
                   data="synthetic:classes=3,size=32,n=120,channels=1,test=40", holdout=40, device="fake",
                   channel_step=8, base_epochs=1, schedule=ReductionSchedule(initial=0.06, floor=0.04),
                   finetune=FineTuneConfig(short_steps=3, long_epochs=0, batch_size=32, distill=0.5),
                   score="kl", bn_batches=1, warmup=0, repeats=1, model_repeats=1, seed=3, batch=1,
                   max_iterations=2)
SCORES = ("group", "channels", "predicted_ms", "holdout_accuracy", "holdout_loss", "holdout_kl", "finetune_loss")


@pytest.fixture(autouse=True)
def _models(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))  # spawned workers inherit sys.path and import the model from it


def _run(out: Path, workers: int, config=CONFIG):
    return NetAdaptRun(config, out, lut=str(out.parent / "lut.db"), progress=False, log=lambda *_: None,
                       execution=ExecutionConfig(workers=workers)).run()


def _candidates(info: dict) -> list[tuple]:
    return [tuple(c.get(k) for k in SCORES) for c in info["candidates"]]


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory) -> Path:
    """A two-iteration run with candidates fine-tuned in the main process (do not modify it)."""
    folder = tmp_path_factory.mktemp("parallel") / "one"
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(TESTS))
        _run(folder, 1)
    return folder


def test_two_workers_choose_the_same_candidates_with_the_same_scores(one_worker, tmp_path):
    two = _run(start_from(one_worker, tmp_path / "two"), 2)
    one = [rf.read_json(rf.iteration_dir(one_worker, k) / "info.json") for k in range(len(two.iterations))]
    assert len(two.iterations) == len(one) == 3
    for mine, theirs in zip(two.iterations[1:], one[1:]):
        assert mine["pruned_group"] == theirs["pruned_group"]
        assert mine["channels"] == theirs["channels"]
        assert len(mine["candidates"]) >= 2
        assert _candidates(mine) == _candidates(theirs)  # exactly: the same seeds, data and weights
        assert mine["seconds"]["candidates_wall"] > 0
    assert two.final["test_accuracy"] == rf.read_json(one_worker / "final" / "info.json")["test_accuracy"]


def test_a_run_resumed_with_two_workers_keeps_the_candidates_already_stored(one_worker, tmp_path):
    out = start_from(one_worker, tmp_path / "resumed")
    first = rf.read_json(rf.iteration_dir(one_worker, 1) / "info.json")
    chosen = first["pruned_group"]
    partial = rf.partial_dir(out, 1)
    partial.mkdir()
    # as a killed run leaves it: one candidate whole (its json written last), its score made unbeatable
    stored = next(c for c in first["candidates"] if c["group"] == chosen)
    stored = {**stored, "origin": first["origin"][chosen], "holdout_kl": -1.0}
    shutil.copy(rf.iteration_dir(one_worker, 1) / "model.pt", partial / f"{chosen}.pt")
    rf.write_json(partial / f"{chosen}.json", stored)
    result = _run(out, 2, config=dataclasses.replace(CONFIG, max_iterations=1))
    info = result.iterations[1]
    assert info["pruned_group"] == chosen and info["holdout_kl"] == -1.0  # read back, not fine-tuned again
    others = [c for c in _candidates(first) if c[0] != chosen]
    assert [c for c in _candidates(info) if c[0] != chosen] == others
    assert not partial.exists()


def test_ray_without_ray_installed_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # an import of ray fails as if it were not installed
    monkeypatch.setenv("NETADAPT_LUT", str(tmp_path / "lut.db"))
    toml = tmp_path / "run.toml"
    toml.write_text('workers = 2\nexecutor = "ray"\nray-address = "ray://head:10001"\n')
    with pytest.raises(SystemExit) as done:
        main(["run", "--budget", "80%", "--device", "fake", "--config", str(toml), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 2 and len(err) == 1, err
    assert err[0].startswith("Error: ") and "pip install 'netadapt[ray]'" in err[0]
    assert not (tmp_path / "r" / "config.json").exists()


def test_executor_names_and_worker_counts_are_checked():
    assert list_executors() == ["local", "ray"]
    with pytest.raises(UserError, match="valid: local, ray"):
        create_executor("dask")
    with pytest.raises(UserError, match="at least 1"):
        create_executor("local", 0)
    with pytest.raises(UserError, match="--executor ray"):
        create_executor("local", 2, "ray://head:10001")


def test_workers_are_not_part_of_the_run_settings():
    assert "workers" not in json.dumps(CONFIG.to_dict())
