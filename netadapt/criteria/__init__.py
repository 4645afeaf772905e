"""Pruning criteria: which channels of a group stay."""

from netadapt.criteria.base import Criterion
from netadapt.criteria.registry import create_criterion, list_criteria

__all__ = ["Criterion", "create_criterion", "list_criteria"]
