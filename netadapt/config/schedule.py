"""How much latency each NetAdapt iteration must remove.

The paper's schedule removes ``initial x decay^i`` of the starting latency at iteration ``i``. Its
sum is bounded by ``initial / (1 - decay)`` (62.5% with the defaults), so a budget below ~37.5% of the
start could never be reached. netadapt adds a floor: a step is never smaller than ``floor`` of the
starting latency, so every budget the network can reach is reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReductionSchedule:
    initial: float = field(default=0.025, metadata={"help": "First step, as a fraction of the starting latency."})
    decay: float = field(default=0.96, metadata={"help": "Each step is this times the previous one."})
    floor: float = field(default=0.01, metadata={"help": "Smallest step, as a fraction of the starting latency."})

    def __post_init__(self):
        if not 0 < self.initial < 1:
            raise ValueError("initial reduction must be in (0, 1)")
        if not 0 < self.decay <= 1:
            raise ValueError("reduction decay must be in (0, 1]")
        if not 0 <= self.floor < 1:
            raise ValueError("reduction floor must be in [0, 1)")

    def fraction(self, iteration: int) -> float:
        """Fraction of the starting latency to remove at ``iteration`` (0-based)."""
        return max(self.initial * self.decay ** iteration, self.floor)

    def reduction_ms(self, iteration: int, start_ms: float) -> float:
        return self.fraction(iteration) * start_ms
