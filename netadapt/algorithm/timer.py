"""Where an iteration's time goes, by phase (search, prune, fine-tune, evaluate, export and measure)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Timer:
    """Seconds by phase; a phase timed twice adds up."""

    seconds: dict = field(default_factory=dict)

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
