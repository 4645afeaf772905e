"""The start model as a classification run's teacher: what distillation learns from and the ``kl`` score
compares with.

The main process keeps the start model itself; a worker process is sent its channel counts and weights instead,
and rebuilds it the first time it is asked.
"""

from __future__ import annotations

import copy

from torch import nn

from netadapt.config.run import RunConfig


def needs_teacher(config: RunConfig) -> bool:
    """Whether candidates need the start model: as distillation's teacher or the ``kl`` score's reference."""
    return config.finetune.distill > 0 or config.score == "kl"


class StartTeacher:
    """The start model, once the run has it.

    Args:
        checkpoints: the run's checkpoint format, which rebuilds the model in a worker.
    """

    def __init__(self, checkpoints):
        self.checkpoints = checkpoints
        self._model = None
        self._state = None  # (channels, state dict): how a worker rebuilds the teacher

    def keep(self, model: nn.Module, channels: dict[str, int]) -> None:
        """Keep (a copy of) the start model, whose groups have these channel counts."""
        self._model = copy.deepcopy(model).eval()
        self._state = (dict(channels), {k: v.clone() for k, v in model.state_dict().items()})

    def model(self) -> nn.Module | None:
        """The start model (None before ``keep``)."""
        if self._model is None and self._state is not None:
            channels, state = self._state
            self._model = self.checkpoints.build(channels, state)
        return self._model

    def __getstate__(self):
        return {**self.__dict__, "_model": None}  # a worker makes its own
