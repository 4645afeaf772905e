"""Built-in rewinders and third-party ones from the ``netadapt.rewinders`` entry-point group."""

from __future__ import annotations

from netadapt.plugins import Registry
from netadapt.rewinding import lottery
from netadapt.rewinding.base import NoRewind, Rewinder

REWINDERS: Registry[Rewinder] = Registry("rewinder", "netadapt.rewinders")
REWINDERS.register("none")(lambda **context: NoRewind())
lottery.register(REWINDERS)  # lottery, lr_rewind


def list_rewinders(pattern: str = "*") -> list[str]:
    return REWINDERS.names(pattern)


def create_rewinder(name: str, **context) -> Rewinder:
    """``context`` carries what a rewinder may need: the base spec, checkpoint, input shape, run folder."""
    return REWINDERS.create(name, **context)
