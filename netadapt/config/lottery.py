"""Settings of one lottery experiment (``netadapt lottery``'s options, declared once)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from netadapt.config.fields import check, setting
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
