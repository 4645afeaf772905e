"""Where an iteration's candidates are fine-tuned and scored: in the main process, in spawned worker processes,
or on a Ray cluster (``netadapt.algorithm.ray_executor``, imported only when chosen).

An executor takes pruned candidates ``(job, model)`` and yields ``(job, record, state, seconds)`` as each one
finishes, in any order; the caller stores each result at once, so a killed run keeps every finished
candidate. Workers receive networks as state dicts with their channel counts (never pickled modules), load
the data once per process, and share the main process's torch threads between them.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Iterable, Iterator

import torch

from netadapt.algorithm.candidates import CandidateJob, Resources, SharedInputs, load_resources, train_and_score
from netadapt.errors import UserError


class Executor(ABC):
    """Runs candidates; ``close`` releases its workers (the executor may be reused until then)."""

    name: str

    def __init__(self, workers: int = 1, address: str | None = None):
        self.workers = workers
        self.address = address

    @abstractmethod
    def map(self, candidates: Iterable[tuple[CandidateJob, torch.nn.Module]], shared: SharedInputs,
            resources: Resources) -> Iterator[tuple[CandidateJob, dict, dict, dict]]:
        """Fine-tune and score every candidate; ``resources`` are the main process's own."""

    def close(self) -> None:
        pass


def worker_threads(workers: int) -> int:
    """Torch threads per worker: the main process's, split between the workers."""
    return max(1, torch.get_num_threads() // workers)


class InProcess(Executor):
    """One candidate after another in the calling process (``--workers 1``)."""

    name = "local"

    def map(self, candidates, shared, resources):
        for job, model in candidates:
            record, seconds = train_and_score(model, job, shared.config, resources)
            yield job, record, model.state_dict(), seconds


# ---- inside a worker process ------------------------------------------------------------------------------
_worker: dict = {}


def init_worker(shared: SharedInputs, threads: int) -> None:
    """Set a worker's threads and load its data (once per process)."""
    torch.set_num_threads(threads)
    _worker["shared"], _worker["resources"] = shared, load_resources(shared)


def run_candidate(job: CandidateJob, state: dict) -> tuple[dict, dict, dict]:
    """Rebuild the candidate from its state dict, then fine-tune and score it (in a worker)."""
    from netadapt.checkpoint import build_model
    from netadapt.models.spec import ModelSpec

    shared = _worker["shared"]
    model = build_model(ModelSpec.from_dict(shared.spec), shared.input_shape, job.network, state)
    record, seconds = train_and_score(model, job, shared.config, _worker["resources"])
    return record, model.state_dict(), seconds


# ---- in the main process ----------------------------------------------------------------------------------
class ProcessPool(Executor):
    """``workers`` spawned processes on this machine, started at the first iteration and kept for the run."""

    name = "local"

    def __init__(self, workers: int = 2, address: str | None = None):
        super().__init__(workers, address)
        self._pool = None
        self._shared = None

    def _start(self, shared: SharedInputs):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is not None and self._shared != shared:
            self.close()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=init_worker, initargs=(shared, worker_threads(self.workers)))
            self._shared = shared
        return self._pool

    def map(self, candidates, shared, resources):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        pool = self._start(shared)
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
                            "same command again to resume (with fewer --workers if memory ran out)") from exc
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _local(workers: int = 1, address: str | None = None) -> Executor:
    return InProcess(1) if workers == 1 else ProcessPool(workers)


_EXECUTORS = {
    "local": _local,
    "ray": "netadapt.algorithm.ray_executor:RayExecutor",
}


def list_executors() -> list[str]:
    return sorted(_EXECUTORS)


def create_executor(name: str, workers: int = 1, address: str | None = None) -> Executor:
    """The executor ``name`` with ``workers`` candidates at once.

    Raises:
        UserError: unknown name, fewer than one worker, or a back end that is not installed.
    """
    if name not in _EXECUTORS:
        raise UserError(f"unknown executor {name!r}; valid: {', '.join(list_executors())}")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if address is not None and name != "ray":
        raise UserError("--ray-address needs --executor ray")
    factory = _EXECUTORS[name]
    if isinstance(factory, str):  # a heavy back end, imported only when chosen
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(workers, address)
