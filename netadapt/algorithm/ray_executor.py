"""Candidates on a Ray cluster (``--executor ray``; ``pip install 'netadapt[ray]'``).

The executor connects when it is made, before the run folder is set up: an address where nothing answers
within ``CONNECT_SECONDS`` is one line (``ray.init`` itself would wait for ever). Each candidate is one Ray
task that asks for as many CPUs as it uses torch threads and, training on CUDA, for its share of a GPU
(``worker_devices.ray_gpus``); it trains on the GPU Ray gives it. The run's task goes to the object store once
(cloudpickled), and each Ray worker process unpickles it, and loads its data, once. Ray runs a candidate again
when its worker process or node died (``RETRIES`` times); past that, the run stops with one line and resumes
with the candidates already stored. Every node needs netadapt, the model's code and the data source at the
same path; the results come back to this process, which stores them.

Nothing leaves the machine on Ray's account: its usage statistics are off, and a cluster on this machine (no
address: a new local one; or a loopback address such as ``127.0.0.1:6379``) is joined on the loopback address.
Ray replaces a loopback address with the machine's network address unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``
is ``0`` (its switch for single-machine clusters), which this process then sets.
"""

from __future__ import annotations

import os
import socket
import sys
import time

from netadapt.algorithm.executors import Executor, task_payload, worker_threads
from netadapt.algorithm.worker_devices import ray_gpus
from netadapt.errors import UserError, first_line

#: How long a cluster address may take to answer before the run is refused.
CONNECT_SECONDS = 15.0
#: How often Ray runs a candidate again after its worker process or node died.
RETRIES = 3
#: Ray's switch that keeps a cluster on this machine on the loopback address when it is "0".
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

_loaded: dict = {}  # in a Ray worker process: the token of the task it has loaded


def _run_on_ray(payload: bytes, token: str, job, state: dict, threads: int, device: str | None):
    from netadapt.algorithm import executors

    if _loaded.get("token") != token:
        executors.init_worker(payload, threads)
        _loaded["token"] = token
    if device is not None:
        executors._worker["task"].use_device(device)
    return executors.run_candidate(job, state)


def host_port(address: str) -> tuple[str, int] | None:
    """The host and port of a cluster address (``host:port``, ``ray://host:port``, ``[::1]:port``); None for
    an address without a port (``auto``)."""
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    return host == "localhost" or host == "::1" or host.startswith("127.")


def wait_for(address: str, seconds: float) -> None:
    """Return once something accepts connections at ``address``; try for ``seconds`` (a cluster may be
    starting).

    Raises:
        UserError: nothing answered in time, or the host name does not resolve.
    """
    target = host_port(address)
    if target is None:
        return
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(target, timeout=max(0.1, min(3.0, deadline - time.monotonic()))).close()
            return
        except socket.gaierror as exc:
            raise UserError(f"cannot reach the Ray cluster at {address}: {target[0]} does not resolve "
                            f"({exc.strerror})") from None
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise UserError(f"cannot reach the Ray cluster at {address}: nothing answered within {seconds:g} s "
                                f"({exc.strerror or exc}); start it (ray start --head) or fix --ray-address"
                                ) from None
            time.sleep(0.5)


def stay_on_loopback() -> None:
    """Make this process's Ray keep a cluster on this machine on the loopback address."""
    os.environ[LOOPBACK_SWITCH] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:  # Ray was imported earlier in this process: it read the switch then
        constants.ENABLE_RAY_CLUSTER = False


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int = 1, address: str | None = None, devices: list[str] | None = None):
        super().__init__(workers, address, devices)
        target = host_port(address) if address else None
        if address is None or (target is not None and is_loopback(target[0])):
            stay_on_loopback()
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray, which is not installed: pip install 'netadapt[ray]'") from None
        self._ray = ray
        self._payload_ref = None
        self._task = None
        self._token = None
        self._gpus = ray_gpus(devices or [])
        # on a GPU Ray gives it, a candidate sees that GPU alone (as cuda)
        self._device = None if devices is None else ("cuda" if self._gpus else devices[0])
        self._owned = False
        if not ray.is_initialized():
            if address is not None:
                wait_for(address, CONNECT_SECONDS)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except Exception as exc:  # Ray raises ConnectionError and others for a wrong address
                raise UserError(f"cannot reach the Ray cluster at {address or 'a new local instance'}: "
                                f"{first_line(exc)}") from exc
            self._owned = True
        if self._gpus:
            have = ray.cluster_resources().get("GPU", 0)
            if have < self._gpus * workers:
                self.close()
                raise UserError(f"--workers {workers} on {','.join(sorted(set(devices)))} need "
                                f"{self._gpus * workers:g} GPU(s) of the Ray cluster, which has {have:g}")

    def map(self, candidates, task):
        ray = self._ray
        if self._task is not task:
            import uuid

            self._task, self._payload_ref, self._token = task, ray.put(task_payload(task)), uuid.uuid4().hex
        threads = worker_threads(self.workers)
        remote = ray.remote(num_cpus=threads, num_gpus=self._gpus, max_retries=RETRIES)(_run_on_ray)
        pending = {}
        todo = iter(candidates)
        try:
            while True:
                for job, model in todo:
                    ref = remote.remote(self._payload_ref, self._token, job, model.state_dict(), threads, self._device)
                    pending[ref] = job
                    if len(pending) >= self.workers:  # Ray starts whatever it has CPUs for: no more at once
                        break
                if not pending:
                    return
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        record, state, seconds = ray.get(ref)
                    except ray.exceptions.RayTaskError:
                        raise  # the task's own code failed: its traceback says where
                    except ray.exceptions.RayError as exc:
                        raise UserError(f"candidate {job.group} failed on the Ray cluster ({first_line(exc, 200)}) "
                                        f"after {RETRIES} retries; finished candidates are kept: run the same "
                                        "command again to resume") from exc
                    yield job, record, state, seconds
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        self._payload_ref = self._task = None
        if self._owned:
            self._ray.shutdown()
            self._owned = False
