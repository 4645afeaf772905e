"""Model latency from the lookup table, measuring what is missing on the device (hardware in the loop).

Two estimates are offered (see DESIGN.md): the table alone (the sum of the layer latencies), and the
anchored estimate NetAdapt uses inside its loop, ``measured(current) + table(candidate) - table(current)``,
which carries only the error of a difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from lut.signature import LayerSignature
from netadapt.errors import UserError
from netadapt.pruning.graph import NetworkGraph

STATISTICS = ("median", "p10")


@dataclass
class LatencyEstimator:
    """Sums table latencies over a network's units for any channel configuration.

    Attributes:
        table: a ``lut.LatencyTable``.
        fingerprint: the device's fingerprint (rows of other devices are never used).
        profiler: measures missing signatures on the device; without one, a missing row is an error.
        progress: show a progress bar while measuring missing rows.
        statistic: which of a row's statistics is a layer's latency: ``"median"``, or ``"p10"`` (the
            10th percentile, less moved by other work on a shared machine; compare it with whole
            models measured with the same statistic).
    """

    table: object
    fingerprint: dict
    profiler: object | None = None
    progress: bool = False
    statistic: str = "median"
    _cache: dict = field(default_factory=dict, repr=False)
    measured_on_the_spot: int = 0

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise UserError(f"unknown latency statistic {self.statistic!r}; "
                            f"choose from {', '.join(STATISTICS)}")

    def ensure(self, sigs: Iterable[LayerSignature]) -> None:
        """Make sure every signature is in the table and in the cache, measuring what is missing."""
        wanted = [s for s in dict.fromkeys(sigs) if s not in self._cache]
        if not wanted:
            return
        found = self.table.lookup_many(self.fingerprint, wanted)
        missing = [s for s in wanted if s not in found]
        if missing:
            if self.profiler is None:
                raise UserError(f"{len(missing)} layer signature(s) are not in the lookup table for this "
                                f"device (first: {missing[0].short()}); run `netadapt profile` first")
            from lut.measure import measure_missing

            measure_missing(self.table, self.profiler, missing, progress=self.progress)
            self.measured_on_the_spot += len(missing)
            found.update(self.table.lookup_many(self.fingerprint, missing))
        for s in wanted:
            if s not in found:
                raise RuntimeError(f"signature {s.short()} was measured but is not in the table")
            self._cache[s] = getattr(found[s], self.statistic)

    def layer(self, sig: LayerSignature) -> float:
        if sig not in self._cache:
            self.ensure([sig])
        return self._cache[sig]

    def total(self, graph: NetworkGraph, sizes: dict[str, int] | None = None) -> float:
        """Table-only latency (ms) of ``graph`` at ``sizes`` (default: its current sizes)."""
        sigs = graph.signatures(sizes)
        self.ensure(sigs)
        return sum(self._cache[s] for s in sigs)

    def breakdown(self, graph: NetworkGraph, sizes: dict[str, int] | None = None) -> list[tuple]:
        """(unit name, signature, ms) for every unit."""
        sigs = graph.signatures(sizes)
        self.ensure(sigs)
        return [(u.name, s, self._cache[s]) for u, s in zip(graph.units, sigs)]

    def delta(self, graph: NetworkGraph, group: str, count: int) -> float:
        """Table latency change (ms, negative when faster) of setting ``group`` to ``count`` channels."""
        sizes = graph.sizes()
        units = graph.units_touching(group)
        before = [u.signature(sizes) for u in units]
        after = [u.signature({**sizes, group: count}) for u in units]
        self.ensure(before + after)
        return sum(self._cache[s] for s in after) - sum(self._cache[s] for s in before)
