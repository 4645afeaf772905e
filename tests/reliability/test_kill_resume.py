"""The kill harness: SIGKILL `netadapt profile` and `netadapt run` at random moments, resume, compare.

After every kill: the table passes ``PRAGMA integrity_check``, holds no row twice and no row the fake
profiler would not give, and every ``iter_NNN`` folder is whole (model.pt, model.onnx, info.json load).
After the last resume: the table holds exactly the rows of an uninterrupted profile, and the run ends
exactly as an uninterrupted run with the same seed (pruned groups, channels, measured latencies).

Kill moments come from a seeded generator (``NETADAPT_KILL_SEED``, default 0); the seed is in every message.
"""

import os
import random
import signal
import subprocess
import time

import pytest

from reliability_helpers import (PROFILE_ARGS, RUN_ARGS, check_iterations_whole, expected_rows, integrity,
                                 kill_group, row_count, run_child, run_outcome, start_child, table_rows)

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("NETADAPT_KILL_SEED", "0"))
PROFILE_KILLS = 12
RUN_KILLS = 10
PROFILE = [*PROFILE_ARGS[:PROFILE_ARGS.index("--channel-step")], "--channel-step", "16",
           *PROFILE_ARGS[PROFILE_ARGS.index("--channel-step") + 2:]]


def _kill_at_random(args, tmp_path, lut, log, rng, progressed, max_delay):
    """Start the CLI and SIGKILL it at a random moment; returns its exit status (-9 if killed).

    One kill in four lands at a random moment of the start-up (imports, loading, set-up); the others a
    random 0 to ``max_delay`` seconds after ``progressed()`` first holds, i.e. while the work is written.
    """
    proc = start_child(args, tmp_path, lut, log)
    try:
        if rng.random() < 0.25:
            deadline = time.monotonic() + rng.uniform(0.2, 4.0)
        else:
            give_up = time.monotonic() + 300
            while proc.poll() is None and not progressed() and time.monotonic() < give_up:
                time.sleep(0.02)
            deadline = time.monotonic() + rng.uniform(0.0, max_delay)
        try:
            return proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # still running: the moment has come
            kill_group(proc, signal.SIGKILL)
            return proc.wait(timeout=60)
    finally:
        kill_group(proc)


def _files(folder):
    return {str(p) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _check_table(db, want, where):
    if not db.exists():
        return 0
    assert integrity(db) == "ok", where
    stored = table_rows(db)
    assert len(stored) == len(set(stored)), f"{where}: a row is stored twice"
    assert set(stored) <= want, f"{where}: rows the fake profiler would not give"
    return len(stored)


def test_profile_survives_sigkill_at_random_moments(tmp_path):
    rng = random.Random(SEED)
    want = expected_rows("mobilenet_v1", (1, 3, 32, 32), 16)
    ref = tmp_path / "reference.db"
    done = run_child(PROFILE, tmp_path, ref)
    assert done.returncode == 0, done.stderr
    assert set(table_rows(ref)) == want and len(table_rows(ref)) == len(want)

    db = tmp_path / "killed.db"
    kills, counts = 0, []
    for attempt in range(PROFILE_KILLS * 3):
        if kills == PROFILE_KILLS:
            break
        before = row_count(db)
        code = _kill_at_random(PROFILE, tmp_path, db, tmp_path / "profile.log", rng,
                               lambda: row_count(db) > before, max_delay=2.0)
        where = f"seed {SEED}, attempt {attempt}, {before} rows before"
        if code == 0:  # finished first: start over on a fresh table to keep killing mid-write
            for suffix in ("", "-wal", "-shm"):
                db.with_name(db.name + suffix).unlink(missing_ok=True)
            continue
        assert code == -signal.SIGKILL, (where, (tmp_path / "profile.log").read_text())
        kills += 1
        counts.append(_check_table(db, want, where))
    assert kills == PROFILE_KILLS, f"seed {SEED}: only {kills} kills landed"
    assert any(0 < n < len(want) for n in counts), counts  # some kills landed while rows were written

    final = run_child(PROFILE, tmp_path, db)
    assert final.returncode == 0, final.stderr
    stored = table_rows(db)
    assert len(stored) == len(set(stored)) == len(want)
    assert set(stored) == set(table_rows(ref)) == want
    assert integrity(db) == "ok"
    print(f"\nprofile: {kills} kills survived (rows after each kill: {counts}); {len(stored)} rows checked")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    t0 = time.monotonic()
    done = run_child(["run", *RUN_ARGS, "--out", str(root / "run")], root, root / "lut.db")
    assert done.returncode == 0, done.stderr + done.stdout
    return {"outcome": run_outcome(root / "run"), "seconds": time.monotonic() - t0,
            "rows": set(table_rows(root / "lut.db"))}


def _check_run_folder(run, where):
    if not run.exists():
        return 0
    whole = check_iterations_whole(run)
    final = run / "final"
    if final.exists():
        assert {"info.json", "model.pt", "model.onnx"} <= {p.name for p in final.iterdir()}, where
    return whole


def _finish_and_compare(args, tmp_path, out, lut, reference_run):
    final = run_child(args, tmp_path, lut)
    assert final.returncode == 0, final.stderr + final.stdout
    assert _check_run_folder(out, "after the last resume") == len(reference_run["outcome"]["groups"])
    assert run_outcome(out) == reference_run["outcome"]
    rows = table_rows(lut)
    assert len(rows) == len(set(rows)) and set(rows) == reference_run["rows"]
    assert integrity(lut) == "ok"
    assert not list(out.rglob(".*.tmp*"))
    return len(rows)


def test_run_survives_sigkill_at_random_moments(tmp_path, reference_run):
    """Rounds of kill-and-resume until RUN_KILLS kills landed; each round resumed to the end and compared."""
    rng = random.Random(SEED + 1)
    kills, rounds, whole, rows_checked = 0, 0, [], 0
    while kills < RUN_KILLS:
        rounds += 1
        out, lut = tmp_path / f"round{rounds}" / "run", tmp_path / f"round{rounds}" / "lut.db"
        out.parent.mkdir()
        args = ["run", *RUN_ARGS, "--out", str(out)]
        while kills < RUN_KILLS:
            before = _files(out)
            code = _kill_at_random(args, tmp_path, lut, out.parent / "run.log", rng,
                                   lambda: bool(_files(out) - before), max_delay=4.0)
            where = f"seed {SEED + 1}, round {rounds}, kill {kills + 1}"
            if code == 0:
                break  # this round's run finished between kills
            assert code == -signal.SIGKILL, (where, (out.parent / "run.log").read_text())
            kills += 1
            whole.append(_check_run_folder(out, where))
            if lut.exists():
                assert integrity(lut) == "ok", where
                rows = table_rows(lut)
                assert len(rows) == len(set(rows)), where
        rows_checked += _finish_and_compare(args, tmp_path, out, lut, reference_run)
        assert rounds < 3 * RUN_KILLS, f"seed {SEED + 1}: kills do not land"
    print(f"\nrun: {kills} kills survived in {rounds} rounds (whole iterations after each kill: {whole}); "
          f"{rows_checked} table rows checked")


def test_run_ctrl_c_stops_cleanly_and_resumes_to_the_same_result(tmp_path, reference_run):
    out, lut = tmp_path / "run", tmp_path / "lut.db"
    args = ["run", *RUN_ARGS, "--out", str(out)]
    log = tmp_path / "run.log"
    proc = start_child(args, tmp_path, lut, log)
    try:
        deadline = time.monotonic() + 300
        while not (out / "iter_001").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        kill_group(proc, signal.SIGINT)
        code = proc.wait(timeout=120)
    finally:
        kill_group(proc)
    text = log.read_text()
    assert code == 130, text
    assert "Interrupted. Re-run the same command to resume" in text and "Traceback" not in text
    check_iterations_whole(out)
    again = run_child(args, tmp_path, lut)
    assert again.returncode == 0, again.stderr
    assert run_outcome(out) == reference_run["outcome"]
