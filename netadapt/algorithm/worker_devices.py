"""Which device each candidate worker trains on (``--train-device`` with ``--workers``).

One device (``cpu``, ``cuda:1``): every worker trains there, except plain ``cuda`` with several workers, which
puts worker i on ``cuda:i`` and is refused when fewer GPUs are visible. A comma-separated list
(``cuda:0,cuda:1``) names one device per worker; a GPU may be named more than once (``cuda:0,cuda:0``: two
workers share it). The main process (base training, the final long-term fine-tune, a single worker) trains on
the first device named. On a Ray cluster the indices are the cluster's business: each candidate asks Ray for
its share of a GPU (:func:`ray_gpus`) and trains on the GPU Ray gives it.
"""

from __future__ import annotations

from collections import Counter

import torch

from netadapt.errors import UserError
from netadapt.training.device import training_device


def named(text: str) -> list[str]:
    """The devices ``text`` names, in order (``"cuda:0, cuda:1"`` -> ``["cuda:0", "cuda:1"]``).

    Raises:
        UserError: an empty entry.
    """
    names = [part.strip() for part in str(text).split(",")]
    if not all(names):
        raise UserError(f"--train-device {text!r}: an empty entry; name devices like cuda:0,cuda:1")
    return names


def main_device(text: str) -> str:
    """The device the main process trains on: the first one ``text`` names."""
    return named(text)[0]


def worker_devices(text: str, workers: int) -> list[str]:
    """The device of each of ``workers`` workers, every GPU checked to be visible to this PyTorch.

    Raises:
        UserError: a device that is unknown or not here, a list whose length is not the worker count, or
            plain ``cuda`` for more workers than GPUs.
    """
    names = named(text)
    for name in names:
        training_device(name)
    if len(names) > 1:
        if len(names) != workers:
            raise UserError(f"--train-device names {len(names)} devices for {workers} worker(s): name one per "
                            "worker (the same GPU may appear more than once), or a single device")
        return names
    name = names[0]
    device = torch.device(name)
    if device.type == "cuda" and device.index is None and workers > 1:
        count = torch.cuda.device_count()
        if workers > count:
            shared = ",".join(f"cuda:{i % count}" for i in range(workers))
            raise UserError(f"--workers {workers} --train-device cuda puts worker i on cuda:i, but this machine "
                            f"has {count} CUDA GPU(s): use at most {count} worker(s), or share GPUs by naming "
                            f"them (--train-device {shared})")
        return [f"cuda:{i}" for i in range(workers)]
    return [name] * workers


def ray_gpus(devices: list[str]) -> float:
    """The share of a GPU each candidate asks a Ray cluster for: none off CUDA, one GPU each when every worker
    has its own, ``1/k`` when up to k workers were given the same GPU."""
    if not devices or torch.device(devices[0]).type != "cuda":
        return 0.0
    return 1.0 / max(Counter(devices).values())
