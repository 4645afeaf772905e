"""Summary statistics of repeated timings, in milliseconds."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence


def _quantile(ordered: Sequence[float], q: float) -> float:
    # Linear interpolation between closest ranks (numpy's default "linear" method).
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Stats:
    """Latency statistics of one timed unit, all in milliseconds.

    Attributes:
        median: the 50th percentile; the value the lookup table estimates with.
        p10: 10th percentile.
        p90: 90th percentile.
        mean: arithmetic mean.
        std: population standard deviation.
        count: number of samples.
    """

    median: float
    p10: float
    p90: float
    mean: float
    std: float
    count: int

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float]) -> "Stats":
        """Summarise samples (milliseconds).

        Raises:
            ValueError: no samples.
        """
        ordered = sorted(float(s) for s in samples_ms)
        if not ordered:
            raise ValueError("Stats.from_samples needs at least one sample")
        n = len(ordered)
        mean = math.fsum(ordered) / n
        var = math.fsum((s - mean) ** 2 for s in ordered) / n
        return cls(median=_quantile(ordered, 0.5), p10=_quantile(ordered, 0.1),
                   p90=_quantile(ordered, 0.9), mean=mean, std=math.sqrt(var), count=n)

    @classmethod
    def constant(cls, value_ms: float, count: int = 1) -> "Stats":
        """Stats of ``count`` identical samples."""
        v = float(value_ms)
        return cls(median=v, p10=v, p90=v, mean=v, std=0.0, count=int(count))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Stats":
        return cls(median=float(data["median"]), p10=float(data["p10"]), p90=float(data["p90"]),
                   mean=float(data["mean"]), std=float(data["std"]), count=int(data["count"]))
