"""Settings of one lottery experiment (``netadapt lottery``'s options, declared once)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from netadapt.config.fields import check, same_as, setting
from netadapt.config.source import DataSource
from netadapt.config.train import TrainConfig

SCOPES = ("global", "layer")
CONTROLS = ("random-reinit", "none")


@dataclass(frozen=True)
class LotteryConfig:
    """One lottery experiment: ``netadapt lottery``'s options (with ``train``'s epochs, lr, batch size, seed)."""

    rounds: int = setting(5, "Pruning rounds after the dense run.", low=0)
    rate: float = setting(0.2, "Fraction of the surviving weights removed per round.", low=0, low_open=True, high=1,
                          high_open=True)
    rewind_iteration: int = setting(0, "Reset survivors to their values at this training iteration (0: the "
                                       "original init).", flag="rewind-iter", low=0)
    scope: str = setting("global", "Rank magnitudes over all layers, or prune every layer by --rate.",
                         choices=SCOPES)
    control: str = setting("random-reinit", "Also train a random re-initialisation under the same mask.",
                           choices=CONTROLS)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self):
        check(self)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LotteryRun:
    """The images a lottery experiment trains on (the whole training split: no holdout) and where it writes;
    none of it is stored with the experiment's settings (``LotteryConfig``)."""

    data: str = same_as(DataSource, "data")
    train_limit: int | None = same_as(DataSource, "train_limit", low=2)
    out: str = setting("lottery", "Folder for lottery.csv, lottery.png and per-round state; re-run to resume.",
                       folder=True)

    def __post_init__(self):
        check(self)
