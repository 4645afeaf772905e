"""Which of an iteration's feasible candidates the run keeps.

'accuracy' is the paper's rule: the best holdout score. 'efficiency' is how MobileNetV3 used NetAdapt: the
least score lost per millisecond saved against the network the iteration started from, so a cut that
saves three times the latency may lose up to three times the score. Milliseconds saved count only down to the
line the run stops under: a cut past it ends the run there, and what it saves beyond is worth nothing, so in the
step that reaches the line every candidate saves the same and the best score is kept."""

from __future__ import annotations

from typing import Callable, Sequence

from netadapt.config.run import SELECTIONS

__all__ = ["SELECTIONS", "select_candidate", "slower_than_cut"]


def select_candidate(feasible: Sequence[dict], current: dict, selection: str,
                     value: Callable[[dict], float], stop_ms: float | None = None) -> dict:
    """The kept candidate of ``feasible`` (dicts with a score ``value`` reads and ``predicted_ms``; a
    classifier's ``holdout_accuracy`` breaks ties of another score).

    ``current`` is the iteration's starting network (its ``measured_ms`` and holdout score), ``value`` reads
    a candidate's or the current network's holdout score, higher is better. ``stop_ms`` is the latency the run
    stops under (none: every millisecond saved counts). Ties go to the first candidate in ``feasible``'s
    order."""
    if not feasible:
        raise ValueError("no feasible candidate to select from")
    if selection == "accuracy":
        return max(feasible, key=lambda c: (value(c), c.get("holdout_accuracy", 0.0), -c["predicted_ms"]))
    if selection == "efficiency":
        before = value(current)
        line = float("-inf") if stop_ms is None else stop_ms

        def per_ms(c):
            saved = max(current["measured_ms"] - max(c["predicted_ms"], line), 1e-9)
            return (value(c) - before) / saved
        return max(feasible, key=lambda c: (per_ms(c), value(c)))
    raise ValueError(f"unknown selection {selection!r}; valid: {', '.join(SELECTIONS)}")


def slower_than_cut(measurement: dict, current_ms: float) -> str | None:
    """Why the kept candidate is refused once measured: its whole 95% interval lies above the latency of the
    network it was cut from (the table promised a saving, the device ran it slower: at batch 1 some channel
    counts fall off the fast kernels); None when it is not clearly slower. A measurement without an interval
    (one timed run) is judged by its value."""
    low = measurement.get("measured_low_ms", measurement["measured_ms"])
    if low <= current_ms:
        return None
    return (f"measured {measurement['measured_ms']:.3f} ms (95% CI from {low:.3f}), slower than the "
            f"{current_ms:.3f} ms network it was cut from")
