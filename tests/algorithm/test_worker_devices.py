"""A training device per worker (``--workers N --train-device cuda`` puts worker i on ``cuda:i``; a list names
each worker's), on a machine without a GPU: PyTorch is told it sees some, and the candidates of a stand-in task
record the device their worker was given instead of training on it."""

from pathlib import Path

import pytest
import torch
from recording_task import RecordingTask, job

from netadapt.algorithm.executors import InProcess, ProcessPool, create_executor
from netadapt.algorithm.worker_devices import main_device, ray_gpus, worker_devices
from netadapt.cli import main
from netadapt.errors import UserError

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def gpus(monkeypatch):
    """This process's PyTorch sees ``n`` CUDA GPUs (nothing runs on them)."""

    def see(n: int):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return see


def test_cuda_puts_worker_i_on_gpu_i_and_a_list_names_each_workers(gpus):
    gpus(4)
    assert worker_devices("cuda", 4) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert worker_devices("cuda", 1) == ["cuda"]
    assert worker_devices("cuda:2", 3) == ["cuda:2"] * 3  # one GPU named: every worker on it
    assert worker_devices("cuda:1, cuda:3", 2) == ["cuda:1", "cuda:3"]
    assert worker_devices("cuda:0,cuda:0", 2) == ["cuda:0", "cuda:0"]  # two workers share a GPU
    assert worker_devices("cpu", 3) == ["cpu"] * 3
    assert main_device("cuda:1,cuda:0") == "cuda:1"
    assert (ray_gpus(["cuda:0", "cuda:1"]), ray_gpus(["cuda:0", "cuda:0"]), ray_gpus(["cpu", "cpu"])) == (1, 0.5, 0)
    assert ray_gpus(["cuda:0", "cuda:0", "cuda:0", "cuda:1"]) == pytest.approx(1 / 3)


@pytest.mark.parametrize("text,workers,needle", [
    ("cuda", 5, "puts worker i on cuda:i, but this machine has 4 CUDA GPU(s)"),
    ("cuda:0,cuda:1", 3, "names 2 devices for 3 worker(s)"),
    ("cuda:4", 1, "only 4 CUDA GPU(s)"),
    ("cuda:0,,cuda:1", 2, "an empty entry"),
    ("tpu", 2, "training device"),
])
def test_more_workers_than_gpus_or_a_wrong_list_is_refused(gpus, text, workers, needle):
    gpus(4)
    with pytest.raises(UserError) as refused:
        worker_devices(text, workers)
    assert needle in str(refused.value) and "\n" not in str(refused.value)


def test_the_refusal_suggests_sharing_the_gpus_there_are(gpus):
    gpus(2)
    with pytest.raises(UserError, match=r"--train-device cuda:0,cuda:1,cuda:0\)"):
        worker_devices("cuda", 3)


def test_without_cuda_a_gpu_is_refused(gpus):
    gpus(0)
    with pytest.raises(UserError, match="sees no CUDA GPU"):
        worker_devices("cuda", 2)


def test_the_main_process_trains_on_the_first_device_named():
    assert RecordingTask("cuda:1,cuda:0").train_device == "cuda:1"
    one = create_executor("local", 1, train_device="cpu")
    assert isinstance(one, InProcess) and one.devices == ["cpu"]


@pytest.mark.parametrize("text,expected", [
    ("cuda", {"cuda:0", "cuda:1"}),
    pytest.param("cuda:0,cuda:0", {"cuda:0"}, marks=pytest.mark.slow),  # about 10 s each: spawning workers
    pytest.param("cuda:1,cuda:0", {"cuda:0", "cuda:1"}, marks=pytest.mark.slow),
])
def test_each_worker_process_keeps_its_own_device(gpus, monkeypatch, text, expected):
    monkeypatch.syspath_prepend(str(TESTS))  # spawned workers import the stand-in task from it
    gpus(2)
    task = RecordingTask(text)
    pool = create_executor("local", 2, task=task, train_device=text)
    assert isinstance(pool, ProcessPool)
    try:
        results = [record for _, record, _, _ in pool.map(((job(i), task.candidate_model()) for i in range(8)), task)]
    finally:
        pool.close()
    assert sorted(r["group"] for r in results) == sorted(f"g{i}" for i in range(8))
    by_process = {}
    for r in results:
        by_process.setdefault(r["pid"], set()).add(r["device"])
    assert all(len(devices) == 1 for devices in by_process.values())  # a worker never changes device
    assert len(by_process) == 2 and set().union(*by_process.values()) == expected


def test_run_with_more_workers_than_gpus_is_one_line_and_writes_nothing(gpus, tmp_path, monkeypatch, capsys):
    gpus(2)
    monkeypatch.setenv("NETADAPT_LUT", str(tmp_path / "lut.db"))
    with pytest.raises(SystemExit) as done:
        main(["run", "--budget", "80%", "--device", "fake", "--workers", "3", "--train-device", "cuda",
              "--no-progress", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 2 and len(err) == 1, err
    assert err[0].startswith("Error: --workers 3 --train-device cuda puts worker i on cuda:i")
    assert not (tmp_path / "r").exists() and not (tmp_path / "lut.db").exists()
