"""Physical channel removal: the network really gets smaller, with every dependent layer updated.

torch-pruning's dependency graph does the surgery (it follows residual additions, depthwise
convolutions, batch-norm and flattening into the classifier); netadapt's own channel analysis says
which groups exist and checks afterwards that the result has exactly the intended channel counts.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch_pruning as tp

from netadapt.errors import UserError
from netadapt.pruning.graph import NetworkGraph, analyze


def _prune_fn(module: nn.Module):
    if isinstance(module, nn.Conv2d):
        return tp.prune_conv_out_channels
    if isinstance(module, nn.Linear):
        return tp.prune_linear_out_channels
    raise UserError(f"cannot prune the outputs of {type(module).__name__}")


def keep_channels(model: nn.Module, graph: NetworkGraph, keep: dict[str, Sequence[int]]) -> NetworkGraph:
    """Keep only the given channel indices of each named group, in place.

    Args:
        model: the network (modified in place).
        graph: its analysis at the current channel counts (from ``analyze``).
        keep: group name -> indices to keep (any order; stored sorted).

    Returns:
        The analysis of the pruned network, checked against the requested counts.
    """
    expected = graph.sizes()
    modules = dict(model.named_modules())
    was_training = model.training
    model.eval()
    example = torch.zeros(graph.input_shape)
    dep = tp.DependencyGraph().build_dependency(model, example_inputs=example)
    for name, idxs in keep.items():
        group = graph.groups.get(name)
        if group is None:
            raise UserError(f"unknown channel group {name!r}; groups: {', '.join(graph.groups)}")
        kept = sorted(set(int(i) for i in idxs))
        if not kept or kept[0] < 0 or kept[-1] >= group.size:
            raise UserError(f"group {name}: indices to keep must be within 0..{group.size - 1}, "
                            f"and at least one")
        if len(kept) == group.size:
            continue
        drop = [i for i in range(group.size) if i not in set(kept)]
        producer = modules[group.producers[0]]
        pg = dep.get_pruning_group(producer, _prune_fn(producer), idxs=drop)
        pg.prune()
        expected[name] = len(kept)
    model.train(was_training)
    result = analyze(model, graph.input_shape)
    got = result.sizes()
    if got != expected:
        diff = {k: (expected.get(k), got.get(k)) for k in set(expected) | set(got)
                if expected.get(k) != got.get(k)}
        raise RuntimeError(f"channel removal gave unexpected counts (expected, got): {diff}")
    return result


def apply_channels(model: nn.Module, input_shape: tuple[int, ...], channels: dict[str, int]) -> NetworkGraph:
    """Shrink ``model`` to a stored channel configuration by keeping each group's first channels.

    Used to rebuild a pruned architecture before loading its saved weights, so which channels are
    kept does not matter here.
    """
    graph = analyze(model, input_shape)
    keep = {}
    for name, n in channels.items():
        if name not in graph.groups:
            raise UserError(f"checkpoint names channel group {name!r}, which this architecture "
                            f"does not have (groups: {', '.join(list(graph.groups)[:8])}...)")
        if not 1 <= int(n) <= graph.groups[name].size:
            raise UserError(f"checkpoint asks for {n} channels in {name!r}, which has "
                            f"{graph.groups[name].size}")
        keep[name] = range(int(n))
    return keep_channels(model, graph, keep)
