"""Run folders: what may take over a folder, and what is refused."""

import pytest

from netadapt.errors import UserError
from netadapt.runs import folder as rf


def test_a_folder_with_iterations_but_no_settings_is_refused(tmp_path):
    (tmp_path / "run" / "iter_001.partial").mkdir(parents=True)  # left by a process that outlived its folder
    with pytest.raises(UserError, match="holds a run's iterations but no config.json"):
        rf.prepare_run_dir(tmp_path / "run", {"budget": "50%"})
    assert not (tmp_path / "run" / rf.CONFIG_FILE).exists()


def test_a_new_or_empty_folder_is_taken_and_other_settings_are_refused_once_work_was_done(tmp_path):
    run = tmp_path / "run"
    rf.prepare_run_dir(run, {"budget": "50%"})
    rf.prepare_run_dir(run, {"budget": "60%"})  # nothing done yet: new settings take it over
    assert rf.read_json(run / rf.CONFIG_FILE) == {"budget": "60%"}
    (run / "iter_000").mkdir()
    with pytest.raises(UserError, match="holds a run with other settings"):
        rf.prepare_run_dir(run, {"budget": "70%"})
    rf.prepare_run_dir(run, {"budget": "60%"})
