"""A rewinder decides which weights a pruned candidate starts its fine-tune from."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch.nn as nn


class Rewinder(ABC):
    """Called on every candidate after pruning, before its short-term fine-tune.

    ``origin`` maps each group to the indices, in the ORIGINAL network, of the channels the candidate
    keeps, so weights saved for the unpruned network can be carried over to the pruned one.
    """

    name: str = "base"

    @abstractmethod
    def apply(self, candidate: nn.Module, origin: dict[str, list[int]]) -> dict:
        """Modify ``candidate`` in place; return fine-tune overrides (e.g. a learning-rate schedule)."""


class NoRewind(Rewinder):
    """Keep the pruned weights as they are (the NetAdapt default)."""

    name = "none"

    def apply(self, candidate, origin):
        return {}
