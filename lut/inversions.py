"""Channel counts that are slower than larger ones of the same layer.

NetAdapt's search does not need latency to fall with every channel removed (it takes the largest count
that meets its target), but a count that is slower than a larger one is worth knowing: on most devices it
marks a kernel falling off a fast path (a vector width, a blocking factor), and pruning to it buys nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from lut.signature import LayerSignature


@dataclass(frozen=True)
class Inversion:
    """``smaller`` (fewer channels along ``axis``) measured slower than ``larger`` by ``ratio - 1``."""

    axis: str
    smaller: LayerSignature
    smaller_ms: float
    larger: LayerSignature
    larger_ms: float

    @property
    def ratio(self) -> float:
        return self.smaller_ms / self.larger_ms

    def count(self, sig: LayerSignature) -> int:
        return sig.cout if self.axis == "cout" else sig.cin


def _axes(sig: LayerSignature) -> list[tuple[str, LayerSignature, int]]:
    """(axis, family key, count) for every way the signature's channels can be pruned."""
    if sig.op in ("conv", "linear") and sig.groups == 1:
        return [("cout", replace(sig, cout=1), sig.cout), ("cin", replace(sig, cin=1), sig.cin)]
    if sig.op == "conv":  # depthwise or grouped: channels move together
        if sig.cin != sig.groups:
            return []
        return [("channels", replace(sig, cin=1, cout=sig.cout // sig.cin, groups=1), sig.cin)]
    return [("channels", replace(sig, cin=1, cout=1), sig.cin)]


def find_inversions(measured: Iterable[tuple[LayerSignature, float]], tolerance: float = 0.05) -> tuple[
        list[Inversion], int]:
    """Every (signature, larger signature) pair where the smaller is slower by more than ``tolerance``.

    For each smaller count only its worst inversion is kept (against the fastest larger count).

    Returns:
        (inversions, worst first; the number of signatures that had a larger count to compare with).
    """
    families: dict[tuple[str, LayerSignature], list[tuple[int, LayerSignature, float]]] = {}
    for sig, ms in measured:
        for axis, key, count in _axes(sig):
            families.setdefault((axis, key), []).append((count, sig, ms))
    found, compared = [], 0
    for (axis, _), members in families.items():
        members.sort(key=lambda m: m[0])
        fastest_above = None  # (ms, sig) of the fastest member with a larger count
        for count, sig, ms in reversed(members):
            if fastest_above is not None:
                compared += 1
                if ms > fastest_above[0] * (1 + tolerance):
                    found.append(Inversion(axis, sig, ms, fastest_above[1], fastest_above[0]))
            if fastest_above is None or ms < fastest_above[0]:
                fastest_above = (ms, sig)
    found.sort(key=lambda inv: inv.ratio, reverse=True)
    return found, compared
