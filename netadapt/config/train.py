"""Hyperparameters of one training run."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from netadapt.config.fields import check, setting
from netadapt.errors import UserError

SCHEDULES = ("cosine", "linear", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """How to train a model from scratch (or fine-tune it long-term): ``netadapt train``'s options."""

    epochs: int = setting(30, "Passes over the training split.", low=1)
    batch_size: int = setting(128, "Images per SGD step.", low=1)
    lr: float = setting(0.1, "Peak learning rate.", low=0, low_open=True)
    momentum: float = setting(0.9, "SGD momentum.", low=0)
    weight_decay: float = setting(5e-4, "L2 weight decay applied by SGD.", low=0)
    nesterov: bool = setting(True, "Use Nesterov momentum.")
    schedule: str = setting("cosine", "Learning-rate schedule per iteration: cosine, linear (to zero) or "
                                      "constant.", choices=SCHEDULES)
    warmup_epochs: int = setting(0, "Epochs of linear warm-up from zero before the schedule.", low=0)
    seed: int = setting(0, "Fixes the data order and augmentation.")
    rewind_iteration: int | None = setting(None, "Save the weights after this many iterations to rewind_<k>.pt "
                                                 "(lottery-ticket rewinding).", low=0)
    label_smoothing: float = setting(0.0, "Label smoothing of the cross-entropy loss.", low=0, high=1,
                                     high_open=True)
    distill: float = setting(0.0, "Weight of the distillation term (learning a teacher network's softened "
                                  "outputs; 0: none). The teacher is passed to train().", low=0, high=1)
    distill_temperature: float = setting(4.0, "Distillation temperature.", low=0, low_open=True)

    def __post_init__(self):
        check(self)
        if self.warmup_epochs >= self.epochs:
            raise UserError(f"warmup_epochs must be below epochs ({self.epochs}), not {self.warmup_epochs}")

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.distill:  # keeps the settings of runs without distillation as they were stored
            d.pop("distill")
            d.pop("distill_temperature")
        return d


@dataclass(frozen=True)
class TrainOutput:
    """Where ``netadapt train`` writes, and how it runs (none of it changes the trained weights)."""

    out: str | None = setting(None, "Output folder: last.pt (resume), rewind_<k>.pt, model.pt, train.json.",
                              required=True, folder=True)
    resume: bool = setting(True, "Continue from OUT/last.pt when it exists.")
    train_device: str = setting("cpu", "Where the SGD steps run (PyTorch: cpu, cuda, cuda:1). A run may resume on "
                                       "another.")
    no_progress: bool = setting(False, "No progress bar.")

    def __post_init__(self):
        check(self)
