"""Settings of ``netadapt models``: which zoo models are listed."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class ModelListing:
    """Zoo models whose names match a glob."""

    pattern: str = setting("*", "A glob over zoo model names (default: all).", argument=True)

    def __post_init__(self):
        check(self)
