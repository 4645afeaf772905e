"""The channel counts a NetAdapt run may visit, and the layer signatures they lead to."""

from __future__ import annotations

from itertools import product

from lut.signature import LayerSignature
from netadapt.pruning.graph import NetworkGraph


def channel_grid(size: int, step: int) -> list[int]:
    """Counts a group of ``size`` channels may be pruned to: multiples of ``step`` below it, and itself.

    >>> channel_grid(20, 8)
    [8, 16, 20]
    """
    if step < 1:
        raise ValueError("channel step must be >= 1")
    return sorted({*range(step, size, step), size})


def visitable_signatures(graph: NetworkGraph, step: int) -> list[LayerSignature]:
    """Every signature any unit can take while each group moves on its step grid.

    A unit whose input and output belong to different groups varies over the product of both grids
    (NetAdapt may prune either side); units on one group (depthwise, add, pooling) over its grid.
    """
    sizes = graph.sizes()
    grids = {name: channel_grid(size, step) for name, size in sizes.items()}
    seen: dict[LayerSignature, None] = {}
    for unit in graph.units:
        names = sorted(unit.groups())
        for values in product(*(grids[n] for n in names)):
            sig = unit.signature({**sizes, **dict(zip(names, values))})
            seen.setdefault(sig, None)
    return list(seen)
