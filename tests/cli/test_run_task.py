"""``netadapt run --task module:factory``: the user's task from the command line, then verify and report on it."""

import json
from pathlib import Path

import pytest

from netadapt.cli import main

TESTS = Path(__file__).resolve().parents[1]


def _main(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return done.value.code, out, err


def test_run_task_prunes_the_factorys_task_and_verify_and_report_read_the_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(TESTS)  # the factory's module is found in the current folder, as python -m finds it
    run = tmp_path / "run"
    code, out, err = _main(["run", "--task", "usertasks:make_task", "--task-args", '{"kind": "two_heads"}',
                            "--budget", "85%", "--device", "fake", "--short-term-steps", "2",
                            "--long-term-steps", "2", "--warmup", "0", "--model-repeats", "1", "--out", str(run),
                            "--lut", str(tmp_path / "lut.db"), "--no-progress"], capsys)
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.split()[:2] == ["iter", "pruned"])
    assert header.split()[-1] == "score" and "-> MET; score" in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["final"]["budget_met"] and summary["score"] == "score"
    assert [r["iteration"] for r in summary["iterations"]][-1] >= 1
    code, out, err = _main(["verify", str(run)], capsys)
    assert code == 0 and "-> met" in out, err
    code, out, err = _main(["report", str(run)], capsys)
    assert code == 0, err
    report = (run / "report" / "report.md").read_text()
    assert "Score" in report and "score" in report


def test_run_task_refuses_the_classification_options_and_a_missing_factory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(TESTS)
    base = ["run", "--budget", "85%", "--device", "fake", "--out", str(tmp_path / "run")]
    code, _, err = _main([*base, "--task", "usertasks:make_task", "--data", "digits"], capsys)
    assert code == 2 and err.strip().splitlines() == [
        "Error: --data: netadapt's own classification task's option(s); with --task, your task's train and "
        "evaluate own them"]
    code, _, err = _main([*base, "--task", "usertasks:no_such_factory"], capsys)
    assert code == 2 and "has no callable 'no_such_factory'" in err and len(err.strip().splitlines()) == 1
    code, _, err = _main([*base, "--task", "usertasks:make_task", "--task-args", '{"kind": "nope"}'], capsys)
    assert code == 2 and "task factory usertasks:make_task raised KeyError: 'nope'" in err
    code, _, err = _main([*base, "--long-term-steps", "3"], capsys)
    assert code == 2 and "--long-term-steps is for --task" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["amc", "sensitivity"])
def test_amc_and_sensitivity_refuse_a_task_in_one_line(command, capsys):
    code, _, err = _main([command, "--task", "usertasks:make_task"], capsys)
    assert code == 2 and err.strip().splitlines() == [
        f"Error: netadapt {command} works on netadapt's own classification models and data; prune your own task "
        "with netadapt run --task or netadapt.prune"]
