"""A simulated machine for the tests of paired latency comparisons (``netadapt.latency.paired``)."""

import math
import random
from typing import Callable

Timer = Callable[[], float]


class SyntheticMachine:
    """A simulated machine whose timers return ``true_ms x load x noise``.

    Every run of any timer of one machine advances one shared step counter and a simulated clock,
    so a load applies to both models alike, as on a busy machine.

    Args:
        noise: sigma of the log-normal multiplicative noise of each run (0.05: about 5%).
        load: the load factor at a step (the count of runs so far, of all timers); None: 1.0.
        seed: seed of the noise.

    Attributes:
        step: runs so far.
        elapsed_s: simulated seconds so far (the sum of every run's latency).
    """

    def __init__(self, noise: float = 0.0, load: Callable[[int], float] | None = None, seed: int = 0):
        self.noise = float(noise)
        self.load = load or (lambda step: 1.0)
        self.rng = random.Random(seed)
        self.step = 0
        self.elapsed_s = 0.0

    def timer(self, true_ms: float) -> Timer:
        """A timer of a model whose unloaded, noiseless latency is ``true_ms``."""
        def sample() -> float:
            ms = true_ms * self.load(self.step)
            if self.noise:
                ms *= math.exp(self.rng.gauss(0.0, self.noise))
            self.step += 1
            self.elapsed_s += ms / 1e3
            return ms

        return sample

    def clock(self) -> float:
        """The simulated seconds so far, for ``compare_timers(clock=...)``."""
        return self.elapsed_s
