"""How much latency each NetAdapt iteration must remove.

The paper's schedule removes ``initial x decay^i`` of the starting latency at iteration ``i``. Its
sum is bounded by ``initial / (1 - decay)`` (62.5% with the defaults), so a budget below ~37.5% of the
start could never be reached. netadapt adds a floor: a step is never smaller than ``floor`` of the
starting latency, so every budget the network can reach is reached.
"""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class ReductionSchedule:
    initial: float = setting(0.025, "First iteration's latency reduction, as a fraction of the start.",
                             flag="initial-reduction", low=0, low_open=True, high=1, high_open=True)
    decay: float = setting(0.96, "Each iteration's reduction is this times the previous one.",
                           flag="reduction-decay", low=0, low_open=True, high=1)
    floor: float = setting(0.01, "Smallest reduction, as a fraction of the start (makes deep budgets reachable).",
                           flag="reduction-floor", low=0, high=1, high_open=True)

    def __post_init__(self):
        check(self)

    def fraction(self, iteration: int) -> float:
        """Fraction of the starting latency to remove at ``iteration`` (0-based)."""
        return max(self.initial * self.decay ** iteration, self.floor)

    def reduction_ms(self, iteration: int, start_ms: float) -> float:
        return self.fraction(iteration) * start_ms
