"""The NetAdapt algorithm: budgets, reduction schedules and the iteration loop."""

from netadapt.algorithm.budget import Budget, parse_budget
from netadapt.algorithm.schedule import ReductionSchedule

__all__ = ["Budget", "ReductionSchedule", "parse_budget"]
