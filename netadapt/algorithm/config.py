"""Deprecated: a run's settings live in ``netadapt.config`` (``from netadapt.config import RunConfig``)."""

import warnings

from netadapt.config.run import (OPTION_NAMES, SCORES, ExecutionConfig, FineTuneConfig, RunConfig, as_options,
                                 to_toml)

__all__ = ["ExecutionConfig", "FineTuneConfig", "OPTION_NAMES", "RunConfig", "SCORES", "as_options", "to_toml"]

warnings.warn("netadapt.algorithm.config is deprecated: import RunConfig and its parts from netadapt.config",
              DeprecationWarning, stacklevel=2)
