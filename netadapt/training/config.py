"""Hyperparameters of one training run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from netadapt.errors import UserError

SCHEDULES = ("cosine", "linear", "constant")


def _help(text: str, default):
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class TrainConfig:
    """How to train a model from scratch (or fine-tune it long-term). Every field has help text in its metadata."""

    epochs: int = _help("Passes over the training split.", 30)
    batch_size: int = _help("Images per SGD step.", 128)
    lr: float = _help("Peak learning rate.", 0.1)
    momentum: float = _help("SGD momentum.", 0.9)
    weight_decay: float = _help("L2 weight decay applied by SGD.", 5e-4)
    nesterov: bool = _help("Use Nesterov momentum.", True)
    schedule: str = _help("Learning-rate schedule per iteration: cosine, linear (to zero) or constant.", "cosine")
    warmup_epochs: int = _help("Epochs of linear warm-up from zero before the schedule.", 0)
    seed: int = _help("Fixes the data order and augmentation.", 0)
    rewind_iteration: int | None = _help(
        "Save the weights after this many iterations to rewind_<k>.pt (lottery-ticket rewinding).", None)
    label_smoothing: float = _help("Label smoothing of the cross-entropy loss.", 0.0)
    distill: float = _help("Weight of the distillation term (learning a teacher network's softened outputs; "
                           "0: none). The teacher is passed to train().", 0.0)
    distill_temperature: float = _help("Distillation temperature.", 4.0)

    def __post_init__(self):
        if self.epochs < 1:
            raise UserError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise UserError(f"batch size must be at least 1, got {self.batch_size}")
        if self.lr <= 0:
            raise UserError(f"learning rate must be positive, got {self.lr}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"unknown schedule {self.schedule!r}; valid: {', '.join(SCHEDULES)}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise UserError(f"warm-up epochs must be in [0, epochs), got {self.warmup_epochs}")
        if self.rewind_iteration is not None and self.rewind_iteration < 0:
            raise UserError(f"rewind iteration must be >= 0, got {self.rewind_iteration}")
        if not 0 <= self.label_smoothing < 1:
            raise UserError(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.distill <= 1:
            raise UserError(f"distillation weight must be in [0, 1], got {self.distill}")
        if self.distill_temperature <= 0:
            raise UserError(f"distillation temperature must be positive, got {self.distill_temperature}")

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.distill:  # keeps the settings of runs without distillation as they were stored
            d.pop("distill")
            d.pop("distill_temperature")
        return d
