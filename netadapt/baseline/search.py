"""Find the uniform width whose measured latency matches a target, by bisection over (0, 1]."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from netadapt.baseline.uniform import uniform_channels


@dataclass
class WidthSearch:
    """Bisection over the width multiplier, measuring every width it visits.

    Measurements are cached by channel configuration and shared between targets, so later targets start
    from a tight bracket. Latency is assumed to grow with width (true up to measurement noise).

    Args:
        sizes: the base network's groups (name -> ChannelGroup, or -> channel count).
        measure: width -> measured latency in ms of the network uniformly pruned to that width.
        step: the channel grid step (see ``uniform_channels``).
        rtol: stop once a width's latency is within this fraction of the target.
        max_steps: most bisection steps per target.
        look_above: distinct configurations just wider than the match that are measured too. Latency is not
            monotone in width on every device (ONNX Runtime's blocked CPU kernels run 24 channels slower
            than 32), so a wider network can be as fast as the match, and the comparison owes the uniform
            arm the widest one within the target.
        channels: width -> the network's channel counts (default: ``uniform_channels`` of ``sizes`` on the
            grid of ``step``; ``netadapt.baseline.fast.FastRounding`` rounds to fast counts instead).
    """

    sizes: dict[str, int]
    measure: Callable[[float], float]
    step: int = 1
    rtol: float = 0.01
    max_steps: int = 14
    look_above: int = 2
    channels: Callable[[float], dict[str, int]] | None = None
    visited: dict[tuple, tuple[float, float]] = field(default_factory=dict)  # channels -> (width, ms)
    found: dict[float, tuple[float, float]] = field(default_factory=dict)  # target ms -> (width, ms)

    def _key(self, width: float) -> tuple:
        counts = self.channels(width) if self.channels else uniform_channels(self.sizes, width, self.step)
        return tuple(sorted(counts.items()))

    def latency(self, width: float) -> float:
        """The measured latency at ``width`` (measured once per distinct channel configuration)."""
        key = self._key(width)
        if key not in self.visited:
            self.visited[key] = (width, float(self.measure(width)))
        return self.visited[key][1]

    def find(self, target_ms: float) -> tuple[float, float]:
        """The widest measured width whose latency is within ``target_ms`` (plus ``rtol``), and that latency;
        when none is, the width closest to it that the bisection reached.

        Returns width 1.0 when even the full network is within or under the target.
        """
        full = self.latency(1.0)
        if full <= target_ms * (1 + self.rtol):
            return 1.0, full
        if target_ms not in self.found:
            self.found[target_ms] = self._widest_within(target_ms, self._bisect(target_ms))
        return self.found[target_ms]

    def _bisect(self, target_ms: float) -> tuple[float, float]:
        close = [(w, ms) for w, ms in self.visited.values() if abs(ms - target_ms) <= self.rtol * target_ms]
        if close:  # measured already, for an earlier target
            return min(close, key=lambda t: abs(t[1] - target_ms))
        below = [(w, ms) for w, ms in self.visited.values() if ms <= target_ms]
        above = [(w, ms) for w, ms in self.visited.values() if ms > target_ms]
        lo = max(below)[0] if below else 0.0
        hi = min(above)[0]
        tried = [(w, ms) for w, ms in self.visited.values()]
        for _ in range(self.max_steps):
            mid = (lo + hi) / 2
            if mid <= 0 or self._key(mid) in (self._key(hi), self._key(lo) if lo > 0 else None):
                break  # no width in between changes a channel count
            ms = self.latency(mid)
            tried.append((mid, ms))
            if abs(ms - target_ms) <= self.rtol * target_ms:
                return mid, ms
            lo, hi = (mid, hi) if ms <= target_ms else (lo, mid)
        if lo > 0:
            tried.append((lo, self.latency(lo)))
        tried.append((hi, self.latency(hi)))
        return min(tried, key=lambda t: (abs(t[1] - target_ms), t[1]))

    def same_configuration(self, a: float, b: float) -> bool:
        """Whether widths ``a`` and ``b`` give every group the same channel count on the grid."""
        return self._key(a) == self._key(b)

    def next_wider(self, width: float) -> float | None:
        """The smallest width above ``width`` with other channel counts (None at full width)."""
        above = self._widths_above(width, 1)
        return above[0] if above else None

    def fastest_at_least(self, width: float, min_ms: float) -> float | None:
        """Of the widths above ``width``, the one measured fastest among those at least ``min_ms`` slow (full
        width when none is; None when ``width`` is full already).

        Every distinct configuration above ``width`` is measured: latency is not monotone in width (a count
        off the kernels' block size can run slower than a larger one), and the narrowest configuration that
        slow may be beaten by a wider, faster and more accurate one, which is the uniform arm's due."""
        if self._key(width) == self._key(1.0):
            return None
        slow = [(self.latency(w), w) for w in self._widths_above(width, math.inf)]
        slow = [(ms, w) for ms, w in slow if ms >= min_ms]
        return min(slow)[1] if slow else 1.0

    def _widths_above(self, width: float, n: int, grain: float = 1 / 1024) -> list[float]:
        """The next ``n`` widths above ``width`` at which some group's channel count changes."""
        widths, key = [], self._key(width)
        while len(widths) < n and width < 1.0:
            width = min(1.0, width + grain)
            previous, key = key, self._key(width)
            if key != previous:
                widths.append(width)
        return widths

    def _widest_within(self, target_ms: float, match: tuple[float, float]) -> tuple[float, float]:
        for width in self._widths_above(match[0], self.look_above):
            self.latency(width)
        within = [(w, ms) for w, ms in self.visited.values() if ms <= target_ms * (1 + self.rtol)]
        return max(within) if within else match
