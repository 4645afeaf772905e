"""Lottery-ticket weight rewinding for structured pruning (Frankle et al., 2019/2020).

A candidate's surviving channels get back their weights from iteration k of the original training
(``rewind_<k>.pt``): the unpruned architecture is built, loaded with those weights and cut down to
the candidate's channels by the origin indices (which channels of the ORIGINAL network each group
keeps); its state, batch-norm statistics included, is then copied into the candidate. The fine-tune
replays the learning-rate schedule from k (see :mod:`netadapt.rewinding.lr_rewind`).

The origin indices must refer to the network the rewind weights were saved for: start the run from
the unpruned checkpoint of that training.
"""

from __future__ import annotations

from netadapt.errors import UserError
from netadapt.rewinding.base import Rewinder
from netadapt.rewinding.lr_rewind import LrRewinder, find_rewind_file, read_rewind, replay_overrides


class LotteryRewinder(Rewinder):
    """Reset the surviving weights to iteration k; fine-tune with the schedule from k.

    Args:
        spec: the model spec of the unpruned network.
        input_shape: the (N, C, H, W) shape the network is analysed at.
        rewind: path of ``rewind_<k>.pt`` (default: the only one beside ``config.checkpoint``).
        config: the run's settings (for the checkpoint's folder).
    """

    name = "lottery"

    def __init__(self, spec=None, input_shape=None, rewind=None, config=None, **context):
        if spec is None or input_shape is None:
            raise UserError("the lottery rewinder needs the model spec and the input shape")
        self.spec = spec
        self.input_shape = tuple(input_shape)
        self.path = find_rewind_file(rewind, config)
        saved = read_rewind(self.path)
        self.iteration = int(saved.get("iteration", -1))
        self.state = saved["state_dict"]
        self.overrides = replay_overrides(self.path, saved)

    def rewound(self, origin: dict[str, list[int]]):
        """The unpruned network at iteration k, cut down to the channels ``origin`` keeps."""
        from netadapt.checkpoint import load_weights
        from netadapt.pruning import analyze, keep_channels

        base = self.spec.build()
        try:
            load_weights(base, self.state)
        except RuntimeError as exc:
            raise UserError(f"rewind file {self.path} does not fit the unpruned {self.spec.name}") from exc
        graph = analyze(base, self.input_shape, validate=False)
        keep_channels(base, graph, origin)
        return base

    def apply(self, candidate, origin):
        base = self.rewound(origin)
        try:
            candidate.load_state_dict(base.state_dict())
        except RuntimeError as exc:
            raise UserError(f"rewound weights do not fit the candidate (origin indices of another network?): "
                            f"{str(exc).splitlines()[0]}") from exc
        return dict(self.overrides)


def register(registry) -> None:
    """Register the rewinders of this module and of :mod:`lr_rewind` into ``registry``."""
    registry.register("lottery")(lambda **context: LotteryRewinder(**context))
    registry.register("lr_rewind")(lambda **context: LrRewinder(**context))
