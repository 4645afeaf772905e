"""What the pruning plug-ins that need a task's data get from it (``task.hooks``).

A data-aware criterion (``taylor``) is given batches of the current model, HALP's search ranks channels by their
Taylor importance, feature-map reconstruction refits layers on training samples, and a rewinder may need the
run's model spec and rewind point. :class:`PluginHooks` is what a task without data of its own offers (the
plug-ins that need it are refused); :class:`ClassificationHooks` serves them from netadapt's data sources and
:class:`UserHooks` from the user's ``loss`` and ``batches``.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from netadapt.task.calls import invoke

# A HALP step ranks channels on the Taylor scores of this many training batches.
HALP_BATCHES = 8


class PluginHooks:
    """A task's support for plug-ins, where it has no data of its own."""

    def samples(self, count: int, seed: int):
        """``count`` training inputs (a seeded draw) that feature-map reconstruction refits layers on; a task
        without training data of netadapt's own refuses (``FineTuneConfig.reconstruct``)."""
        raise NotImplementedError("this task gives no training samples for reconstruction")

    def prepare_criterion(self, criterion, model: nn.Module, seed: int) -> None:
        """Give a data-aware criterion (one with ``prepare``) batches of the current model."""

    def importance(self, model: nn.Module, groups: dict, seed: int) -> dict:
        """Taylor importance of every channel of ``groups`` (HALP's search)."""
        raise NotImplementedError

    def rewinder(self, name: str, out: Path):
        """The rewinding plug-in ``name`` for this run."""
        from netadapt.rewinding import create_rewinder

        return create_rewinder(name)


class ClassificationHooks(PluginHooks):
    """The plug-ins of a classification run, fed from its training split.

    Args:
        config: the run's settings.
        data: the run's data (``netadapt.task.run_data.RunData``).
        checkpoints: the run's checkpoint format (``ZooCheckpoints``: the model spec and input shape).
    """

    def __init__(self, config, data, checkpoints):
        self.config = config
        self.data = data
        self.checkpoints = checkpoints

    def samples(self, count: int, seed: int):
        from netadapt.data.loader import first_batches

        return first_batches(self.data.bundle.train, 1, count, seed=seed)[0][0]

    def prepare_criterion(self, criterion, model: nn.Module, seed: int) -> None:
        from netadapt.iterative.prune import prepare_criterion

        prepare_criterion(criterion, model, self.data.bundle.train, seed=seed)

    def importance(self, model: nn.Module, groups: dict, seed: int) -> dict:
        from netadapt.criteria.taylor import taylor_scores
        from netadapt.data.loader import first_batches

        return taylor_scores(model, groups, first_batches(self.data.bundle.train, HALP_BATCHES,
                                                          self.config.finetune.batch_size, seed))

    def rewinder(self, name: str, out: Path):
        from netadapt.rewinding import create_rewinder

        return create_rewinder(name, spec=self.checkpoints.spec, input_shape=self.checkpoints.input_shape,
                               run_dir=Path(out), config=self.config, rewind=self._rewind_file(out))

    def _rewind_file(self, out: Path) -> Path | None:
        """The rewind point saved when this run trained its own base model (else the rewinder searches
        beside --checkpoint)."""
        if self.config.checkpoint:
            return None
        found = sorted((Path(out) / "base" / "train").glob("rewind_*.pt"))
        return found[0] if found else None


class UserHooks(PluginHooks):
    """The plug-ins of a user's task, fed from its ``batches`` through its ``loss``.

    Args:
        loss: ``loss(model, batch)``, or None.
        batches: the batches ``loss`` takes, or None.
        input_shape: the example inputs (``netadapt.inputs.ExampleInputs``).
    """

    def __init__(self, loss, batches, input_shape):
        self.loss = loss
        self.batches = batches
        self.input_shape = input_shape

    def prepare_criterion(self, criterion, model: nn.Module, seed: int) -> None:
        if hasattr(criterion, "prepare"):
            criterion.prepare(model, list(self.batches), input_shape=self.input_shape, loss=self._loss)

    def importance(self, model: nn.Module, groups: dict, seed: int) -> dict:
        from netadapt.criteria.taylor import taylor_scores

        return taylor_scores(model, groups, list(self.batches), loss=self._loss)

    def _loss(self, model, batch):
        return invoke("loss", self.loss, model, batch)
