"""Settings of ``netadapt profile``: which networks' nodes go into the table, and how each node is timed."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting
from profilers.base import NODE_WARMUP

SCOPES = ("first-iteration", "grid")


@dataclass(frozen=True)
class ProfileSettings:
    """What ``netadapt profile`` measures (its options, declared once)."""

    model: str = setting("mobilenet_v1", "Zoo name or package.module:factory.")
    checkpoint: str | None = setting(None, "Profile the (possibly pruned) model stored in this checkpoint instead.",
                                     file=True)
    input_shape: str | None = setting(None, "Input shape, e.g. 1x3x32x32 (default: the model's default input at "
                                            "the batch `netadapt run` measures by default, 32).", metavar="NxCxHxW")
    channel_step: int = setting(8, "Channel counts on multiples of this step are profiled.", low=1, high=4096)
    scope: str = setting("first-iteration", "first-iteration: the networks the first NetAdapt iteration looks at "
                                            "(with run's default schedule); grid: every count on the grid, one "
                                            "group at a time.", choices=SCOPES)
    warmup: int = setting(NODE_WARMUP, "Untimed runs before each node's timed runs (two give the same medians as "
                                       "ten).", low=0, high=10_000)
    repeats: int = setting(50, "Timed runs per node.", low=1, high=100_000)
    force: bool = setting(False, "Measure again what the table already holds.")
    limit: int | None = setting(None, "Measure at most this many missing nodes (the rest on a later run).", low=1)
    no_progress: bool = setting(False, "Hide the progress bar.")

    def __post_init__(self):
        check(self)
