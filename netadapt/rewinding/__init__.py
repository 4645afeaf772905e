"""Rewinding plug-ins: the weights a pruned candidate starts its fine-tune from."""

from netadapt.rewinding.base import NoRewind, Rewinder
from netadapt.rewinding.registry import create_rewinder, list_rewinders

__all__ = ["NoRewind", "Rewinder", "create_rewinder", "list_rewinders"]
