"""Ray for real: a local cluster on the loopback address, a head and a second node joining it, each its own
``ray start`` process with one CPU. ``netadapt run --workers 2 --executor ray --ray-address 127.0.0.1:PORT`` on
the built-in default (digits_cnn on the digits, a short run on the fake device) gives the same iterations,
channels, scores and final accuracy as one worker, also when a Ray worker is killed during an iteration; each
candidate asks the cluster for its share of a GPU (the head declares two, none is used); an address where no
cluster answers is one line before anything is written. Every node is on 127.0.0.1 and usage statistics are
off: the tests send nothing to any other address.

Ray 2.60's ``ray start --address 127.0.0.1:PORT`` replaces the loopback address with the machine's network
address, and ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (which keeps the head and the driver on loopback) makes it
refuse to join: the second node is ``ray start`` with that replacement turned off. In CI a missing Ray fails
these tests; elsewhere they are skipped.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

if os.environ.get("CI", "").lower() in ("1", "true"):
    import ray  # noqa: F401  (CI installs the ray extra: a missing Ray fails here)
else:
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")

from recording_task import RecordingTask, job  # noqa: E402
from run_copies import start_from  # noqa: E402

from netadapt.algorithm import ray_executor  # noqa: E402
from netadapt.algorithm.executors import create_executor  # noqa: E402
from netadapt.cli import main  # noqa: E402
from netadapt.errors import UserError  # noqa: E402
from netadapt.runs import folder as rf  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]
# the built-in default (digits_cnn, the digits), kept short
QUICK = ["--budget", "70%", "--device", "fake", "--base-epochs", "1", "--short-term-steps", "3",
         "--long-term-epochs", "0", "--max-iterations", "2", "--no-progress"]
SCORES = ("group", "channels", "predicted_ms", "holdout_accuracy", "holdout_loss", "holdout_kl", "finetune_loss")
# `ray start` for a node joining a cluster on loopback: Ray's own command with the replacement of a loopback
# address by the machine's network address turned off
JOIN = ("import sys, ray._private.services as services; services.resolve_ip_for_localhost = lambda host: host; "
        "from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()")
RAY = ("from ray.scripts.scripts import main; import sys; sys.argv[0] = 'ray'; main()")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    address: str
    nodes: list[dict]
    processes: list[subprocess.Popen]


def _stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:  # each node's processes are in its own process group
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    for p in processes:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)  # what the node did not stop in time
        except ProcessLookupError:
            pass
        p.wait()


@pytest.fixture(scope="module")
def cluster():
    port = _free_port()
    # short: Ray's socket paths under it must stay within 107 bytes
    temp = tempfile.mkdtemp(prefix="na-ray-")
    # token authentication off: a token a local Ray left in the home folder would otherwise turn it on for the
    # nodes and not for this driver
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_AUTH_MODE", "disabled")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    env.pop(ray_executor.LOOPBACK_SWITCH, None)
    common = ["--block", "--num-cpus", "1", "--disable-usage-stats"]
    processes = []
    try:
        log = open(Path(temp) / "head.log", "w")
        processes.append(subprocess.Popen(
            [sys.executable, "-c", RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--num-gpus", "2", "--include-dashboard", "false", "--temp-dir", temp, *common],
            env={**env, ray_executor.LOOPBACK_SWITCH: "0"}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))
        address = f"127.0.0.1:{port}"
        ray_executor.wait_for(address, 60)
        log = open(Path(temp) / "node.log", "w")
        processes.append(subprocess.Popen(
            [sys.executable, "-c", JOIN, "start", "--address", address, "--node-ip-address", "127.0.0.1", *common],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        probe = create_executor("ray", 1, address)  # connects as a run does
        try:
            import ray

            deadline = time.monotonic() + 120
            while len(nodes := [n for n in ray.nodes() if n["Alive"]]) < 2:
                assert time.monotonic() < deadline, "the second node did not join"
                time.sleep(0.5)
        finally:
            probe.close()
        yield Cluster(address, nodes, processes)
    finally:
        _stop(processes)
        shutil.rmtree(temp, ignore_errors=True)
        mp.undo()


@pytest.fixture(autouse=True)
def _lut(monkeypatch, tmp_path):
    monkeypatch.setenv("NETADAPT_LUT", str(tmp_path / "lut.db"))


def _main(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return done.value.code, capsys.readouterr().err


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory) -> Path:
    """The short quick start with one worker (do not modify it)."""
    out = tmp_path_factory.mktemp("one") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETADAPT_LUT", str(out.parent / "lut.db"))
        with pytest.raises(SystemExit) as done:
            main(["run", *QUICK, "--out", str(out)])
    assert done.value.code == 0
    return out


def _same_run(mine: Path, theirs: Path) -> None:
    for k in (1, 2):
        a, b = (rf.read_json(rf.iteration_dir(run, k) / "info.json") for run in (mine, theirs))
        assert a["pruned_group"] == b["pruned_group"] and a["channels"] == b["channels"]
        assert len(a["candidates"]) >= 2
        assert [[c.get(key) for key in SCORES] for c in a["candidates"]] == \
               [[c.get(key) for key in SCORES] for c in b["candidates"]]  # exactly: the same seeds and data
    final = [json.loads((run / "final" / "info.json").read_text()) for run in (mine, theirs)]
    assert final[0]["test_accuracy"] == final[1]["test_accuracy"] and final[0]["from_iteration"] == 2


@pytest.mark.slow
def test_every_node_is_on_loopback(cluster):
    assert len(cluster.nodes) == 2
    assert {n["NodeManagerAddress"] for n in cluster.nodes} == {"127.0.0.1"}
    assert {n["Resources"]["CPU"] for n in cluster.nodes} == {1.0}


@pytest.mark.slow
def test_two_ray_workers_give_the_same_run_as_one(cluster, one_worker, tmp_path, capsys):
    two = start_from(one_worker, tmp_path / "two")
    code, err = _main(["run", *QUICK, "--workers", "2", "--executor", "ray", "--ray-address", cluster.address,
                       "--out", str(two)], capsys)
    assert code == 0, err
    _same_run(two, one_worker)


def _ancestors(pid: int) -> set[int]:
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return seen


def _candidate_workers(cluster: Cluster) -> list[int]:
    """The Ray worker processes of this cluster running a candidate now (Ray titles them by the task)."""
    ours = {p.pid for p in cluster.processes}
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if title.startswith(b"ray::_run_on_ray") and _ancestors(int(entry.name)) & ours:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_a_ray_worker_killed_during_an_iteration_costs_nothing(cluster, one_worker, tmp_path, capsys):
    out = start_from(one_worker, tmp_path / "killed")
    killed = []

    def kill_one():
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline:
            if rf.partial_dir(out, 1).exists() or rf.partial_dir(out, 2).exists():  # an iteration's candidates
                for pid in _candidate_workers(cluster)[:1]:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one, daemon=True)
    killer.start()
    code, err = _main(["run", *QUICK, "--workers", "2", "--executor", "ray", "--ray-address", cluster.address,
                       "--out", str(out)], capsys)
    killer.join(1)
    assert killed, "no candidate was running on the cluster to kill"
    assert code == 0, err  # Ray ran the killed candidate again
    _same_run(out, one_worker)


@pytest.mark.slow
@pytest.mark.parametrize("text,share", [("cuda", 1.0), ("cuda:0,cuda:0", 0.5)])
def test_each_candidate_asks_the_cluster_for_its_share_of_a_gpu(cluster, monkeypatch, text, share):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the driver sees two GPUs; nothing runs on them
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    task = RecordingTask(text, seconds=0.5)
    executor = create_executor("ray", 2, cluster.address, task=task, train_device=text)
    try:
        assert executor._gpus == share
        records = [r for _, r, _, _ in executor.map(((job(i), task.candidate_model()) for i in range(4)), task)]
    finally:
        executor.close()
    assert sorted(r["group"] for r in records) == ["g0", "g1", "g2", "g3"]
    assert all(r["device"] == "cuda" and len(r["gpus"]) == 1 and r["gpus"][0] in ("0", "1") for r in records)


@pytest.mark.slow
def test_more_gpus_than_the_cluster_has_is_refused(cluster, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    with pytest.raises(UserError, match=r"--workers 3 on cuda:0,cuda:1,cuda:2 need 3 GPU\(s\) of the Ray cluster, "
                                        r"which has 2"):
        create_executor("ray", 3, cluster.address, train_device="cuda")


def test_an_address_where_no_cluster_answers_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ray_executor, "CONNECT_SECONDS", 1.0)
    port = _free_port()
    t0 = time.perf_counter()
    code, err = _main(["run", *QUICK, "--workers", "2", "--executor", "ray", "--ray-address", f"127.0.0.1:{port}",
                       "--out", str(tmp_path / "r")], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"Error: cannot reach the Ray cluster at 127.0.0.1:{port}: nothing answered within 1 s")
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "r").exists() and not (tmp_path / "lut.db").exists()
