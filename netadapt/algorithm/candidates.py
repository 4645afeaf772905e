"""One candidate's work once it is pruned: short-term fine-tuning, batch-norm re-estimation and its holdout
scores. The main process and every worker call :func:`train_and_score`, so a candidate's result does not
depend on where it ran: each candidate has its own seed, and a worker rebuilds the same network from the
state dict, the model spec and the channel counts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from torch import nn

from netadapt.algorithm.config import RunConfig


@dataclass(frozen=True)
class CandidateJob:
    """A pruned candidate, ready to fine-tune.

    Attributes:
        group: the pruned group.
        channels: the group's channel count after pruning.
        predicted_ms: the candidate's estimated latency.
        origin: the kept channels' indices in the original network.
        network: every group's channel count (what rebuilds the candidate).
        overrides: the rewinder's fine-tune arguments (e.g. a learning rate).
        seed: the fine-tune seed of this candidate.
        bn_seed: the batch-norm re-estimation seed (the same for every candidate of an iteration).
    """

    group: str
    channels: int
    predicted_ms: float
    origin: list[int]
    network: dict[str, int]
    overrides: dict
    seed: int
    bn_seed: int


@dataclass(frozen=True)
class SharedInputs:
    """What every candidate of a run needs besides its own network, in plain data: a worker rebuilds its
    resources from it once.

    Attributes:
        config: the run's settings (the data source and fine-tune settings among them).
        spec: the model spec (``ModelSpec.to_dict()``).
        input_shape: the shape the network's groups were analysed at.
        teacher: the start model's channels and state dict, when distillation or the ``kl`` score needs it.
        train_device: where candidates are fine-tuned and scored (a torch device name).
    """

    config: RunConfig
    spec: dict
    input_shape: tuple[int, ...]
    teacher: tuple[dict, dict] | None = field(default=None, compare=False)  # follows from the rest
    train_device: str = "cpu"


@dataclass
class Resources:
    """The loaded data, the holdout candidates are ranked on, the teacher network (or None), and where
    candidates are fine-tuned and scored."""

    data: object
    holdout: object
    teacher: nn.Module | None
    train_device: str = "cpu"


def run_data(config: RunConfig):
    """The run's data bundle and the holdout that ranks candidates (a seeded subset with ``eval_limit``)."""
    from netadapt.data import load_data
    from netadapt.data.splits import limit

    data = load_data(config.data, holdout=config.holdout, seed=config.split_seed)
    holdout = data.holdout
    if config.eval_limit is not None and config.eval_limit < len(holdout):
        # a random subset: the holdout is in class order for image folders
        holdout = limit(holdout, config.eval_limit, config.seed)
    return data, holdout


def load_resources(shared: SharedInputs) -> Resources:
    """Load what ``shared`` describes (once per worker process)."""
    from netadapt.checkpoint import build_model
    from netadapt.models.spec import ModelSpec

    data, holdout = run_data(shared.config)
    teacher = None
    if shared.teacher is not None:
        channels, state = shared.teacher
        teacher = build_model(ModelSpec.from_dict(shared.spec), shared.input_shape, channels, state)
    return Resources(data, holdout, teacher, shared.train_device)


def train_and_score(model: nn.Module, job: CandidateJob, config: RunConfig, resources: Resources) -> tuple[dict, dict]:
    """Fine-tune the pruned ``model`` in place and score it on the holdout.

    Returns:
        The candidate's record (as the iteration's partial folder stores it), and the seconds spent
        fine-tuning and evaluating.
    """
    from netadapt.training.device import placed, training_device

    with placed(training_device(resources.train_device), model, resources.teacher):
        return _train_and_score(model, job, config, resources)


def _train_and_score(model, job, config, resources):
    from netadapt.training import fine_tune, recalibrate_batchnorm, score

    ft = config.finetune
    seconds = {}
    t0 = time.perf_counter()
    distill = {"teacher": resources.teacher, "distill": ft.distill, "temperature": ft.temperature} \
        if ft.distill > 0 else {}
    kwargs = {"batch_size": ft.batch_size, "lr": ft.short_lr, "seed": job.seed, "augment": resources.data.augment,
              **distill, **job.overrides}
    loss = fine_tune(model, resources.data.train, ft.short_steps, **kwargs)
    t1 = time.perf_counter()
    seconds["finetune"] = t1 - t0
    if config.bn_batches:  # the same batches for every candidate of the iteration
        recalibrate_batchnorm(model, resources.data.train, config.bn_batches, ft.batch_size, seed=job.bn_seed)
    scores = score(model, resources.holdout, reference=resources.teacher if config.score == "kl" else None)
    seconds["evaluate"] = time.perf_counter() - t1
    record = {"group": job.group, "feasible": True, "channels": job.channels, "predicted_ms": job.predicted_ms,
              "holdout_accuracy": scores.accuracy, "holdout_loss": scores.loss, "holdout_kl": scores.kl,
              "finetune_loss": loss, "origin": job.origin}
    return record, seconds


def needs_teacher(config: RunConfig) -> bool:
    """Whether candidates need the start model: as distillation's teacher or the ``kl`` score's reference."""
    return config.finetune.distill > 0 or config.score == "kl"
