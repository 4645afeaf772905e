"""Settings of ``netadapt prune``: which ratios, in how many rounds, and where the pruned checkpoint goes."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting
from netadapt.errors import UserError


@dataclass(frozen=True)
class PruneSettings:
    """Exactly one of ``ratios`` (a ratios.json) and ``target`` (one fraction for every group)."""

    ratios: str | None = setting(None, "ratios.json from `netadapt sensitivity` ({group: fraction of channels to "
                                       "remove}).", file=True, exists=True)
    target: float | None = setting(None, "Remove this fraction of every group's channels instead (uniform "
                                         "pruning).", low=0, high=1, high_open=True)
    steps: int = setting(1, "Rounds of prune + fine-tune (1: one shot).", low=1)
    criterion: str = setting("l2", "Which channels stay: l2, l1, bn_scale, taylor, random.")
    output: str | None = setting(None, "Where to write the pruned checkpoint (a JSON report is written beside it).",
                                 required=True, file=True, short="o")

    def __post_init__(self):
        check(self)
        if (self.ratios is None) == (self.target is None):
            raise UserError("give exactly one of --ratios FILE and --target FRACTION")
