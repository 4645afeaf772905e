"""Time layers and models with ONNX Runtime: warm-up, then one ``session.run`` per sample."""

from __future__ import annotations

import gc
import time

import numpy as np

from lut.nodekey import NodeKey
from lut.stats import Stats
from profilers.base import ProfileConfig, Profiler
from profilers.sessions import model_session

_MAX_SAMPLES = 1_000_000


class OrtProfiler(Profiler):
    """Times on an ONNX Runtime device (anything with ``create_session``).

    Args:
        device: the device to time on.
        config: warm-up, repeats and overhead handling.

    Paired comparisons make two sessions of each model, in the order A B B A: at batch 1 a session made
    before another of the same model can run a few percent slower or faster than it for as long as it lives
    (``netadapt.latency.paired.compare_models``).
    """

    sessions_per_model = 2

    def __init__(self, device, config: ProfileConfig | None = None):
        super().__init__(device)
        self.config = config or ProfileConfig()
        self._overhead: dict[tuple, float] = {}

    def time_runs(self, session, feeds: dict) -> list[float]:
        """Warm-up runs, then timed runs of ``session`` on ``feeds`` (one sample each, in milliseconds)."""
        run = session.run
        for _ in range(self.config.warmup):
            run(None, feeds)
        samples: list[int] = []
        total = 0
        min_ns = self.config.min_time_ms * 1e6
        gc_enabled = gc.isenabled()
        gc.disable()  # a collection inside a sample would be charged to the layer
        try:
            while (len(samples) < self.config.repeats or total < min_ns) and len(samples) < _MAX_SAMPLES:
                t0 = time.perf_counter_ns()
                run(None, feeds)
                dt = time.perf_counter_ns() - t0
                samples.append(dt)
                total += dt
        finally:
            if gc_enabled:
                gc.enable()
        self.timed_seconds += total / 1e9
        return [s / 1e6 for s in samples]

    def overhead_ms(self, shape: tuple[int, ...], dtype: str = "float32") -> float:
        """Median time of an identity graph on one input shape: the per-call cost of a session."""
        key = (tuple(shape), dtype)
        if key not in self._overhead:
            from profilers.node_graphs import build_identity_model

            start = time.perf_counter()
            session = self.device.create_session(build_identity_model(shape, dtype).SerializeToString())
            rng = np.random.default_rng(0)
            feeds = {"x": rng.standard_normal(shape).astype(np.float16 if dtype == "float16" else np.float32)}
            self._overhead[key] = Stats.from_samples(self.time_runs(session, feeds)).median
            self.wall_seconds += time.perf_counter() - start
        return self._overhead[key]

    def measure_node(self, key: NodeKey) -> Stats:
        from profilers.node_graphs import node_model_bytes

        start = time.perf_counter()
        model, feeds = node_model_bytes(key)
        session = self.device.create_session(model, optimization="disable")
        samples = self.time_runs(session, feeds)
        best, takes = Stats.from_samples(samples), 1
        while takes <= self.config.retakes and self.config.unsteady(best):
            again = self.time_runs(session, feeds)
            stats = Stats.from_samples(again)
            if stats.median < best.median:
                samples, best = again, stats  # other work only ever slows a run down
            takes += 1
        self.retaken += takes > 1
        self.wall_seconds += time.perf_counter() - start
        return self.node_stats(key, samples)

    def measure_model(self, model, input_shape) -> Stats:
        start = time.perf_counter()
        session, feeds = model_session(self.device, model, input_shape)
        samples = self.time_runs(session, feeds)
        self.wall_seconds += time.perf_counter() - start
        return Stats.from_samples(samples)

    def model_timer(self, model, input_shape, seed: int = 0):
        session, feeds = model_session(self.device, model, input_shape, seed)
        run = session.run
        clock = time.perf_counter_ns

        def timer() -> float:
            t0 = clock()
            run(None, feeds)
            return (clock() - t0) / 1e6

        return timer
