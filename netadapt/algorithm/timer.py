"""Where an iteration's time goes, by phase (search, prune, fine-tune, evaluate, export and measure)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Timer:
    """Seconds by phase; a phase timed twice adds up. ``began`` is when the timer was made (an iteration's
    wall time runs from it)."""

    seconds: dict = field(default_factory=dict)
    began: float = field(default_factory=time.perf_counter)

    @contextmanager
    def phase(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def add(self, seconds: dict) -> None:
        """Add seconds measured elsewhere (a worker's fine-tune and evaluation)."""
        for name, value in seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + value


def split(seconds: dict) -> dict[str, float]:
    """Where an iteration's wall time went: ``search`` is the wall time less fine-tuning, scoring and measuring
    (so work cannot move between columns), ``finetune`` and ``score`` as the candidates took them (their wall time
    when workers ran side by side), ``measure`` the export and timing of the kept network."""
    if "wall" not in seconds:
        return {}
    finetune, score = seconds.get("finetune", 0.0), seconds.get("evaluate", 0.0)
    if "candidates_wall" in seconds and finetune + score > 0:  # workers: their share of the wall time
        share = seconds["candidates_wall"] / (finetune + score)
        finetune, score = finetune * share, score * share
    measure = seconds.get("export_measure", 0.0)
    return {"search": max(0.0, seconds["wall"] - finetune - score - measure), "finetune": finetune, "score": score,
            "measure": measure, "wall": seconds["wall"]}
