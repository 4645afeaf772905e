"""Shared by the reliability tests: drive the CLI (in-process or as a child process) and inspect results."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from netadapt.cli import main; main()"]
MODEL = "usermodels:residual_depthwise_net"

# A small deterministic run: fake device, synthetic data, a user model with a residual and a depthwise conv.
RUN_ARGS = ["--model", MODEL, "--model-args", '{"width": 32}',
            "--data", "synthetic:classes=3,size=32,n=240,channels=1,test=60", "--holdout", "60",
            "--device", "fake", "--channel-step", "8", "--base-epochs", "2", "--short-term-steps", "4",
            "--long-term-epochs", "1", "--batch-size", "32", "--warmup", "0", "--repeats", "1",
            "--model-repeats", "1", "--seed", "3", "--budget", "70%", "--batch", "1", "--no-progress"]

PROFILE_ARGS = ["profile", "--device", "fake", "--model", "mobilenet_v1", "--input-shape", "1x3x32x32",
                "--channel-step", "32", "--warmup", "0", "--repeats", "1", "--no-progress", "--scope", "grid"]


def python_path(tmp_path: Path) -> Path:
    """A folder holding only ``usermodels.py``.

    Not ``tests/`` itself: its ``devices``, ``lut`` and ``profilers`` folders would shadow the installed
    packages of those names in a child process (namespace packages beat the editable-install finder).
    """
    folder = tmp_path / "pymods"
    if not folder.exists():
        folder.mkdir()
        shutil.copy(TESTS / "usermodels.py", folder / "usermodels.py")
    return folder


def child_env(tmp_path: Path, lut: Path) -> dict:
    env = dict(os.environ)
    env.update(NETADAPT_LUT=str(lut), PYTHONPATH=str(python_path(tmp_path)), PYTHONUNBUFFERED="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def run_child(args, tmp_path: Path, lut: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=child_env(tmp_path, lut), cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout)


def _default_sigint():
    # A shell that starts jobs in the background ignores SIGINT in them, and Python then never turns
    # SIGINT into KeyboardInterrupt: give the child the default disposition back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_child(args, tmp_path: Path, lut: Path, log: Path) -> subprocess.Popen:
    """Start the CLI in its own process group, stdout and stderr into ``log`` (never a full pipe)."""
    with open(log, "w") as out:
        return subprocess.Popen([*CLI, *args], env=child_env(tmp_path, lut), cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_default_sigint)


def kill_group(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Signal the child's own process group (the CLI and anything it started), never anything else."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def invoke(argv, capsys) -> tuple[int, str, list[str]]:
    """Run ``netadapt.cli.main(argv)`` in this process.

    Returns:
        (exit status, stdout, stderr lines): Python warnings count as stderr lines, as they would print
        there in a real process. Any exception but SystemExit propagates (the CLI would show a traceback).
    """
    from netadapt.cli import main

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    lines += [f"warning: {w.category.__name__}: {w.message}" for w in caught]
    return exited.value.code, out, lines


def assert_one_error_line(code, lines, *needles):
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and "Traceback" not in lines[0], lines
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])


# ---- the table, read with plain sqlite3 ----------------------------------------------------------------

def table_rows(db: Path) -> list[tuple]:
    """Every measurement as (device fingerprint id, node key JSON, median, p10, p90, count)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        return conn.execute("SELECT d.fingerprint_id, m.key, m.median_ms, m.p10_ms, m.p90_ms, m.count "
                            "FROM node_measurements m JOIN devices d ON d.id = m.device_id").fetchall()
    finally:
        conn.close()


@functools.cache
def expected_rows(model: str, shape: tuple, step: int, threads: int = 1) -> frozenset[tuple]:
    """The rows ``netadapt profile --device fake`` must store for a zoo model, as ``table_rows`` gives them
    (worked out once per process: every network on the grid is exported, about 20 s for MobileNetV1)."""
    from devices.fake import FakeDevice
    from netadapt.latency import LatencyEstimator, visitable_configs
    from netadapt.models.spec import ModelSpec
    from netadapt.pruning import analyze, shrunk_copy
    from profilers.fake import FakeProfiler

    device = FakeDevice(threads)
    profiler = FakeProfiler(device)
    net = ModelSpec(model).build().eval()
    graph = analyze(net, shape)
    reader = LatencyEstimator(None, device)
    rows = set()
    for sizes in [{}] + visitable_configs(graph, step):
        for unit in reader.units(shrunk_copy(net, graph, sizes), shape):
            st = profiler.measure_node(unit.key)
            rows.add((device.fingerprint_id(), unit.key.text, st.median, st.p10, st.p90, st.count))
    return frozenset(rows)


def integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def row_count(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
        try:
            return conn.execute("SELECT count(*) FROM node_measurements").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def folder_digest(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): file_digest(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


# ---- run folders ---------------------------------------------------------------------------------------

def check_iterations_whole(run: Path) -> int:
    """Every ``iter_NNN`` folder holds a model.pt, model.onnx and info.json that load; returns how many."""
    import onnx

    from netadapt.checkpoint import load_checkpoint

    count = 0
    for folder in sorted(Path(run).glob("iter_[0-9][0-9][0-9]")):
        info = json.loads((folder / "info.json").read_text())
        assert info["iteration"] == int(folder.name[5:])
        loaded = load_checkpoint(folder / "model.pt")
        assert loaded.channels == info["channels"]
        onnx.checker.check_model(onnx.load(str(folder / "model.onnx")))
        count += 1
    return count


def run_outcome(run: Path) -> dict:
    """What must not depend on kills: the pruned group sequence, channels per iteration, final channels."""
    summary = json.loads((Path(run) / "summary.json").read_text())
    its = sorted(Path(run).glob("iter_[0-9][0-9][0-9]"))
    infos = [json.loads((p / "info.json").read_text()) for p in its]
    return {"groups": [i["pruned_group"] for i in infos],
            "channels": [i["channels"] for i in infos],
            "measured": [round(i["measured_ms"], 9) for i in infos],
            "final_channels": summary["final"]["channels"],
            "from_iteration": summary["final"]["from_iteration"]}
