"""Settings of the commands that start from a trained checkpoint (``netadapt sensitivity``, ``netadapt prune``):
the checkpoint and data they load, and the short fine-tune they may give a pruned network."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class StartSettings:
    """The trained checkpoint and the data set a command starts from."""

    model: str | None = setting(None, "Expected zoo name or package.module:factory (default: the checkpoint's).")
    checkpoint: str | None = setting(None, "Trained checkpoint (netadapt train).", required=True, file=True)
    data: str = setting("digits", "digits, synthetic, cifar10:<dir> or imagefolder:<dir>.")
    holdout: float = setting(0.1, "Holdout carved from the training data (fraction or count); never the test set.",
                             low=0)
    seed: int = setting(0, "Seed for splits and fine-tuning.")

    def __post_init__(self):
        check(self)


@dataclass(frozen=True)
class ShortFineTune:
    """Plain SGD after pruning (no schedule, no distillation): how ``sensitivity`` and ``prune`` recover."""

    finetune_steps: int = setting(0, "SGD iterations after pruning (0: none).", low=0)
    lr: float = setting(0.01, "Fine-tune learning rate.", low=0, low_open=True)
    batch_size: int = setting(64, "Fine-tune batch size.", low=1)

    def __post_init__(self):
        check(self)

    def as_kwargs(self, augment) -> dict:
        """The ``finetune`` keywords of ``netadapt.sensitivity.scan`` and ``netadapt.iterative.iterative_prune``."""
        return {"lr": self.lr, "batch_size": self.batch_size, "augment": augment}
