"""A stand-in task for executor tests: each candidate records the device it would train on, the process that
ran it and the GPUs Ray gave it, and trains nothing (no CUDA is touched)."""

from __future__ import annotations

import os
import sys
import time

from torch import nn

from netadapt.task.adapter import CandidateJob, LoopTask
from netadapt.task.checkpoints import CheckpointFormat


def job(i: int) -> CandidateJob:
    return CandidateJob(group=f"g{i}", channels=1, predicted_ms=1.0, origin=[0], network={}, overrides={},
                        seed=i, bn_seed=0)


class LinearCheckpoints(CheckpointFormat):
    """Workers rebuild a one-weight linear layer; nothing is written."""

    def save(self, path, state, channels, extra=None):
        raise NotImplementedError("not used by the executor tests")

    def load(self, path):
        raise NotImplementedError("not used by the executor tests")

    def build(self, channels, state):
        model = nn.Linear(1, 1)
        model.load_state_dict(state)
        return model


class RecordingTask(LoopTask):
    """Candidates take ``seconds`` each, so that every worker gets some."""

    def __init__(self, train_device: str = "cpu", seconds: float = 0.3):
        self.use_device(train_device)
        self.seconds = seconds
        self.checkpoints = LinearCheckpoints()

    def candidate_model(self) -> nn.Module:
        return nn.Linear(1, 1)

    def start_model(self, out, log, progress):
        return nn.Linear(1, 1)

    def scores(self, model):
        return {"score": 0.0}

    def value(self, info):
        return info["score"]

    def candidate(self, model, job):
        time.sleep(self.seconds)
        ray = sys.modules.get("ray")  # imported and initialised in a Ray worker process
        gpus = [str(g) for g in ray.get_gpu_ids()] if ray is not None and ray.is_initialized() else []
        return {"group": job.group, "device": self.train_device, "pid": os.getpid(), "gpus": gpus,
                "score": 0.0}, {"finetune": self.seconds}

    def final(self, model, out, progress, log):
        return {"score": 0.0}, {}
