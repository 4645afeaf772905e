"""torch-pruning's dependency graph as netadapt uses it: what it cannot follow by itself, taught while it works.

Three things are changed, each only while a graph of this module's class builds itself or a pruning group, and
put back afterwards (other users of torch-pruning in the process see it unchanged):

- A reshape whose index mapping divides by a channel count it infers as zero (a channel shuffle's view to
  (N, groups, C / groups, H, W)) is left unmapped instead of failing the whole analysis; the validation of each
  group then finds what it breaks.
- A group may not grow without end: some graphs (a flattened map concatenated with a mean of the same tensor)
  make index mappings cycle; past a bound the group raises and its root is reported as not followable.
- ``chunk`` along the channels (YOLO's C2f blocks, CSP splits) is traced as slices. torch-pruning maps a split
  by the order in which it meets the split's consumers, not by which part each one reads, and torch 2.x saves no
  sizes where it looks for them, so channels went to the wrong consumers. A slice carries its own bounds; the
  graph's slice pruner says how many channels one passes, and ``chunked`` records the parts of each chunk: a
  group through one must lose the same channels from every part (a chunk splits at the middle when it runs).
"""

from __future__ import annotations

import contextlib
import functools

import torch
import torch_pruning as tp
from torch_pruning.dependency import graph as _graph_module
from torch_pruning.dependency import index_mapping as _index_mapping


def _tolerant(update):
    @functools.wraps(update)
    def wrapper(graph, node):
        try:
            return update(graph, node)
        except ZeroDivisionError:
            return None

    return wrapper


class BoundedGroup(tp.dependency.group.Group):
    """A pruning group that refuses to grow past ``LIMIT`` members or index lists longer than ``MAX_INDICES``
    (twice the largest dimension of any parameter of the network being analysed)."""

    LIMIT = 20_000
    MAX_INDICES = 1_000_000

    def add_dep(self, dep, idxs):
        if len(self._group) >= self.LIMIT or len(idxs) > self.MAX_INDICES:
            raise RuntimeError("the channel index mappings do not settle (a cycle through a reshape)")
        super().add_dep(dep, idxs)


@contextlib.contextmanager
def _taught():
    """torch-pruning with the tolerant reshape mapping and the bounded group, for one call."""
    saved = (_index_mapping.update_reshape_index_mapping, _graph_module.Group)
    _index_mapping.update_reshape_index_mapping = _tolerant(saved[0])
    _graph_module.Group = BoundedGroup
    try:
        yield
    finally:
        _index_mapping.update_reshape_index_mapping, _graph_module.Group = saved


def _channel_dim(rank: int) -> int:
    """The dimension torch-pruning takes for channels: 1 of (N, C, ...), 2 of a (B, N, C) token tensor."""
    return 2 if rank == 3 else 1


class SlicePruner(tp.ops.SlicePruner):
    """torch-pruning's slice pruner, which also says how many channels a slice along the channels passes (so a
    concatenation of slices knows its inputs' widths)."""

    def get_out_channels(self, layer):
        sizes = getattr(layer.grad_fn, "_saved_self_sym_sizes", None)
        if sizes is None or layer.dim != _channel_dim(len(sizes)):
            return None
        return len(range(*slice(layer.start, layer.end, layer.step).indices(int(sizes[layer.dim]))))

    get_in_channels = get_out_channels


class Graph(tp.DependencyGraph):
    """torch-pruning's ``DependencyGraph``, taught as the module says.

    Attributes:
        chunked: the autograd node of each part of every ``chunk`` along the channels, with the number of parts.
    """

    def __init__(self):
        super().__init__()
        self.REGISTERED_PRUNERS[tp.ops.OPTYPE.SLICE] = SlicePruner()
        pruners = [p for p in (*self.REGISTERED_PRUNERS.values(), *self.CUSTOMIZED_PRUNERS.values()) if p is not None]
        self._in_channel_pruning_fn = {p.prune_in_channels for p in pruners}
        self._out_channel_pruning_fn = {p.prune_out_channels for p in pruners}
        self.chunked: dict = {}

    def build_dependency(self, *args, **kwargs):
        with _taught(), chunks_as_slices(self.chunked):
            return super().build_dependency(*args, **kwargs)

    def get_pruning_group(self, *args, **kwargs):
        with _taught():
            return super().get_pruning_group(*args, **kwargs)


@contextlib.contextmanager
def chunks_as_slices(chunked: dict):
    """``torch.chunk`` and ``Tensor.chunk`` computed as slices (the same values), each part's autograd node noted
    in ``chunked`` with the number of parts when the chunk runs along the channels."""
    saved = (torch.Tensor.chunk, torch.chunk)

    def chunk(tensor, chunks, dim=0):
        size = int(tensor.shape[dim])
        step = -(-size // int(chunks))
        index = (slice(None),) * (dim % tensor.dim())
        parts = tuple(tensor[index + (slice(start, min(start + step, size)),)] for start in range(0, size, step))
        if dim % tensor.dim() == _channel_dim(tensor.dim()) and len({p.shape[dim] for p in parts}) == 1:
            chunked.update({p.grad_fn: len(parts) for p in parts if p.grad_fn is not None})
        return parts

    torch.Tensor.chunk = chunk
    torch.chunk = chunk
    try:
        yield
    finally:
        torch.Tensor.chunk, torch.chunk = saved
