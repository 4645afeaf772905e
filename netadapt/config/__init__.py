"""A run's settings: dataclasses that the library takes, the run folder stores and the command line is made of."""

from netadapt.config.budget import Budget, parse_budget
from netadapt.config.run import ExecutionConfig, FineTuneConfig, RunConfig
from netadapt.config.schedule import ReductionSchedule

__all__ = ["Budget", "ExecutionConfig", "FineTuneConfig", "ReductionSchedule", "RunConfig", "parse_budget"]
