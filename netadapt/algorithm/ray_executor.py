"""Candidates on a Ray cluster (``--executor ray``; ``pip install 'netadapt[ray]'``).

Each candidate is one Ray task that asks for as many CPUs as it uses torch threads; the run's task goes to the
object store once (cloudpickled), and each Ray worker process unpickles it, and loads its data, once. Every node needs netadapt, the
model's code and the data source at the same path; the results come back to this process, which stores them.
"""

from __future__ import annotations

from netadapt.algorithm.executors import Executor, task_payload, worker_threads
from netadapt.errors import UserError, first_line

_loaded: dict = {}  # in a Ray worker process: the token of the task it has loaded


def _run_on_ray(payload: bytes, token: str, job, state: dict, threads: int):
    from netadapt.algorithm import executors

    if _loaded.get("token") != token:
        executors.init_worker(payload, threads)
        _loaded["token"] = token
    return executors.run_candidate(job, state)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int = 1, address: str | None = None):
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray, which is not installed: pip install 'netadapt[ray]'") from None
        super().__init__(workers, address)
        self._ray = ray
        self._payload_ref = None
        self._task = None
        self._token = None

    def map(self, candidates, task):
        ray = self._ray
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except Exception as exc:  # Ray raises ConnectionError and others for a wrong address
                raise UserError(f"cannot reach the Ray cluster at {self.address or 'a new local instance'}: "
                                f"{first_line(exc)}") from exc
        if self._task is not task:
            import uuid

            self._task, self._payload_ref, self._token = task, ray.put(task_payload(task)), uuid.uuid4().hex
        threads = worker_threads(self.workers)
        remote = ray.remote(num_cpus=threads)(_run_on_ray)
        pending = {}
        todo = iter(candidates)
        try:
            while True:
                for job, model in todo:
                    pending[remote.remote(self._payload_ref, self._token, job, model.state_dict(), threads)] = job
                    if len(pending) > self.workers:
                        break
                if not pending:
                    return
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    record, state, seconds = ray.get(ref)
                    yield job, record, state, seconds
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        self._payload_ref = self._task = None
