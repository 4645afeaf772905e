"""Compare two models' latencies on one device by alternating them run by run.

A busy machine slows every run, so two blocks of runs measured one after the other (the "block"
method: N runs of the new model, then N of the reference) see different loads, and their
ratio moves by 10-20% when the load changes between the blocks. The paired method runs A, B, A, B,
... (A first in even pairs, B first in odd pairs, to cancel order effects) and takes the ratio
a/b of each pair. The two runs of a pair are a few milliseconds apart, so they see the same load,
and the ratio cancels it.

Statistics:
    The estimate is the median of the per-pair ratios. When the two models' run-to-run noise
    factors are alike (a multiplicative factor, whatever its shape: spikes included), the log of a
    pair's ratio is the true log ratio plus the difference of two alike noise terms, which is
    symmetric about zero; so the median of the pair ratios is the true ratio. A pair that a load
    change splits gives one outlier, up or down; the median ignores it.

    The interval is the distribution-free confidence interval of a median from order statistics:
    with n ratios sorted, ``[r_(k), r_(n-k+1)]`` where k is the largest rank with
    ``P(Binomial(n, 1/2) <= k - 1) <= alpha / 2``. Its coverage is at least ``1 - alpha`` for any
    continuous distribution of independent ratios, at every n, with no resampling. A bootstrap of
    the median is not used: it is discrete, random, and undercovers at small n.

    Adaptive stopping looks at the interval after ``min_pairs``, then each time the number of pairs
    has grown by ``growth`` (30, 60, 120, 240, 480 by default). With a decision threshold, stopping
    as soon as the interval leaves the threshold would make a 95% interval wrong more often than 5%
    (each look is another chance). So the interval used to stop, and reported, is the 95% interval
    split over the planned looks (Bonferroni: each look at ``alpha / looks``), valid whenever the
    loop stops. Without a threshold the loop stops on the interval's width, which does not depend
    on where the interval lies, so each look uses the plain ``alpha``.

The timing source is a :data:`Timer`: a callable that runs one model once and returns the time in
milliseconds. :func:`model_timer` builds one from an ONNX model on a device (an ONNX Runtime session,
or the fake profiler's constant latency on the fake device); tests build them from a simulated machine
(``tests/synthetic_machine.py``), and ``bench/measure_under_load.py`` sets the block method beside it.

Example::

    result = compare_models(device, "new.onnx", "start.onnx", (1, 3, 32, 32), threshold=20 / 21.3)
    print(report_latency(result, reference_ms=21.3, budget_ms=20.0))
    # 19.41 ms (95% CI 19.12-19.70 ms, 240 pairs) vs budget 20.00 ms -> met
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from netadapt.errors import UserError
from netadapt.inputs import device_inputs

Timer = Callable[[], float]
"""Runs one model once and returns its latency in milliseconds."""

MET, NOT_MET, UNCERTAIN = "met", "not met", "uncertain"

# The most pairs a final model is timed with near the budget's line before its verdict stands: the run's
# own final measurement and `netadapt verify` look equally hard, so the two can agree.
MAX_PAIRS_NEAR_LINE = 1920


# ---- configuration and results -----------------------------------------------------------------

@dataclass(frozen=True)
class PairedConfig:
    """How long to compare two models run by run.

    Attributes:
        warmup: untimed runs of each model before timing.
        min_pairs: pairs always timed (also with ``max_seconds`` reached).
        max_pairs: the most pairs timed.
        growth: after each look at the interval, the pair count is multiplied by this until
            ``max_pairs``; the looks are at ``min_pairs``, ``min_pairs * growth``, ...
        precision: without a threshold, stop once the interval's half-width is at most this
            fraction of the ratio; with one and ``precise``, stop only once the verdict is decided and
            the interval is this narrow.
        precise: with a threshold, keep timing past a decided verdict until the interval's half-width is
            within ``precision`` (or a limit is reached): a verdict can be decided on an interval too wide
            for the ratio to serve as a measurement (40 pairs of a 0.15 ms network at batch 1: +-6%).
        precise_seconds: with ``precise``, timing past a decided verdict stops at the first pair past this many
            seconds (None: only the other limits): precision is worth a few seconds, a decision more.
        max_seconds: stop at the first pair past this many seconds (after ``min_pairs``); None: no
            limit.
        confidence: the interval's confidence level (over all looks, with a threshold).
    """

    warmup: int = 10
    min_pairs: int = 30
    max_pairs: int = 480
    growth: float = 2.0
    precision: float = 0.01
    max_seconds: float | None = 60.0
    confidence: float = 0.95
    precise: bool = False
    precise_seconds: float | None = None

    def __post_init__(self):
        if self.warmup < 0:
            raise UserError(f"warmup must be >= 0 (got {self.warmup})")
        if not 1 <= self.min_pairs <= self.max_pairs:
            raise UserError(f"need 1 <= min_pairs <= max_pairs (got {self.min_pairs}, {self.max_pairs})")
        if self.growth <= 1:
            raise UserError(f"growth must be > 1 (got {self.growth})")
        if self.precision <= 0:
            raise UserError(f"precision must be > 0 (got {self.precision})")
        if not 0 < self.confidence < 1:
            raise UserError(f"confidence must be in (0, 1) (got {self.confidence})")

    def looks(self) -> list[int]:
        """The pair counts at which the interval is checked."""
        counts = [self.min_pairs]
        while counts[-1] < self.max_pairs:
            counts.append(min(self.max_pairs, max(counts[-1] + 1, math.ceil(counts[-1] * self.growth))))
        return counts


@dataclass(frozen=True)
class PairedResult:
    """The latency ratio A / B from paired runs.

    Attributes:
        ratio: median of the per-pair ratios a / b.
        low: lower end of the interval of the ratio (0.0 when too few pairs for one).
        high: upper end of the interval (inf when too few pairs for one).
        pairs: pairs timed.
        a_ms: median latency of model A over its timed runs, in milliseconds.
        b_ms: median latency of model B, in milliseconds.
        seconds: wall time spent, warm-up included.
        confidence: the interval's confidence level.
        threshold: the decision threshold on the ratio, or None.
        verdict: with a threshold: "met" (high <= threshold), "not met" (low > threshold) or
            "uncertain" (the interval straddles it); None without one.
        stopped: why timing stopped: "decided", "precision", "max_pairs" or "max_seconds".
        ratios: every pair's ratio, in timing order.
    """

    ratio: float
    low: float
    high: float
    pairs: int
    a_ms: float
    b_ms: float
    seconds: float
    confidence: float
    threshold: float | None
    verdict: str | None
    stopped: str
    ratios: tuple[float, ...] = field(default=(), repr=False)

    @property
    def relative_half_width(self) -> float:
        """Half the interval's width as a fraction of the ratio."""
        return (self.high - self.low) / 2 / self.ratio


@dataclass(frozen=True)
class LatencyReport:
    """A latency derived from a ratio to a reference model.

    Attributes:
        ms: reference_ms x ratio.
        low_ms: reference_ms x the interval's low end.
        high_ms: reference_ms x the interval's high end.
        pairs: pairs timed.
        confidence: the interval's confidence level.
        budget_ms: the budget compared with, or None.
        verdict: "met", "not met" or "uncertain" against the budget; None without one.
    """

    ms: float
    low_ms: float
    high_ms: float
    pairs: int
    confidence: float
    budget_ms: float | None = None
    verdict: str | None = None

    def __str__(self) -> str:
        digits = _decimals(self.ms)
        text = (f"{self.ms:.{digits}f} ms ({self.confidence:.0%} CI {self.low_ms:.{digits}f}-"
                f"{self.high_ms:.{digits}f} ms, {self.pairs} pairs)")
        if self.budget_ms is not None:
            text += f" vs budget {self.budget_ms:.{digits}f} ms -> {self.verdict}"
        return text


# ---- statistics --------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _rank(n: int, alpha: float) -> int:
    """Largest k with P(Binomial(n, 1/2) <= k - 1) <= alpha / 2; 0 when even k = 1 fails."""
    total = 1 << n
    cum = 0
    for k in range(1, n + 1):
        cum += math.comb(n, k - 1)
        if cum / total > alpha / 2:
            return k - 1
    return n  # unreachable for alpha < 1


def median_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """The median of ``values`` and a distribution-free confidence interval for it.

    Args:
        values: independent samples of a continuous quantity.
        confidence: the interval's confidence level.

    Returns:
        (median, low, high); low = 0.0 and high = inf when there are too few values for any
        interval at this level (fewer than 6 at 95%).
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median_interval needs at least one value")
    n = len(ordered)
    k = _rank(n, round(1 - confidence, 12))
    med = statistics.median(ordered)
    if k == 0:
        return med, 0.0, math.inf
    return med, ordered[k - 1], ordered[n - k]


def _verdict(low: float, high: float, threshold: float | None) -> str | None:
    if threshold is None:
        return None
    if high <= threshold:
        return MET
    if low > threshold:
        return NOT_MET
    return UNCERTAIN


# ---- the two methods ---------------------------------------------------------------------------

def compare_timers(timer_a: Timer, timer_b: Timer, *, threshold: float | None = None,
                   config: PairedConfig | None = None,
                   clock: Callable[[], float] = time.perf_counter) -> PairedResult:
    """Estimate latency(A) / latency(B) by alternating the two timers run by run.

    Args:
        timer_a: times model A once (milliseconds).
        timer_b: times model B once (milliseconds).
        threshold: a decision threshold on the ratio (e.g. budget_ms / reference_ms). With one, the
            loop stops as soon as the interval lies on one side of it (and, with ``config.precise``, is
            within ``config.precision``).
        config: pairs, looks, limits and confidence.
        clock: seconds, for ``max_seconds`` and ``seconds`` (a simulated clock in tests).

    Returns:
        The ratio, its interval, and with a threshold the verdict.
    """
    cfg = config or PairedConfig()
    looks = cfg.looks()
    alpha = 1 - cfg.confidence
    look_confidence = 1 - alpha / len(looks) if threshold is not None else cfg.confidence
    start = clock()
    a_samples: list[float] = []
    b_samples: list[float] = []
    ratios: list[float] = []
    stopped = "max_pairs"
    gc_enabled = gc.isenabled()
    gc.disable()  # a collection inside a sample would be charged to one model
    try:
        for _ in range(cfg.warmup):
            timer_a()
            timer_b()
        decided = precision_spent = False
        for target in looks:
            while len(ratios) < target:
                if len(ratios) % 2 == 0:
                    a = timer_a()
                    b = timer_b()
                else:
                    b = timer_b()
                    a = timer_a()
                a_samples.append(a)
                b_samples.append(b)
                ratios.append(a / b)
                if (cfg.max_seconds is not None and len(ratios) >= cfg.min_pairs
                        and clock() - start >= cfg.max_seconds):
                    stopped = "max_seconds"
                    break
                if decided and cfg.precise_seconds is not None and clock() - start >= cfg.precise_seconds:
                    precision_spent = True  # only the precision was still sought
                    break
            ratio, low, high = median_interval(ratios, look_confidence)
            narrow = (high - low) / 2 <= cfg.precision * ratio
            decided = threshold is not None and _verdict(low, high, threshold) != UNCERTAIN
            if decided and (narrow or not cfg.precise or precision_spent):
                stopped = "decided"
                break
            precision_spent = False  # undecided again on the pairs since: timing goes on to decide
            if threshold is None and narrow:
                stopped = "precision"
                break
            if stopped == "max_seconds":
                break
    finally:
        if gc_enabled:
            gc.enable()
    return PairedResult(ratio=ratio, low=low, high=high, pairs=len(ratios),
                        a_ms=statistics.median(a_samples), b_ms=statistics.median(b_samples),
                        seconds=clock() - start, confidence=cfg.confidence, threshold=threshold,
                        verdict=_verdict(low, high, threshold), stopped=stopped, ratios=tuple(ratios))


# ---- timers ------------------------------------------------------------------------------------


def model_timer(device, model, input_shape, *, seed: int = 0) -> Timer:
    """A timer for one ONNX model on a device, made by the device's profiler (``Profiler.model_timer``).

    On an ONNX Runtime device it builds the session once and times each ``session.run`` with
    ``time.perf_counter_ns``, on one random input of ``input_shape`` from a generator seeded with
    ``seed`` (the conventions of ``OrtProfiler.measure_model``). On a device timed by the fake
    profiler it returns the fake profiler's (constant) latency of the model. On a device reached
    through an agent it returns a ``profilers.remote_profiler.RemoteTimer``: the agent runs this model
    and the one of the next (or previous) timer made on the device in turn, in batches, and each call
    returns the next of its times.

    Args:
        device: the device.
        model: the ONNX model: a file path, serialized bytes or an ``onnx.ModelProto``.
        input_shape: the shape of the model's single input, or its inputs (``netadapt.inputs``).
        seed: seed of the input generator.

    Raises:
        UserError: the model has more than one input, another input shape or an unsupported type.
    """
    from profilers import get_profiler

    return get_profiler(device).model_timer(model, device_inputs(input_shape), seed=seed)


def compare_models(device, model_a, model_b, input_shape, *,
                   threshold: float | None = None, config: PairedConfig | None = None,
                   seed: int = 0) -> PairedResult:
    """Estimate latency(A) / latency(B) of two ONNX models on a device, run by run.

    Each model runs in the profiler's ``sessions_per_model`` sessions (two on ONNX Runtime), made in the
    order A B B A and taken in turn, ``PAIRS_PER_SESSION`` pairs at a time, so the older session is A's in
    as many pairs as B's (the planned looks, 30, 60, 120, ... pairs, are whole turns). At batch 1 a
    session made before another of the same model runs a few percent slower than it (measured on the CPU at
    64x64, medians of six comparisons of a model with itself: MNASNet 0.5 +2.2% and EfficientNet-B0 +3.1% when
    A was made first, -1.4% and -2.9% when B was; made A B B A, +0.4% and -0.3%), which would otherwise be
    charged to whichever model was made first.

    Args:
        device: the device (``devices.get_device(...)``).
        model_a: the model measured (path, bytes or ``onnx.ModelProto``), e.g. the new model.
        model_b: the reference, e.g. the starting model.
        input_shape: the shape of each model's single input, or their inputs (``netadapt.inputs``).
        threshold: a decision threshold on the ratio, e.g. budget_ms / reference_ms.
        config: pairs, looks, limits and confidence.
        seed: seed of the input generator (both models get the same input).
    """
    from profilers import get_profiler

    profiler, inputs = get_profiler(device), device_inputs(input_shape)
    timers_a: list[Timer] = []
    timers_b: list[Timer] = []
    for i in range(max(1, int(getattr(profiler, "sessions_per_model", 1)))):  # made in the order A B B A A B ...
        made = [(model_a, timers_a), (model_b, timers_b)]
        for model, timers in made if i % 2 == 0 else made[::-1]:
            timers.append(profiler.model_timer(model, inputs, seed=seed))
    return compare_timers(in_turn(timers_a), in_turn(timers_b), threshold=threshold, config=config)


#: Pairs timed on one pair of sessions before the next pair of sessions takes over (``in_turn``): switching
#: at every run would keep every session's weights out of the cache, which a deployed model does not see.
PAIRS_PER_SESSION = 5


def in_turn(timers: list[Timer], every: int = PAIRS_PER_SESSION) -> Timer:
    """One timer that runs ``timers`` in turn, ``every`` calls each (the only one when there is one)."""
    if len(timers) == 1:
        return timers[0]
    calls = itertools.count()
    return lambda: timers[next(calls) // every % len(timers)]()


def report_latency(result: PairedResult, reference_ms: float,
                   budget_ms: float | None = None) -> LatencyReport:
    """Turn a ratio to a reference model into a latency with its interval.

    Args:
        result: the ratio of the model to the reference.
        reference_ms: the reference model's latency in milliseconds.
        budget_ms: a budget to judge against; defaults to ``result.threshold x reference_ms`` when
            the result has a threshold.

    Returns:
        reference_ms x (ratio, low, high), and the verdict against the budget; ``str()`` of it is a
        one-line summary.
    """
    if budget_ms is None and result.threshold is not None:
        budget_ms = result.threshold * reference_ms
    low_ms, high_ms = reference_ms * result.low, reference_ms * result.high
    verdict = None if budget_ms is None else _verdict(low_ms, high_ms, budget_ms)
    return LatencyReport(ms=reference_ms * result.ratio, low_ms=low_ms, high_ms=high_ms,
                         pairs=result.pairs, confidence=result.confidence, budget_ms=budget_ms,
                         verdict=verdict)


def _decimals(ms: float) -> int:
    """Decimals showing about four significant digits, at least two."""
    if not math.isfinite(ms) or ms <= 0:
        return 2
    return max(2, 3 - math.floor(math.log10(ms)))
