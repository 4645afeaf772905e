"""The abstract profiler and its configuration."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from lut.errors import UserError
from lut.nodekey import NodeKey
from lut.stats import Stats

#: Untimed runs before a node's timed runs where only nodes are timed (`netadapt profile`, `lut retake`):
#: two give the same medians as ten (`bench/node_warmup.py`); whole models keep ``ProfileConfig.warmup``.
NODE_WARMUP = 2


@dataclass(frozen=True)
class ProfileConfig:
    """How to time one thing on a device."""

    warmup: int = field(default=10, metadata={"help": "Untimed runs before timing (caches, allocator, JIT)."})
    repeats: int = field(default=50, metadata={"help": "Timed runs, one sample each; statistics use all."})
    min_time_ms: float = field(default=0.0, metadata={
        "help": "Keep adding timed runs past --repeats until their sum reaches this many milliseconds."})
    subtract_overhead: bool = field(default=False, metadata={
        "help": "Subtract the median time of an identity graph of the same input size (the per-call "
                "cost of a session) from every node sample, clamped at zero."})
    max_spread: float = field(default=0.1, metadata={
        "help": "A node whose median sample lies more than this fraction above its 10th percentile was timed "
                "while other work took the CPU: it is timed again (up to --retakes times) and the take with "
                "the lowest median is kept, as other work only ever slows a run down."})
    retakes: int = field(default=2, metadata={"help": "Most extra takes of an unsteady node (0: none)."})

    def __post_init__(self):
        if self.warmup < 0:
            raise UserError(f"warmup must be >= 0 (got {self.warmup})")
        if self.repeats < 1:
            raise UserError(f"repeats must be >= 1 (got {self.repeats})")
        if self.min_time_ms < 0:
            raise UserError(f"min_time_ms must be >= 0 (got {self.min_time_ms})")
        if self.max_spread <= 0:
            raise UserError(f"max_spread must be > 0 (got {self.max_spread})")
        if self.retakes < 0:
            raise UserError(f"retakes must be >= 0 (got {self.retakes})")

    def unsteady(self, stats: Stats) -> bool:
        """Whether a take's median lies more than ``max_spread`` above its 10th percentile."""
        return stats.median > stats.p10 * (1 + self.max_spread)


class Profiler(abc.ABC):
    """Times nodes and models on one device.

    Attributes:
        device: the device timed on.
        wall_seconds: cumulative wall time spent in measure_* calls (graph building, sessions, warm-up).
        timed_seconds: cumulative sum of the timed samples; wall / timed is the profiling overhead.
        retaken: nodes timed again because their first take was unsteady (``ProfileConfig.max_spread``).
        sessions_per_model: how many sessions of each model a paired comparison makes
            (``netadapt.latency.paired.compare_models``), in a balanced order and taken in turn.
    """

    sessions_per_model = 1

    def __init__(self, device):
        self.device = device
        self.wall_seconds = 0.0
        self.timed_seconds = 0.0
        self.retaken = 0

    @classmethod
    def for_device(cls, device, config: ProfileConfig | None = None) -> "Profiler":
        """The profiler of ``device`` with ``config`` (what ``profilers.get_profiler`` makes)."""
        return cls(device, config)

    @abc.abstractmethod
    def measure_node(self, key: NodeKey) -> Stats:
        """Latency of one node (timed alone, as the device's optimiser left it), in milliseconds."""

    def node_stats(self, key: NodeKey, samples: list[float]) -> Stats:
        """A node's statistics from its samples (ms), each less the per-call cost of a session
        (``overhead_ms``, clamped at zero) when the configuration asks for it."""
        config = getattr(self, "config", None)
        if config is not None and config.subtract_overhead and key.data is not None:
            cost = self.overhead_ms(key.data.shape, key.data.dtype)
            samples = [max(0.0, s - cost) for s in samples]
        return Stats.from_samples(samples)

    @abc.abstractmethod
    def measure_model(self, model, input_shape) -> Stats:
        """Latency of a whole ONNX model (path, serialized bytes or ModelProto) at one input shape."""

    @abc.abstractmethod
    def model_timer(self, model, input_shape, seed: int = 0):
        """A no-argument callable that runs ``model`` once on the device and returns its time in ms: what a
        paired comparison of two models calls in turn (``netadapt.latency.paired``). The input is drawn once
        from a generator seeded with ``seed``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r})"
