"""Latency of whole networks from the lookup table of the nodes their device runs."""

from netadapt.latency.estimator import LatencyEstimator
from netadapt.latency.grid import channel_grid, group_grid, visitable_configs

__all__ = ["LatencyEstimator", "channel_grid", "group_grid", "visitable_configs"]
