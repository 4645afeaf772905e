"""The uniform width-multiplier baseline that NetAdapt's non-uniform pruning is compared with."""

from netadapt.baseline.build import (between_dir, build_between_points, build_uniform_baseline, build_wider_point,
                                     choose_iterations, point_dir, wider_dir)
from netadapt.baseline.compare import bracket, interpolate, latency_at_accuracy, latency_ratio
from netadapt.baseline.uniform import uniform_channels, uniform_prune

__all__ = ["between_dir", "bracket", "build_between_points", "build_uniform_baseline", "build_wider_point",
           "choose_iterations", "interpolate", "latency_at_accuracy", "latency_ratio", "point_dir", "uniform_channels",
           "uniform_prune", "wider_dir"]
