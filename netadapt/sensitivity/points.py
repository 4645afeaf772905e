"""The points of a sensitivity scan as jobs for netadapt's executors (``--workers N``, ``--executor ray``).

Each point is one group pruned by one ratio: the main process prunes it (the criterion runs there, in order,
so a point is the same whoever scores it), and a worker rebuilds it from its channel counts and weights,
fine-tunes it if asked, and scores it on the holdout, as the executors do for NetAdapt's candidates.
"""

from __future__ import annotations

import time

import torch.nn as nn

from netadapt.pruning import analyze, shrunk_copy
from netadapt.task.adapter import CandidateJob


class ShrunkCopies:
    """How a worker rebuilds a point: the unpruned network cut to the point's channel counts, with its weights
    (the ``build`` of a task's checkpoint format; a scan writes no checkpoints)."""

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...]):
        self.model = model
        self.input_shape = input_shape
        self._graph = None

    def build(self, channels: dict[str, int], state: dict) -> nn.Module:
        """The point's network (the unpruned one cut to ``channels``) with its weights."""
        if self._graph is None:
            self._graph = analyze(self.model, self.input_shape)
        model = shrunk_copy(self.model, self._graph, channels)
        model.load_state_dict(state)
        return model


class ScanTask:
    """What a worker needs to score a scan's points: the unpruned network, the data, the fine-tune settings.

    It travels to each worker once (cloudpickle); ``checkpoints.build`` and ``candidate`` are what the executors
    call.
    """

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...], holdout, train=None,
                 finetune_steps: int = 0, finetune: dict | None = None):
        self.model = model
        self.input_shape = input_shape
        self.holdout = holdout
        self.train = train
        self.finetune_steps = finetune_steps
        self.finetune = dict(finetune or {})
        self.train_device = "cpu"
        self.checkpoints = ShrunkCopies(model, input_shape)

    def use_device(self, name: str) -> None:
        self.train_device = str(name).split(",")[0].strip()

    def candidate(self, model: nn.Module, job: CandidateJob) -> tuple[dict, dict]:
        """Fine-tune (``finetune_steps``, seeded by the job) and score one point: ({"accuracy"}, seconds)."""
        from netadapt.training import evaluate, fine_tune
        from netadapt.training.device import placed, training_device

        seconds = {}
        with placed(training_device(self.train_device), model):
            if self.finetune_steps > 0 and self.train is not None:
                t0 = time.perf_counter()
                fine_tune(model, self.train, self.finetune_steps, seed=job.seed, device=self.train_device,
                          **self.finetune)
                seconds["finetune"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            accuracy = evaluate(model, self.holdout)
            seconds["score"] = time.perf_counter() - t0
        return {"accuracy": accuracy}, seconds


def point_job(group: str, count: int, seed: int) -> CandidateJob:
    """The job of ``group`` pruned to ``count`` channels (the rest of the network as it is)."""
    return CandidateJob(group=group, channels=count, predicted_ms=float("nan"), origin=[], network={group: count},
                        overrides={}, seed=seed, bn_seed=seed)
