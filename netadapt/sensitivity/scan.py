"""The scan: for every group and ratio, prune only that group of a copy of the network and measure the
holdout accuracy (optionally after a few fine-tune steps; by default none, as in the lecture)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch.nn as nn

from netadapt.iterative.prune import prepare_criterion, prune_to_counts
from netadapt.iterative.ratios import kept_for
from netadapt.pruning import analyze


@dataclass(frozen=True)
class SensitivityRow:
    """One point of the scan: ``group`` pruned by ``ratio`` to ``channels``, the rest untouched."""

    group: str
    ratio: float
    channels: int
    accuracy: float
    drop: float  # baseline accuracy minus this accuracy (positive: worse)

    def to_dict(self) -> dict:
        return asdict(self)


def scan(model: nn.Module, input_shape: tuple[int, ...], holdout, ratios: list[float], criterion, *,
         train=None, finetune_steps: int = 0, finetune: dict | None = None, seed: int = 0,
         progress: bool = False) -> tuple[float, list[SensitivityRow]]:
    """Scan every prunable group of ``model`` at every ratio.

    Args:
        model: the trained network (not modified).
        input_shape: (N, C, H, W) to analyse it at.
        holdout: the data the accuracy is measured on (a holdout, not the test set).
        ratios: fractions of a group's channels to remove; 0 is the unpruned network.
        criterion: which channels stay (a data-aware one is prepared on ``train``).
        train: training split, for fine-tuning and data-aware criteria.
        finetune_steps: SGD iterations after pruning each point (0: none).
        finetune: further ``fine_tune`` keywords.
        seed: fixes fine-tune order.
        progress: show a progress bar.

    Returns:
        The baseline accuracy and one row per (group, ratio), groups in network order.
    """
    from tqdm.auto import tqdm

    from netadapt.training import evaluate, fine_tune

    graph = analyze(model, input_shape)
    baseline = evaluate(model, holdout)
    prepare_criterion(criterion, model, train, seed=seed)  # data-aware scores, once: copies share them
    rows = []
    points = [(g, r) for g in graph.groups for r in sorted(set(ratios))]
    for g, r in tqdm(points, desc="sensitivity", disable=not progress, leave=False):
        size = graph.groups[g].size
        n = kept_for(graph.groups[g], r)
        if n == size:
            rows.append(SensitivityRow(g, r, n, baseline, 0.0))
            continue
        pruned = copy.deepcopy(model)
        prune_to_counts(pruned, input_shape, {g: n}, criterion, graph=graph)
        if finetune_steps > 0 and train is not None:
            fine_tune(pruned, train, finetune_steps, seed=seed, **(finetune or {}))
        acc = evaluate(pruned, holdout)
        rows.append(SensitivityRow(g, r, n, acc, baseline - acc))
    return baseline, rows
