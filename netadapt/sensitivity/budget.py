"""Global budgets for choosing a threshold: parameters, or latency estimated from the lookup table."""

from __future__ import annotations

from typing import Callable

import torch.nn as nn

from netadapt.errors import UserError
from netadapt.iterative.ratios import count_params, counts_for, params_at
from netadapt.pruning import analyze, shrunk_copy


def params_cost(model: nn.Module, input_shape: tuple[int, ...]) -> Callable[[dict[str, float]], float]:
    """ratios -> parameter count of the pruned network."""
    graph = analyze(model, input_shape)
    return lambda ratios: float(params_at(model, graph, counts_for(graph, ratios)))


def params_target(model: nn.Module, fraction: float) -> float:
    """``fraction`` (in (0, 1)) of the model's parameters, the most a pruned network may keep."""
    if not 0 < fraction < 1:
        raise UserError(f"--target-params is the fraction of parameters to keep, in (0, 1); got {fraction}")
    return fraction * count_params(model)


def latency_cost(model: nn.Module, input_shape: tuple[int, ...], device, lut: str | None = None,
                 warmup: int = 10, repeats: int = 50):
    """ratios -> table latency (ms) of the pruned network on ``device`` (a ``devices.Device``, checked to run
    here: ``devices.usable_device``), measuring missing nodes there.

    Returns:
        (cost function, the unpruned network's table latency in ms).
    """
    from lut.table import LatencyTable
    from netadapt.latency.estimator import LatencyEstimator
    from profilers import ProfileConfig, get_profiler

    profiler = get_profiler(device, ProfileConfig(warmup=warmup, repeats=repeats))
    estimator = LatencyEstimator(LatencyTable(lut), device, profiler)
    graph = analyze(model, input_shape)

    def cost(ratios):
        return estimator.total(shrunk_copy(model, graph, counts_for(graph, ratios)), input_shape)

    return cost, estimator.total(model, input_shape)
