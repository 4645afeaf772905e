"""Apply per-group prune ratios physically: in one shot, or in k rounds of prune + short fine-tune.

Round r of k brings every group to ``kept_for(original group, ratio * r / k)`` channels, so each
round removes an equal share of what is to go; the criterion ranks channels in the network as it is
after the previous round's fine-tune.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch.nn as nn

from netadapt.iterative.ratios import count_params, counts_for, kept_for
from netadapt.pruning import analyze, keep_channels
from netadapt.pruning.graph import NetworkGraph


@dataclass
class PruneRound:
    """What one round left: its channels, parameters and accuracies (NaN where not evaluated)."""

    round: int
    channels: dict
    params: int
    finetune_loss: float
    holdout_accuracy: float
    test_accuracy: float
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def prepare_criterion(criterion, model, dataset, batches: int = 4, batch_size: int = 64, seed: int = 0):
    """Give a data-aware criterion (one with ``prepare``) a few training batches of the current model."""
    if not hasattr(criterion, "prepare") or dataset is None:
        return
    from netadapt.data.loader import first_batches

    criterion.prepare(model, first_batches(dataset, batches, batch_size, seed))


def channels_to_keep(model: nn.Module, graph: NetworkGraph, counts: dict[str, int], criterion) -> dict:
    """Group -> the indices of the ``counts[group]`` channels ``criterion`` ranks highest, for each group cut
    below its size (the argument of ``keep_channels``)."""
    return {g: criterion.select(model, graph.groups[g], n) for g, n in counts.items() if n < graph.groups[g].size}


def prune_to_counts(model: nn.Module, input_shape: tuple[int, ...], counts: dict[str, int], criterion,
                    data=None, seed: int = 0, graph: NetworkGraph | None = None) -> NetworkGraph:
    """Shrink ``model`` in place so each group has ``counts[group]`` channels, keeping the ones
    ``criterion`` ranks highest; ``data`` feeds a data-aware criterion. ``graph`` is the model's analysis
    when the caller has it."""
    graph = graph or analyze(model, input_shape)
    prepare_criterion(criterion, model, data, seed=seed)
    keep = channels_to_keep(model, graph, counts, criterion)
    return keep_channels(model, graph, keep) if keep else graph


def iterative_prune(model: nn.Module, input_shape: tuple[int, ...], ratios: dict[str, float], criterion, *,
                    steps: int = 1, train=None, finetune_steps: int = 0, finetune: dict | None = None,
                    holdout=None, test=None, seed: int = 0,
                    on_round: Callable[[PruneRound], None] | None = None) -> list[PruneRound]:
    """Prune ``model`` in place to ``ratios`` in ``steps`` rounds, each followed by a fine-tune.

    Args:
        model: the trained network (modified in place).
        input_shape: (N, C, H, W) to analyse it at.
        ratios: group -> fraction of its channels to remove (relative to the network as given).
        criterion: ranks channels (see ``netadapt.criteria``).
        steps: rounds; 1 prunes in one shot.
        train: training split for fine-tuning and data-aware criteria.
        finetune_steps: SGD iterations after each round (0: none).
        finetune: further ``fine_tune`` keywords (lr, batch_size, augment, schedule ...).
        holdout: evaluated after each round if given.
        test: evaluated after each round if given.
        seed: fixes the fine-tune data order.
        on_round: called with each round's result as it finishes.

    Returns:
        One :class:`PruneRound` per round; round 0 is the network as given.
    """
    from netadapt.training import evaluate, fine_tune

    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    original = analyze(model, input_shape)
    counts_for(original, ratios)  # checks the group names and ratio range up front

    def evaluated(r, loss, began):
        channels = analyze(model, input_shape, validate=False, frozen=original.frozen).sizes()
        result = PruneRound(round=r, channels=channels, params=count_params(model),
                            finetune_loss=loss,
                            holdout_accuracy=evaluate(model, holdout) if holdout is not None else float("nan"),
                            test_accuracy=evaluate(model, test) if test is not None else float("nan"),
                            seconds=time.perf_counter() - began)
        if on_round is not None:
            on_round(result)
        return result

    rounds = [evaluated(0, float("nan"), time.perf_counter())]
    for r in range(1, steps + 1):
        began = time.perf_counter()
        counts = {g: kept_for(grp, ratios.get(g, 0.0) * r / steps) for g, grp in original.groups.items()}
        current = analyze(model, input_shape, validate=False, frozen=original.frozen)
        prune_to_counts(model, input_shape, counts, criterion, data=train, seed=seed + r, graph=current)
        loss = float("nan")
        if finetune_steps > 0 and train is not None:
            loss = fine_tune(model, train, finetune_steps, seed=seed + r, **(finetune or {}))
        rounds.append(evaluated(r, loss, began))
    return rounds
