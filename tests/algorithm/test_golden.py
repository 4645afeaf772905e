"""The quick start's settings at seed 0 give the same iterations, channels and scores as the loop did before it
took tasks (recorded in tests/golden from the code of commit 8e530f2, on the fake device, one torch thread)."""

import json
from pathlib import Path

import pytest

from netadapt.algorithm.loop import NetAdaptRun
from netadapt.config.run import FineTuneConfig, RunConfig

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
KEYS = ("group", "channels", "feasible", "holdout_accuracy", "holdout_loss", "predicted_ms")


def digest(run_dir: Path) -> dict:
    """What the golden files hold of a run folder: every iteration's choice, scores and candidates, and the final."""
    rows = []
    for p in sorted(run_dir.glob("iter_[0-9][0-9][0-9]")):
        info = json.loads((p / "info.json").read_text())
        rows.append({"iteration": info["iteration"], "pruned_group": info.get("pruned_group"),
                     "channels": info["channels"], "holdout_accuracy": info["holdout_accuracy"],
                     "holdout_loss": info.get("holdout_loss"), "predicted_ms": info.get("predicted_ms"),
                     "measured_ms": info["measured_ms"],
                     "candidates": [{k: c.get(k) for k in KEYS} for c in info.get("candidates", [])]})
    final = json.loads((run_dir / "final" / "info.json").read_text())
    keys = ("from_iteration", "test_accuracy", "holdout_accuracy", "measured_ms", "budget_met", "channels")
    return {"iterations": rows, "final": {k: final.get(k) for k in keys}}


def _run(tmp_path, config) -> dict:
    NetAdaptRun(config, tmp_path / "run", lut=str(tmp_path / "lut.db"), progress=False, log=lambda *_: None).run()
    return digest(tmp_path / "run")


def test_the_quick_start_short_makes_the_same_first_iterations(tmp_path):
    """The quick start with one base epoch, three short-term steps and a 60-image holdout, to iteration 3."""
    golden = json.loads((GOLDEN / "quickstart-seed0-short.json").read_text())
    config = RunConfig(budget="70%", device="fake", seed=0, base_epochs=1, eval_limit=60, warmup=0, repeats=1,
                       model_repeats=1, finetune=FineTuneConfig(short_steps=3, long_epochs=0), max_iterations=3)
    got = _run(tmp_path, config)
    assert got["iterations"] == golden["iterations"][:4]


@pytest.mark.slow
def test_the_quick_start_makes_the_same_run(tmp_path):
    """`netadapt run --budget 70%` with every default, on the fake device: the whole run and its final model."""
    golden = json.loads((GOLDEN / "quickstart-seed0.json").read_text())
    assert _run(tmp_path, RunConfig(budget="70%", device="fake", seed=0)) == golden
