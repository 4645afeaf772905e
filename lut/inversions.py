"""Channel counts that are slower than larger ones of the same layer.

NetAdapt's search does not need latency to fall with every channel removed (it takes the largest count
that meets its target), but a count that is slower than a larger one is worth knowing: on most devices it
marks a kernel falling off a fast path (a vector width, a blocking factor), and pruning to it buys nothing.

Nodes are compared when they are the same convolution or matrix product (operator, attributes, kernel,
input size, fused extras) and differ only in their channel counts along one axis: the output channels
(the input ones fixed), the input channels (the output ones fixed), or both together for depthwise
convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from lut.nodekey import NodeKey


@dataclass(frozen=True)
class Inversion:
    """``smaller`` (fewer channels along ``axis``) measured slower than ``larger`` by ``ratio - 1``."""

    axis: str
    smaller: NodeKey
    smaller_ms: float
    larger: NodeKey
    larger_ms: float

    @property
    def ratio(self) -> float:
        return self.smaller_ms / self.larger_ms

    def count(self, key: NodeKey) -> int:
        cin, cout = key.channels
        return cin if self.axis == "cin" else cout


def _context(key: NodeKey) -> tuple:
    """What must match for two nodes to be the same layer at other channel counts."""
    data = key.data
    attrs = tuple((k, v) for k, v in key.attrs if k != "group")
    return (key.domain, key.op_type, attrs, data.shape[0] if data and data.shape else None,
            tuple(data.shape[2:4]) if data and key.is_conv else None,
            tuple(key.weight.shape[2:]) if key.weight and key.is_conv else None,
            sum(1 for t in key.inputs if t is not None), key.dtype)


def _axes(key: NodeKey) -> list[tuple[str, tuple, int]]:
    """(axis, family, count) for every way the node's channels can be pruned."""
    if key.channels is None:
        return []
    cin, cout = key.channels
    base = _context(key)
    if key.kind == "depthwise":
        if not (key.groups == cin == cout):
            return []
        return [("channels", base, cin)]
    if key.is_conv and key.groups > 1:
        return []
    return [("cout", (*base, "cin", cin), cout), ("cin", (*base, "cout", cout), cin)]


def find_inversions(measured: Iterable[tuple[NodeKey, float]], tolerance: float = 0.05) -> tuple[
        list[Inversion], int]:
    """Every (node, larger node) pair where the smaller is slower by more than ``tolerance``.

    For each smaller count only its worst inversion is kept (against the fastest larger count).

    Returns:
        (inversions, worst first; the number of nodes that had a larger count to compare with).
    """
    families: dict[tuple, list[tuple[int, NodeKey, float]]] = {}
    for key, ms in measured:
        for axis, family, count in _axes(key):
            families.setdefault((axis, family), []).append((count, key, ms))
    found, compared = [], 0
    for (axis, _), members in families.items():
        members.sort(key=lambda m: m[0])
        fastest_above = None  # (ms, key) of the fastest member with a larger count
        for count, key, ms in reversed(members):
            if fastest_above is not None:
                compared += 1
                if ms > fastest_above[0] * (1 + tolerance):
                    found.append(Inversion(axis, key, ms, fastest_above[1], fastest_above[0]))
            if fastest_above is None or ms < fastest_above[0]:
                fastest_above = (ms, key)
    found.sort(key=lambda inv: inv.ratio, reverse=True)
    return found, compared
