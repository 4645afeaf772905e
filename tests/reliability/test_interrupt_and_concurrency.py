"""Ctrl-C stops `netadapt profile` cleanly and a re-run resumes; profiles writing one table at once all finish.

Child processes run the real CLI; rows are compared with what the fake profiler gives for every signature on
the grid, so a lost, repeated or garbled row shows.
"""

import signal
import time

import pytest

from reliability_helpers import (PROFILE_ARGS, expected_rows, integrity, kill_group, row_count, run_child,
                                 start_child, table_rows)

SHAPE = (1, 3, 32, 32)


def _profile_args(model="mobilenet_v1", step=64):
    args = list(PROFILE_ARGS)
    args[args.index("--model") + 1] = model
    args[args.index("--channel-step") + 1] = str(step)
    return args


def _wait_for_rows(proc, db, at_least, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if row_count(db) >= at_least:
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_stops_cleanly_with_a_resume_hint_and_a_rerun_resumes(tmp_path):
    db = tmp_path / "lut.db"
    want = expected_rows("mobilenet_v1", SHAPE, 64)
    log = tmp_path / "profile.log"
    proc = start_child(_profile_args(), tmp_path, db, log)
    try:
        assert _wait_for_rows(proc, db, 50), log.read_text()
        kill_group(proc, signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        kill_group(proc)
    text = log.read_text()
    assert code == 130, text
    assert "Interrupted. Re-run the same command to resume" in text and "Traceback" not in text
    assert integrity(db) == "ok"
    stored = table_rows(db)
    assert 50 <= len(stored) < len(want) and len(set(stored)) == len(stored) and set(stored) <= want

    again = run_child(_profile_args(), tmp_path, db)
    assert again.returncode == 0, again.stderr
    assert f"measured {len(want) - len(stored)}, {len(stored)} already stored" in again.stdout
    final = table_rows(db)
    assert set(final) == want and len(final) == len(want)


def _profile_together(tmp_path, jobs):
    db = tmp_path / "lut.db"
    procs = [start_child(_profile_args(model, step), tmp_path, db, tmp_path / f"p{i}.log")
             for i, (model, step) in enumerate(jobs)]
    try:
        codes = [p.wait(timeout=300) for p in procs]
    finally:
        for p in procs:
            kill_group(p)
    logs = [(tmp_path / f"p{i}.log").read_text() for i in range(len(jobs))]
    assert codes == [0] * len(jobs), logs
    assert not any("locked" in text.lower() or "Traceback" in text for text in logs), logs
    want = set().union(*(expected_rows(model, SHAPE, step) for model, step in jobs))
    stored = table_rows(db)
    assert len(stored) == len(set(stored)) == len(want)  # none lost, none twice
    assert set(stored) == want
    assert integrity(db) == "ok"
    return len(stored)


def test_two_profiles_of_one_model_on_one_table_at_once(tmp_path):
    """Both find every signature missing, so every insert is contested."""
    _profile_together(tmp_path, [("mobilenet_v1", 64), ("mobilenet_v1", 64)])


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [
    [("mobilenet_v1", 32), ("mobilenet_v1", 32)],
    [("mobilenet_v1", 32), ("mobilenet_v2", 32)],
    [("mobilenet_v1", 32), ("mobilenet_v1", 32), ("mobilenet_v2", 32), ("resnet20", 16)],
], ids=["same-model", "different-models", "four-at-once"])
def test_profiles_on_one_table_at_once(tmp_path, jobs):
    _profile_together(tmp_path, jobs)
