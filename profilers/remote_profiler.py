"""Time on a device reached through its agent (``devices.remote``).

Node graphs are built here (``profilers.node_graphs``) and sent as ONNX bytes; the agent times them with
``OrtProfiler``'s own loop and returns every sample, and the statistics are computed here as for a local
measurement. Paired comparisons (``netadapt.latency.paired``) get their per-run times from the agent in
batches of alternated runs (:func:`remote_timer`).
"""

from __future__ import annotations

import time
from collections import deque

from lut.errors import UserError
from lut.nodekey import NodeKey
from lut.stats import Stats
from profilers.base import ProfileConfig, Profiler
from profilers.inputs import describe, single_shape

# Pairs of alternated runs fetched per request: the first look of a paired comparison (30 pairs by
# default) costs one request after its warm-up.
BATCH_PAIRS = 30


class RemoteProfiler(Profiler):
    """Times on a ``RemoteDevice``.

    Args:
        device: the remote device.
        config: warm-up, repeats and overhead handling (applied by the agent as by ``OrtProfiler``).
    """

    def __init__(self, device, config: ProfileConfig | None = None):
        super().__init__(device)
        self.config = config or ProfileConfig()
        self._overhead: dict[tuple, float] = {}

    def _samples(self, kind: str, model: bytes, **params) -> list[float]:
        cfg = self.config
        reply = self.device.send_model_json(f"/time/{kind}", model, {
            "warmup": cfg.warmup, "repeats": cfg.repeats, "min_time_ms": cfg.min_time_ms, **params})
        samples = [float(s) for s in reply["samples_ms"]]
        self.timed_seconds += sum(samples) / 1e3
        return samples

    def overhead_ms(self, shape: tuple[int, ...], dtype: str = "float32") -> float:
        """Median time of an identity graph on the agent: its per-call cost of a session."""
        key = (tuple(shape), dtype)
        if key not in self._overhead:
            from profilers.node_graphs import build_identity_model

            start = time.perf_counter()
            samples = self._samples("node", build_identity_model(shape, dtype).SerializeToString())
            self._overhead[key] = Stats.from_samples(samples).median
            self.wall_seconds += time.perf_counter() - start
        return self._overhead[key]

    def measure_node(self, key: NodeKey) -> Stats:
        from profilers.node_graphs import node_model_bytes

        start = time.perf_counter()
        samples = self._samples("node", node_model_bytes(key)[0])
        self.wall_seconds += time.perf_counter() - start
        return self.node_stats(key, samples)

    def measure_model(self, model, input_shape) -> Stats:
        from profilers.units import load_model_bytes

        start = time.perf_counter()
        samples = self._samples("model", load_model_bytes(model), input_shape=_shape_text(input_shape))
        self.wall_seconds += time.perf_counter() - start
        return Stats.from_samples(samples)

    def model_timer(self, model, input_shape, seed: int = 0):
        return remote_timer(self.device, model, input_shape, seed=seed)


def _shape_text(input_shape) -> str:
    shape = single_shape(input_shape)
    if shape is None:
        raise UserError(f"a remote device times models with one float input, not {describe(input_shape)}")
    return "x".join(str(int(d)) for d in shape)


class RemoteTimer:
    """Times of one model on the agent, one per call, for ``netadapt.latency.paired.compare_timers``.

    The model is loaded once on the agent. Two timers made one after the other on the same device are
    partners: when either runs out of times, the agent runs both in turn (A, B, then B, A, ...) for
    ``BATCH_PAIRS`` rounds and each gets its own times, so the i-th times of the two partners come from one
    pair of neighbouring runs, as in a local paired comparison. A timer without a partner gets its
    model's runs alone.
    """

    def __init__(self, device, model: bytes, input_shape: tuple[int, ...], seed: int = 0):
        self.device, self.model, self.shape, self.seed = device, model, tuple(input_shape), seed
        self.times: deque[float] = deque()
        self.partner: RemoteTimer | None = None
        self.session = self._load()
        waiting = device.waiting_timer
        if waiting is not None and waiting.partner is None:
            waiting.partner, self.partner = self, waiting
            device.waiting_timer = None
        else:
            device.waiting_timer = self

    def _load(self) -> str:
        params = {"input_shape": _shape_text(self.shape), "seed": self.seed}
        return self.device.send_model_json("/sessions", self.model, params)["id"]

    def _fetch(self) -> None:
        from devices.remote import UnknownSession

        timers = [self] + ([self.partner] if self.partner is not None else [])
        for attempt in range(2):
            try:
                reply = self.device.request_json("POST", "/alternate", {
                    "ids": ",".join(t.session for t in timers), "pairs": BATCH_PAIRS, "warmup": 1})
                break
            except UnknownSession:
                if attempt:
                    raise
                for t in timers:  # the agent restarted or dropped the model: load it again
                    t.session = t._load()
        for timer, times in zip(timers, reply["times_ms"]):
            timer.times.extend(float(t) for t in times)

    def __call__(self) -> float:
        if not self.times:
            self._fetch()
        return self.times.popleft()


def remote_timer(device, model, input_shape: tuple[int, ...], *, seed: int = 0) -> RemoteTimer:
    """A paired-comparison timer of ``model`` (path, bytes or ``onnx.ModelProto``) on a remote device."""
    from profilers.units import load_model_bytes

    return RemoteTimer(device, load_model_bytes(model), input_shape, seed)
