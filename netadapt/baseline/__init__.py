"""The uniform width-multiplier baseline that NetAdapt's non-uniform pruning is compared with."""

from netadapt.baseline.build import (between_dir, build_between_points, build_uniform_baseline, build_wider_point,
                                     choose_iterations, point_dir, wider_dir)
from netadapt.baseline.compare import bracket, interpolate, latency_at_accuracy, latency_ratio
from netadapt.baseline.fast import FastRounding, fast_counts, round_to_fast
from netadapt.baseline.uniform import uniform_channels, uniform_prune

__all__ = ["FastRounding", "between_dir", "bracket", "build_between_points", "build_uniform_baseline",
           "build_wider_point", "choose_iterations", "fast_counts", "interpolate", "latency_at_accuracy",
           "latency_ratio", "point_dir", "round_to_fast", "uniform_channels", "uniform_prune", "wider_dir"]
