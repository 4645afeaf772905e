"""Settings of ``netadapt verify``: which model of a run folder is timed again, and for how long at most."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, same_as, setting
from netadapt.config.table import TableSettings
from netadapt.errors import UserError


@dataclass(frozen=True)
class VerifySettings:
    """A run folder's model, timed again against its starting model on the run's device."""

    run_dir: str | None = setting(None, "A netadapt run folder.", required=True, folder=True, exists=True,
                                  argument=True)
    model: str = setting("final", "What to measure: final, or an iteration number.")
    max_pairs: int | None = setting(None, "Most pairs of runs to time before giving up on a decision (default: as "
                                          "many as a run's final measurement takes near the line; a decision "
                                          "usually comes far sooner).", low=6)
    lut: str | None = same_as(TableSettings, "lut", help="Not read: verify times the run's exported models "
                                                           "themselves (taken so that scripts passing it run).")

    def __post_init__(self):
        check(self)
        if self.model != "final" and not (self.model.isascii() and self.model.isdigit()):
            raise UserError(f"model must be final or an iteration number, not {self.model!r}")
