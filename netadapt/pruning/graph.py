"""Channel analysis: which sets of channels of a network can shrink together.

A group is every channel dimension coupled to the outputs of one convolution or linear layer:
through residual additions, depthwise convolutions, normalisation, squeeze-excitation products,
concatenations (as a slice of the concatenated tensor), splits, and flattening into a linear layer.
torch-pruning's dependency graph finds them (``netadapt.pruning.dependency``). Groups that feed the
network's output are not prunable. Each group is then checked on a copy of the network
(``netadapt.pruning.validate``); a group that fails is frozen with its reason, and the model is
refused only when nothing at all can be pruned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import torch.nn as nn

from netadapt.errors import UserError
from netadapt.inputs import normalized
from netadapt.pruning.heads import attention_layer
from netadapt.pruning.dependency import (all_groups, build_graph, channel_multiple, execution_order, is_out,
                                         item_name, touches_output)


@dataclass
class ChannelGroup:
    """A set of channels that must be pruned together.

    Attributes:
        name: stable name: the first layer (in execution order) that produces these channels.
        size: current number of channels.
        multiple: channels leave in equal numbers from each of this many blocks (a grouped convolution
            keeps its group count, attention its heads), so counts are multiples of it.
        producers: convolution/linear layers whose outputs are exactly these channels (not depthwise).
        consumers: convolution/linear layers that read these channels.
        depthwise: depthwise convolutions running inside the group.
        norms: normalisation layers on these channels.
        members: every layer or parameter that changes with the group, as ``name:out`` or ``name:in``.
        grouped: the channels are the outputs of a grouped (not depthwise) convolution.
        head_size: the channels are the heads of an attention layer (``attention``) and leave in whole heads
            of this many (1: any channel may leave alone); see ``netadapt.pruning.heads``.
        attention: that attention layer's qualified name.
    """

    name: str
    size: int
    multiple: int = 1
    producers: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    depthwise: list[str] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    grouped: bool = False
    head_size: int = 1
    attention: str | None = None

    @property
    def unit(self) -> int:
        """Counts the group may keep are multiples of this: its blocks, whole heads."""
        return math.lcm(self.multiple, self.head_size)

    @property
    def min_size(self) -> int:
        """The fewest channels the group may keep: one per block, two where a depthwise convolution
        runs on it (one channel would make it an ordinary convolution with another structure), two per
        block where a grouped convolution produces them (one output per group, ``groups == out_channels``,
        is what the dependency graph takes for a depthwise convolution, whose inputs it then couples to its
        outputs: the group would merge with the one feeding the convolution)."""
        if self.grouped:
            return 2 * self.multiple
        return max(self.head_size, self.multiple * (2 if self.depthwise and self.multiple == 1 else 1))


@dataclass
class NetworkGraph:
    """The prunable channel groups of one network at one input shape.

    Attributes:
        input_shape: the input analysed at: its (N, C, H, W) shape, or ``netadapt.inputs.ExampleInputs``.
        groups: the prunable groups by name.
        frozen: groups that cannot be pruned safely, by name, with the reason.
    """

    input_shape: object
    groups: dict[str, ChannelGroup]
    frozen: dict[str, str] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {name: g.size for name, g in self.groups.items()}


_NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)


def _is_depthwise(m) -> bool:
    return isinstance(m, nn.modules.conv._ConvNd) and m.groups > 1 and m.groups == m.in_channels == m.out_channels


def _is_grouped(m) -> bool:
    """A grouped convolution that is not depthwise."""
    return isinstance(m, nn.modules.conv._ConvNd) and m.groups > 1 and not _is_depthwise(m)


def _describe(dg, group, order, size: int) -> ChannelGroup:
    producers, consumers, depthwise, norms, members = [], [], [], [], []
    grouped = False
    for dep, idxs in group:
        m = dep.target.module
        name = item_name(dg, m)
        out = is_out(dg, dep)
        members.append(f"{name}:{'out' if out else 'in'}")
        if _is_depthwise(m):
            depthwise.append(name)
        elif isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            if out and len(idxs) == size and _out_count(m) == size:
                producers.append(name)
                grouped = grouped or _is_grouped(m)
            elif not out:
                consumers.append(name)
        elif isinstance(m, _NORMS):
            norms.append(name)
    producers = sorted(dict.fromkeys(producers), key=lambda n: order.get(n, 1 << 30))
    if not producers:
        return None
    members = list(dict.fromkeys(members))
    attention = attention_layer(dg.model, members, size)
    return ChannelGroup(name=producers[0], size=size, multiple=channel_multiple(dg, group),
                        producers=producers, consumers=list(dict.fromkeys(consumers)),
                        depthwise=list(dict.fromkeys(depthwise)), norms=list(dict.fromkeys(norms)),
                        members=members, grouped=grouped, head_size=attention[1] if attention else 1,
                        attention=attention[0] if attention else None)


def _out_count(m) -> int:
    return m.out_features if isinstance(m, nn.Linear) else m.out_channels


#: How a group whose channels torch-pruning cannot follow is frozen: this, then the error in brackets.
UNMAPPED = "the dependency graph cannot follow its channels through the operations after it"


def unmapped_of(frozen: dict[str, str] | None) -> dict[str, str]:
    """The groups of ``frozen`` frozen because their channels could not be followed, with the error."""
    return {name: why[len(UNMAPPED) + 2:-1] for name, why in (frozen or {}).items()
            if why.startswith(f"{UNMAPPED} (") and why.endswith(")")}


def dependency_groups(model: nn.Module, input_shape, unmapped: dict[str, str] | None = None):
    """(dependency graph, [(ChannelGroup, its torch-pruning group)] for every group not feeding the
    network's output, in execution order of their names, {root name: why its channels cannot be
    followed}). ``unmapped``: roots known not to map, by name, with the error (not followed again)."""
    order_by_module, output_modules = execution_order(model, input_shape)
    dg = build_graph(model, input_shape)
    order = {item_name(dg, m): i for m, i in order_by_module.items()}
    found, not_followed = [], {}
    for root, group, error in all_groups(dg, unmapped):
        if group is None:
            not_followed[item_name(dg, root)] = f"{UNMAPPED} ({error})"
            continue
        if touches_output(dg, group, output_modules):
            continue
        root = group[0].dep.target.module
        size = _out_count(root) if isinstance(root, (nn.modules.conv._ConvNd, nn.Linear)) else len(group[0].idxs)
        described = _describe(dg, group, order, size)
        if described is not None:
            found.append((described, group))
    found.sort(key=lambda pair: order.get(pair[0].name, 1 << 30))
    return dg, found, not_followed


def ignored_groups(groups, ignore: Sequence[str]) -> dict[str, str]:
    """The groups that change the outputs of a module named in ``ignore`` (or of one inside it), with why
    they are frozen."""
    frozen = {}
    for group in groups:
        for member in group.members:
            name, _, side = member.rpartition(":")
            hit = next((i for i in ignore if side == "out" and (name == i or name.startswith(i + "."))), None)
            if hit is not None:
                frozen[group.name] = f"it changes the outputs of {hit}, which the task ignores"
                break
    return frozen


def analyze(model: nn.Module, input_shape, validate: bool = True,
            frozen: dict[str, str] | None = None, ignore: Sequence[str] = ()) -> NetworkGraph:
    """The channel groups of ``model`` at ``input_shape``: (N, C, H, W), or ``netadapt.inputs.ExampleInputs``.

    Args:
        model: the network (left unchanged).
        input_shape: the input it is analysed at.
        validate: check every group on a copy of the network and freeze the ones that fail; without it,
            the groups named in ``frozen`` are frozen (e.g. as found when a run started).
        frozen: groups already known to be unsafe, with their reasons (a root frozen because its channels
            could not be followed is not followed again).
        ignore: modules whose output channels carry meaning (a detector's last head convolutions): every
            group that changes their outputs is frozen.

    Raises:
        UserError: the model does not run on the shape, or has no group that can be pruned safely.
    """
    input_shape = normalized(input_shape)
    _, found, unmapped = dependency_groups(model, input_shape, unmapped_of(frozen))
    groups = {g.name: g for g, _ in found}
    frozen = {**unmapped, **dict(frozen or {}), **ignored_groups(groups.values(), ignore)}
    if validate:
        import copy

        from netadapt.pruning.validate import check_groups

        reference = copy.deepcopy(model).eval()  # one copy for every group: each check puts it back
        checked = {name: g for name, g in groups.items() if name not in frozen and g.size > g.min_size}
        frozen.update(check_groups(model, input_shape, checked, reference=reference))
    usable = {name: g for name, g in groups.items() if name not in frozen}
    if not groups and not unmapped:
        raise UserError("the model has no prunable channels (no convolution or linear layer whose "
                        "outputs are not the network's output)")
    if not usable:
        first = next(iter(frozen.items()))
        raise UserError(f"none of the model's {len(groups) + len(unmapped)} channel groups can be pruned "
                        f"safely (e.g. {first[0]}: {first[1]})")
    return NetworkGraph(input_shape=input_shape, groups=usable,
                        frozen={k: v for k, v in frozen.items() if k in groups or k in unmapped})
