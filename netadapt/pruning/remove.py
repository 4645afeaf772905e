"""Physical channel removal: the network really gets smaller, with every dependent layer updated.

torch-pruning's dependency graph does the surgery. Where a group's channels leave in equal numbers
from several blocks (a grouped convolution, attention heads), the same positions leave every block, so
each block keeps its structure. After the surgery, an integer attribute that recorded the group's width
on the module holding the whole group (a vision transformer's ``hidden_dim``) is updated with it.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from netadapt.errors import UserError
from netadapt.inputs import trace_args
from netadapt.pruning.dependency import buffers_kept, build_graph
from netadapt.pruning.graph import ChannelGroup, NetworkGraph, analyze
from netadapt.pruning.heads import update_heads, whole_heads

# Width attributes a model may keep beside its layers (e.g. torchvision's VisionTransformer.hidden_dim).
_WIDTH_ATTRS = ("hidden_dim", "embed_dim", "dim", "num_features", "width", "channels")


def block_positions(group: ChannelGroup, kept: Sequence[int]) -> list[int]:
    """Check that ``kept`` keeps the same positions in every block of a group with ``multiple`` > 1.

    Returns:
        The kept positions inside one block.

    Raises:
        UserError: the indices differ between blocks.
    """
    block = group.size // group.multiple
    per_block = [sorted(i - b * block for i in kept if b * block <= i < (b + 1) * block)
                 for b in range(group.multiple)]
    if any(p != per_block[0] for p in per_block):
        raise UserError(f"group {group.name}: the kept channels must be the same positions in each of its "
                        f"{group.multiple} blocks of {block} (a grouped convolution or attention heads)")
    return per_block[0]


def expand_positions(group: ChannelGroup, positions: Sequence[int]) -> list[int]:
    """The channel indices that keep ``positions`` in every block of the group."""
    block = group.size // group.multiple
    return sorted(b * block + p for b in range(group.multiple) for p in positions)


def _common_prefix(names: list[str]) -> str:
    parts = [n.split(".")[:-1] for n in names]
    prefix = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        prefix.append(level[0])
    return ".".join(prefix)


def _update_width_attrs(model: nn.Module, members: list[str], old: int, new: int) -> None:
    owner_name = _common_prefix([m.rsplit(":", 1)[0] for m in members])
    owner = model.get_submodule(owner_name) if owner_name else model
    if isinstance(owner, (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm, nn.LayerNorm)):
        return
    for attr in _WIDTH_ATTRS:
        if isinstance(getattr(owner, attr, None), int) and not isinstance(getattr(owner, attr), bool) \
                and getattr(owner, attr) == old:
            setattr(owner, attr, new)


def remove_channels(model: nn.Module, graph: NetworkGraph, keep: dict[str, Sequence[int]], dg=None,
                    before=None) -> None:
    """Keep only the given channel indices of each named group, in place, without re-analysing.

    Args:
        model: the network (modified in place).
        graph: its analysis.
        keep: group name -> indices to keep.
        dg: its dependency graph, if already built.
        before: called as ``before(dg, torch_pruning_group)`` before each group is pruned.
    """
    modules = dict(model.named_modules())
    dg = dg or build_graph(model, graph.input_shape)
    for name, idxs in keep.items():
        group = graph.groups.get(name)
        if group is None:
            known = ", ".join(graph.groups) if name not in graph.frozen else ""
            why = f"frozen ({graph.frozen[name]})" if name in graph.frozen else f"unknown; groups: {known}"
            raise UserError(f"channel group {name!r} cannot be pruned: {why}")
        kept = sorted(set(int(i) for i in idxs))
        if not kept or kept[0] < 0 or kept[-1] >= group.size:
            raise UserError(f"group {name}: indices to keep must be within 0..{group.size - 1}, and at least one")
        if len(kept) == group.size:
            continue
        if group.multiple > 1:
            block_positions(group, kept)
        if group.head_size > 1:
            try:
                whole_heads(kept, group.head_size)
            except ValueError as exc:
                raise UserError(f"group {name}: {exc}") from exc
        keep_set = set(kept)
        drop = [i for i in range(group.size) if i not in keep_set]
        root = modules[group.name]
        pruner = dg.get_pruner_of_module(root)
        pg = dg.get_pruning_group(root, pruner.prune_out_channels, idxs=drop)
        if not dg.check_pruning_group(pg):
            raise UserError(f"group {name}: removing {len(drop)} of {group.size} channels would empty a layer")
        if before is not None:
            before(dg, pg)
        pg.prune()
        _update_width_attrs(model, group.members, group.size, len(kept))
        if group.attention is not None:
            update_heads(model, group.attention, group.size, len(kept), group.head_size)


def keep_channels(model: nn.Module, graph: NetworkGraph, keep: dict[str, Sequence[int]],
                  check: bool = True) -> NetworkGraph | None:
    """Keep only the given channel indices of each named group, in place.

    Args:
        model: the network (modified in place).
        graph: its analysis at the current channel counts (from ``analyze``).
        keep: group name -> indices to keep (any order; stored sorted).
        check: analyse the pruned network and check its counts (``checked_analysis``). Without the check
            the network is only run forward once (a layer left at the wrong width fails there): an
            analysis costs a traced forward pass and an index walk per group, seconds for a network with
            channel shuffles, while the loop needs it only for the candidate it keeps.

    Returns:
        With ``check``, the analysis of the pruned network (frozen groups carried over); else None.

    Raises:
        RuntimeError: the pruned network does not run, or (with ``check``) its counts are not those asked for.
    """
    expected = expected_counts(graph, keep) if check else None
    was_training = model.training
    try:
        remove_channels(model, graph, keep)
    finally:
        model.train(was_training)
    if check:
        return checked_analysis(model, graph.input_shape, expected, graph.frozen)
    runs_forward(model, graph.input_shape)
    return None


def expected_counts(graph: NetworkGraph, keep: dict[str, Sequence[int]]) -> dict[str, int]:
    """Every group's channel count once ``keep`` is applied to the network ``graph`` analysed."""
    expected = graph.sizes()
    for name, idxs in keep.items():
        expected[name] = len({int(i) for i in idxs})
    return expected


def checked_analysis(model: nn.Module, input_shape, expected: dict[str, int],
                     frozen: dict[str, str] | None = None) -> NetworkGraph:
    """``model``'s analysis, checked to hold every group of ``expected`` at its count.

    Raises:
        RuntimeError: a group is missing, new, or of another count.
    """
    result = analyze(model, input_shape, validate=False, frozen=frozen)
    check_counts(result, expected)
    return result


def check_counts(graph: NetworkGraph, expected: dict[str, int]) -> None:
    """Check that the network ``graph`` analysed holds every group of ``expected`` at its count.

    Raises:
        RuntimeError: a group is missing, new, or of another count.
    """
    got = graph.sizes()
    if got != expected:
        diff = {k: (expected.get(k), got.get(k)) for k in set(expected) | set(got)
                if expected.get(k) != got.get(k)}
        raise RuntimeError(f"channel removal gave unexpected counts (expected, got): {diff}")


def runs_forward(model: nn.Module, input_shape) -> None:
    """Run ``model`` once on the inputs it is analysed at, in training mode (so branches that only run while
    training are run too), leaving its weights, buffers, mode and the random state as they were."""
    with torch.no_grad(), buffers_kept(model):
        model.train()
        model(*trace_args(input_shape))


def first_channels(group: ChannelGroup, count: int) -> list[int]:
    """Indices that keep ``count`` channels of a group: the first ones of each block (the first heads)."""
    if count % group.unit:
        raise UserError(f"group {group.name} keeps multiples of {group.unit} channels, not {count}")
    return expand_positions(group, range(count // group.multiple))


def apply_channels(model: nn.Module, input_shape, channels: dict[str, int],
                   frozen: dict[str, str] | None = None, graph: NetworkGraph | None = None) -> NetworkGraph:
    """Shrink ``model`` to a stored channel configuration by keeping each group's first channels.

    Used to rebuild a pruned architecture before loading its saved weights, so which channels are
    kept does not matter here. ``graph``: the analysis of ``model`` as it is given (with ``frozen``), where
    the caller has it (a checkpoint format rebuilding many networks from one architecture); else it is made.
    Returns the analysis of the shrunk network, its counts checked.
    """
    if graph is None:
        graph = analyze(model, input_shape, validate=False, frozen=frozen)
    keep = {}
    for name, n in channels.items():
        if name not in graph.groups:
            raise UserError(f"checkpoint names channel group {name!r}, which this architecture "
                            f"does not have (groups: {', '.join(list(graph.groups)[:8])}...)")
        if not 1 <= int(n) <= graph.groups[name].size:
            raise UserError(f"checkpoint asks for {n} channels in {name!r}, which has "
                            f"{graph.groups[name].size}")
        if int(n) < graph.groups[name].size:
            keep[name] = first_channels(graph.groups[name], int(n))
    if not keep:
        return graph
    return keep_channels(model, graph, keep)


def shrunk_copy(model: nn.Module, graph: NetworkGraph, sizes: dict[str, int]) -> nn.Module:
    """A copy of ``model`` with each group in ``sizes`` cut to that many channels (its first ones): an
    architecture to estimate, whatever its weights."""
    import copy

    clone = copy.deepcopy(model)
    keep = {g: first_channels(graph.groups[g], n) for g, n in sizes.items() if n != graph.groups[g].size}
    if keep:
        remove_channels(clone, graph, keep)
    return clone.eval()
