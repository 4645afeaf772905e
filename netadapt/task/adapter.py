"""What the NetAdapt loop asks of a task, whatever the task is.

The loop (``netadapt.algorithm.loop``) prunes, measures and selects; everything that depends on what the
network is for goes through a :class:`LoopTask`: where the starting model comes from, how a pruned candidate
is trained and scored, how the final model is fine-tuned, which score ranks candidates. Two implement it: the
user's own :class:`~netadapt.task.Task` (``netadapt.task.user``), and image classification on netadapt's data
sources and zoo (``netadapt.task.classification``), which is what ``netadapt run --model ... --data ...`` builds.
Two parts of a task are objects of their own: how its networks are saved and rebuilt (``task.checkpoints``,
``netadapt.task.checkpoints``) and what the plug-ins that need its data get from it (``task.hooks``,
``netadapt.task.hooks``).

A task object is sent once to every worker process that fine-tunes candidates, so it must pickle (with
cloudpickle) and load its data lazily.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from netadapt.task.checkpoints import CheckpointFormat
from netadapt.task.hooks import PluginHooks


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
        steps: short-term fine-tune steps (None: the run's setting).
    """

    group: str
    channels: int
    predicted_ms: float
    origin: list[int]
    network: dict[str, int]
    overrides: dict
    seed: int
    bn_seed: int
    steps: int | None = None


class LoopTask(ABC):
    """A task as the loop sees it.

    Attributes:
        input_shape: what latency is measured at: a shape, or ``netadapt.inputs.ExampleInputs``.
        deploy: ``deploy(model)``, the module exported and timed (None: the model itself).
        ignore: module names whose output channels are never pruned.
        score_label: how a score is named in messages (``holdout accuracy``, ``score``).
        score_keys: the fields of a candidate's record that its iteration keeps.
        summary_keys: the fields a run's summary lists per iteration.
        needs_start: whether ``start`` wants the start model.
        checkpoints: how the task's networks are saved, loaded and rebuilt in a worker.
        hooks: what the plug-ins that need the task's data get from it.
    """

    input_shape: object = None
    deploy = None
    ignore: tuple[str, ...] = ()
    score_label = "score"
    #: the fields of a candidate's record an iteration keeps, and those a run's summary lists
    score_keys: tuple[str, ...] = ("score", "metrics")
    summary_keys: tuple[str, ...] = ("score",)
    #: whether ``start`` wants the start model (loaded again when a run resumes)
    needs_start = False
    #: where candidates and the final model are trained and scored (a torch device name)
    train_device: str = "cpu"
    #: the task's checkpoint format (each implementation sets its own)
    checkpoints: CheckpointFormat
    #: a task without data of its own refuses the plug-ins that need it
    hooks: PluginHooks = PluginHooks()

    def use_device(self, name: str) -> None:
        """Train and score on ``name`` from now on: a worker's own device, or in the main process the first
        of the devices ``--train-device`` names (``cuda:0,cuda:1`` -> ``cuda:0``)."""
        self.train_device = str(name).split(",")[0].strip()

    # ---- before the run folder exists --------------------------------------------------------------------
    def check(self, log) -> None:
        """Refuse bad input before anything is written (data, model, callables)."""

    @abstractmethod
    def candidate_model(self) -> nn.Module:
        """The network whose groups are analysed before the run starts (the starting model or its
        untrained architecture)."""

    # ---- the run folder ----------------------------------------------------------------------------------
    def prepare_folder(self, out: Path, log) -> None:
        """Record (or, resuming, check) what identifies the task in the run folder."""

    @abstractmethod
    def start_model(self, out: Path, log, progress: bool) -> nn.Module:
        """The network the run starts from (trained here first where the task needs it)."""

    def start(self, model: nn.Module, channels: dict[str, int]) -> None:
        """Told the start model (and its groups' channel counts) once the run has it, e.g. to distil from it."""

    # ---- scoring and training ----------------------------------------------------------------------------
    @abstractmethod
    def scores(self, model: nn.Module) -> dict:
        """The fields an iteration records about its network's quality (the start's, before pruning)."""

    @abstractmethod
    def value(self, info: dict) -> float:
        """The score that ranks candidates, higher is better, from recorded fields."""

    @abstractmethod
    def candidate(self, model: nn.Module, job: CandidateJob) -> tuple[dict, dict]:
        """Fine-tune a pruned candidate in place and score it: (its record, seconds by phase)."""

    @abstractmethod
    def final(self, model: nn.Module, out: Path, progress: bool, log) -> tuple[dict, dict]:
        """Long-term fine-tune the chosen network in place and score it: (recorded fields, seconds)."""

    def describe(self, info: dict) -> str:
        """``holdout accuracy 0.9861``: a record's score for messages."""
        return f"{self.score_label} {self.value(info):.4f}"
