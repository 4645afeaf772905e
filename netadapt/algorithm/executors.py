"""Where an iteration's candidates are fine-tuned and scored: in the main process, in spawned worker processes,
or on a Ray cluster (``netadapt.algorithm.ray_executor``, imported only when chosen).

An executor takes pruned candidates ``(job, model)`` and yields ``(job, record, state, seconds)`` as each one
finishes, in any order; the caller stores each result at once, so a killed run keeps every finished
candidate. The task (``netadapt.task.adapter.LoopTask``) goes to each worker once, by value (cloudpickle, so
functions defined in ``__main__`` or a notebook work); workers receive networks as state dicts with their
channel counts, rebuild them through the task's checkpoint format (``task.checkpoints.build``), and share the
main process's torch threads. Each worker trains on its own device (``netadapt.algorithm.worker_devices``:
``--train-device cuda`` puts worker i on ``cuda:i``).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Iterable, Iterator

import torch

from netadapt.algorithm.worker_devices import worker_devices
from netadapt.errors import UserError, first_line
from netadapt.task.adapter import CandidateJob


class Executor(ABC):
    """Runs candidates; ``close`` releases its workers (the executor may be reused until then)."""

    name: str

    def __init__(self, workers: int = 1, address: str | None = None, devices: list[str] | None = None):
        self.workers = workers
        self.address = address
        self.devices = devices  # worker i trains on devices[i] (None: on the task's own device)

    @abstractmethod
    def map(self, candidates: Iterable[tuple[CandidateJob, torch.nn.Module]],
            task) -> Iterator[tuple[CandidateJob, dict, dict, dict]]:
        """Fine-tune and score every candidate with ``task``."""

    def close(self) -> None:
        pass


def worker_threads(workers: int) -> int:
    """Torch threads per worker: the main process's, split between the workers."""
    return max(1, torch.get_num_threads() // workers)


def task_payload(task) -> bytes:
    """The task as workers receive it (cloudpickle).

    Raises:
        UserError: it does not pickle; the message names the part that does not.
    """
    import cloudpickle

    try:
        return cloudpickle.dumps(task)
    except Exception as exc:  # pickling raises TypeError, PicklingError, AttributeError ...
        culprit = next((name for name, value in vars(task).items() if not _pickles(value)), None)
        what = f" ({culprit}: {first_line(exc, 200)})" if culprit else f" ({first_line(exc, 200)})"
        raise UserError(f"the task cannot be sent to worker processes{what}; define it at module level or in "
                        "__main__ with picklable state, or use one worker") from exc


def _pickles(value) -> bool:
    import cloudpickle

    try:
        cloudpickle.dumps(value)
        return True
    except Exception:  # noqa: BLE001 - any failure means this part does not pickle
        return False


class InProcess(Executor):
    """One candidate after another in the calling process (``--workers 1``)."""

    name = "local"

    def map(self, candidates, task):
        for job, model in candidates:
            record, seconds = task.candidate(model, job)
            yield job, record, model.state_dict(), seconds


# ---- inside a worker process ------------------------------------------------------------------------------
_worker: dict = {}


def init_worker(payload: bytes | str, threads: int, devices=None) -> None:
    """Set a worker's threads and unpickle its task (once per process): the payload, or the file holding it;
    ``devices``: a queue this worker takes its training device from, or the device's name."""
    import cloudpickle

    torch.set_num_threads(threads)
    if isinstance(payload, str):
        with open(payload, "rb") as f:
            payload = f.read()
    task = cloudpickle.loads(payload)
    if devices is not None:
        task.use_device(devices if isinstance(devices, str) else devices.get(timeout=60))
    _worker["task"] = task


def run_candidate(job: CandidateJob, state: dict) -> tuple[dict, dict, dict]:
    """Rebuild the candidate from its state dict, then fine-tune and score it (in a worker)."""
    task = _worker["task"]
    model = task.checkpoints.build(job.network, state)
    record, seconds = task.candidate(model, job)
    return record, model.state_dict(), seconds


# ---- in the main process ----------------------------------------------------------------------------------
class ProcessPool(Executor):
    """``workers`` spawned processes on this machine, started at the first iteration and kept for the run."""

    name = "local"

    def __init__(self, workers: int = 2, address: str | None = None, devices: list[str] | None = None):
        super().__init__(workers, address, devices)
        self._pool = None
        self._task = None
        self._payload = None

    def _start(self, task):
        import multiprocessing
        import tempfile
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is not None and self._task is not task:
            self.close()
        if self._pool is None:
            # the task goes through a file: a start-up message larger than a pipe's buffer would block this
            # process for good if a worker died while starting
            with tempfile.NamedTemporaryFile(prefix="netadapt-task-", suffix=".pkl", delete=False) as f:
                f.write(task_payload(task))
            self._payload = f.name
            context = multiprocessing.get_context("spawn")
            devices = None
            if self.devices is not None:  # each worker process takes the next device, once
                devices = context.Queue()
                for name in self.devices:
                    devices.put(name)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=init_worker,
                                             initargs=(self._payload, worker_threads(self.workers), devices))
            self._task = task
        return self._pool

    def map(self, candidates, task):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        pool = self._start(task)
        pending = {}
        todo = iter(candidates)
        try:
            while True:
                # one more than the workers in flight, so the next candidate is pruned while they train
                for job, model in todo:
                    pending[pool.submit(run_candidate, job, model.state_dict())] = job
                    if len(pending) > self.workers:
                        break
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    record, state, seconds = future.result()
                    yield job, record, state, seconds
        except BrokenProcessPool as exc:
            self.close()
            raise UserError(f"a candidate worker process failed ({exc}); finished candidates are kept: run the "
                            f"same command again to resume (with fewer --workers if memory ran out){_main_hint()}"
                            ) from exc
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        import os

        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._payload is not None:
            os.unlink(self._payload)
            self._payload = None


def _main_hint() -> str:
    """A reminder for scripts: spawned workers import the main script, which must not start a run again."""
    import __main__

    if getattr(__main__, "__file__", None):
        return "; a script that starts workers must do its work under if __name__ == '__main__': (workers import it)"
    return ""


def _local(workers: int = 1, address: str | None = None, devices: list[str] | None = None) -> Executor:
    return InProcess(1, devices=devices) if workers == 1 else ProcessPool(workers, devices=devices)


_EXECUTORS = {
    "local": _local,
    "ray": "netadapt.algorithm.ray_executor:RayExecutor",
}


def list_executors() -> list[str]:
    return sorted(_EXECUTORS)


def create_executor(name: str, workers: int = 1, address: str | None = None, task=None,
                    train_device: str | None = None) -> Executor:
    """The executor ``name`` with ``workers`` candidates at once, connected to its cluster if it has one;
    with ``task``, a task that cannot reach workers is refused before any work; with ``train_device``
    (``--train-device``), each worker trains on its own device (``worker_devices``).

    Raises:
        UserError: unknown name, fewer than one worker, a training device that is not here or too few GPUs
            for the workers, a back end that is not installed, a cluster that does not answer, or a task that
            does not pickle for several workers.
    """
    if name not in _EXECUTORS:
        raise UserError(f"unknown executor {name!r}; valid: {', '.join(list_executors())}")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if address is not None and name != "ray":
        raise UserError("--ray-address needs --executor ray")
    devices = None if train_device is None else worker_devices(train_device, workers)
    factory = _EXECUTORS[name]
    if isinstance(factory, str):  # a heavy back end, imported only when chosen
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    executor = factory(workers, address, devices)
    if task is not None and not isinstance(executor, InProcess):
        try:
            _round_trip(task)
        except UserError:
            executor.close()
            raise
    return executor


def _round_trip(task) -> None:
    """Refuse a task that does not come out of a worker's unpickling."""
    import cloudpickle

    payload = task_payload(task)
    try:
        cloudpickle.loads(payload)  # the round trip a worker makes
    except Exception as exc:  # unpickling runs the objects' own code
        raise UserError(f"the task does not unpickle as a worker would ({first_line(exc, 200)}); use one worker") from exc
