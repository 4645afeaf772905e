"""Latency of whole networks from the per-layer lookup table."""

from netadapt.latency.estimator import LatencyEstimator
from netadapt.latency.grid import channel_grid, visitable_signatures

__all__ = ["LatencyEstimator", "channel_grid", "visitable_signatures"]
