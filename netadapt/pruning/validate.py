"""Check one channel group on a copy of the network before any run relies on it.

A few channels of the group are removed from a copy, which must still run and give outputs of the same
shape. Where the group's layers let it, a stronger check follows: in a second copy the same channels are
silenced instead (the layers producing them output exact zeros), which must not change what the network
computes compared with the pruned copy. A dependency graph that follows a channel to the wrong place (a
channel shuffle is the known case: its reshape and transpose move channels between tensors in a way the
graph does not map) removes the wrong inputs downstream, and the two copies disagree.

Silencing keeps a channel at zero through batch-norm (its mean and shift set to zero), activations that
map zero to zero, products (squeeze-excitation) and additions. Layer-, group- and instance-normalisation
and attention mix channels, so groups with those members get the first check only.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from netadapt.errors import first_line
from netadapt.inputs import normalized, random_args
from netadapt.pruning.dependency import buffers_kept, is_out, item_name, output_tensors
from netadapt.pruning.graph import ChannelGroup, NetworkGraph
from netadapt.pruning.remove import expand_positions, remove_channels

_ZEROABLE = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm, nn.PReLU)


def _dropped_positions(group: ChannelGroup) -> list[int]:
    """Positions (inside one block) to remove: away from the ends, so a mapping that is off by a
    slice or reversed shows; for attention heads, a whole head away from the ends."""
    if group.head_size > 1:
        heads = group.size // group.head_size
        return list(range((heads // 2) * group.head_size, (heads // 2 + 1) * group.head_size)) if heads > 1 else []
    block = group.size // group.multiple
    removable = block - group.min_size // group.multiple
    picks = sorted({block // 3, (2 * block) // 3})[:max(1, min(2, removable))]
    return picks


def _zero(tensor: torch.Tensor, dim: int, index: torch.Tensor, undo: list) -> None:
    """Zero ``tensor`` at ``index`` along ``dim``, noting in ``undo`` what was there."""
    undo.append((tensor, dim, index, tensor.index_select(dim, index).clone()))
    tensor.index_fill_(dim, index, 0.0)


def _restore(undo: list) -> None:
    with torch.no_grad():
        for tensor, dim, index, values in reversed(undo):
            tensor.index_copy_(dim, index, values)


def _silence(model: nn.Module, items, undo: list) -> bool:
    """Zero the outputs of every item that produces the removed channels (each change noted in ``undo``,
    for ``_restore``); False when a member cannot be silenced without changing other channels."""
    params = dict(model.named_parameters())
    modules = dict(model.named_modules())
    for name, out, kind, idxs in items:
        if not out:
            continue
        index = torch.as_tensor(idxs, dtype=torch.long)
        if kind is nn.Parameter:
            p = params[name]
            dim = max(i for i, s in enumerate(p.shape) if s > 1) if any(s > 1 for s in p.shape) else 0
            with torch.no_grad():
                _zero(p, dim, index, undo)
            continue
        m = modules.get(name)
        if m is None or not isinstance(m, _ZEROABLE):
            return False
        with torch.no_grad():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.running_mean is not None:
                    _zero(m.running_mean, 0, index, undo)
                if m.bias is not None:
                    _zero(m.bias, 0, index, undo)
                continue
            dim = 1 if getattr(m, "transposed", False) else 0
            if isinstance(m, nn.PReLU):
                continue
            _zero(m.weight, dim, index, undo)
            if m.bias is not None:
                _zero(m.bias, 0, index, undo)
    return True


def check_group(model: nn.Module, input_shape, group: ChannelGroup,
                reference: nn.Module | None = None) -> str | None:
    """Why ``group`` cannot be pruned safely, or None when it can.

    Args:
        reference: an eval-mode copy of ``model`` to silence channels in (copied here when None); what is
            silenced is put back afterwards, so one copy serves every group of a network.
    """
    return _check(model, input_shape, {group.name: group}, reference)


def check_groups(model: nn.Module, input_shape, groups: dict[str, ChannelGroup],
                 reference: nn.Module | None = None) -> dict[str, str]:
    """Why each of ``groups`` cannot be pruned safely (a group absent from the result can).

    All of them are checked at once first, on one copy with a few channels of every group removed against
    the reference with all of those silenced: where that copy computes what the reference does, each
    group's removal does (a wrong mapping changes what its own channels' consumers read, which no other
    group's removal undoes). Where it does not, or a group cannot be silenced (only its shapes are checked),
    each group is checked alone (``check_group``) to say which.
    """
    if reference is None:
        reference = copy.deepcopy(model).eval()
    if len(groups) > 1 and _check(model, input_shape, groups, reference, silence_all=True) is None:
        return {}
    reasons = {}
    for name, group in groups.items():
        reason = check_group(model, input_shape, group, reference=reference)
        if reason:
            reasons[name] = reason
    return reasons


def _check(model: nn.Module, input_shape, groups: dict[str, ChannelGroup],
           reference: nn.Module | None, silence_all: bool = False) -> str | None:
    """``check_group`` for several groups at once (``silence_all``: a group that cannot be silenced fails)."""
    pruned = copy.deepcopy(model).eval()
    keep = {}
    for name, group in groups.items():
        positions = [p for p in range(group.size // group.multiple) if p not in _dropped_positions(group)]
        keep[name] = expand_positions(group, positions)
    items = []

    def record(dg, pg):
        for dep, idxs in pg:
            m = dep.target.module
            if not isinstance(m, nn.Parameter) and m not in dg._module2name:
                continue  # an operation without weights (concatenation, reshape, addition ...)
            kind = nn.Parameter if isinstance(m, nn.Parameter) else type(m)
            items.append((item_name(dg, m), is_out(dg, dep), kind, list(idxs)))

    graph = NetworkGraph(normalized(input_shape), dict(groups))
    try:
        remove_channels(pruned, graph, keep, before=record)
    except Exception as exc:  # torch-pruning's own checks and the layers' raise many types
        return f"removing channels fails: {first_line(exc, 200)}"
    x = random_args(input_shape, seed=0, batch=2)
    if reference is None:
        reference = copy.deepcopy(model).eval()
    undo: list = []
    try:
        return _compare(pruned, reference, items, x, undo, silence_all)
    finally:
        _restore(undo)


def _compare(pruned: nn.Module, reference: nn.Module, items, x: tuple, undo: list,
             silence_all: bool = False) -> str | None:
    """``check_group``'s comparison of the pruned copy with the reference, its channels silenced: every
    output of the network (``x``: its inputs)."""
    try:
        silenced = _silence(reference, items, undo)
    except (IndexError, RuntimeError) as exc:  # indices beyond a layer's width: the mapping went astray
        return f"the dependency graph maps its channels outside a layer ({first_line(exc, 200)})"
    if silence_all and not silenced:
        return "a group cannot be silenced"
    try:
        with torch.no_grad():
            expected = output_tensors(reference(*x))
            got = output_tensors(pruned(*x))
    except Exception as exc:  # the user's forward on a changed network
        return f"the pruned network does not run: {first_line(exc, 200)}"
    shapes = [tuple(t.shape) for t in expected]
    if [tuple(t.shape) for t in got] != shapes:
        shown = lambda ts: ", ".join(str(tuple(t.shape)) for t in ts)  # noqa: E731
        return f"the pruned network's output changes shape ({shown(expected)} -> {shown(got)})"
    try:  # training mode too: some branches run only there (auxiliary classifiers), some outputs differ there
        with torch.no_grad(), buffers_kept(pruned), buffers_kept(reference):
            trained = output_tensors(pruned.train()(*x))
            wanted = output_tensors(reference.train()(*x))
    except Exception as exc:  # the user's forward on a changed network
        return f"the pruned network does not run in training mode: {first_line(exc, 200)}"
    if [tuple(t.shape) for t in trained] != [tuple(t.shape) for t in wanted]:
        shown = ", ".join(str(tuple(t.shape)) for t in trained)
        return f"the pruned network's training-mode outputs change shape to {shown}"
    if silenced:
        for e, g in zip(expected, got):
            if not e.is_floating_point():
                continue
            scale = 1.0 + float(e.abs().max()) if e.numel() else 1.0
            if not torch.allclose(g, e, rtol=1e-3, atol=1e-4 * scale):
                return ("removing its channels changes what the rest of the network computes (an operation the "
                        "dependency graph cannot follow, such as a channel shuffle)")
    return None
