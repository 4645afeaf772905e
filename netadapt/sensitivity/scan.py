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
         progress: bool = False, workers: int = 1, executor: str = "local",
         ray_address: str | None = None) -> tuple[float, list[SensitivityRow]]:
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
        workers, executor, ray_address: score this many points at once, in worker processes or on a Ray
            cluster (``netadapt.algorithm.executors``): the same points, seeds and steps; a worker fine-tunes
            with its share of the torch threads, which may round differently from one process.

    Returns:
        The baseline accuracy and one row per (group, ratio), groups in network order.
    """
    from tqdm.auto import tqdm

    from netadapt.algorithm.executors import create_executor
    from netadapt.sensitivity.points import ScanTask, point_job
    from netadapt.training import evaluate

    graph = analyze(model, input_shape)
    baseline = evaluate(model, holdout)
    prepare_criterion(criterion, model, train, seed=seed)  # data-aware scores, once: copies share them
    points = [(g, r) for g in graph.groups for r in sorted(set(ratios))]
    counts = {(g, r): kept_for(graph.groups[g], r) for g, r in points}
    cut = [(g, r) for g, r in points if counts[(g, r)] < graph.groups[g].size]

    def pruned_points():  # pruned here, in order, as the executor asks for them
        for g, r in cut:
            pruned = copy.deepcopy(model)
            prune_to_counts(pruned, input_shape, {g: counts[(g, r)]}, criterion, graph=graph)
            yield point_job(g, counts[(g, r)], seed), pruned

    task = ScanTask(model, input_shape, holdout, train, finetune_steps if train is not None else 0, finetune)
    pool = create_executor(executor, workers, ray_address, task=task)
    accuracy = {}
    try:
        with tqdm(total=len(cut), desc="sensitivity", disable=not progress, leave=False) as bar:
            for job, record, _, _ in pool.map(pruned_points(), task):
                accuracy[(job.group, job.channels)] = record["accuracy"]
                bar.update()
    finally:
        pool.close()
    rows = []
    for g, r in points:
        n = counts[(g, r)]
        acc = accuracy.get((g, n), baseline)  # a ratio that keeps every channel is the unpruned network
        rows.append(SensitivityRow(g, r, n, acc, 0.0 if n == graph.groups[g].size else baseline - acc))
    return baseline, rows
