"""When the loop stops, and how far under the budget its last steps aim: plain rules on measured records.

A record is an iteration's ``info`` (or the final model's): its ``measured_ms``, and for every model timed
against the start, the paired measurement's ``verdict`` and interval (``measured_high_ms``, ``ratio_low``,
``ratio_high``, ``ratio``). ``exact`` says the device's latencies carry no noise (the fake device): there the
budget itself is the line.
"""

from __future__ import annotations

# Before any paired measurement has said how precise one is on this device, the last step aims this far
# (relative) under the budget on a real device, so its measurement can confirm the budget.
DEFAULT_MARGIN = 0.01
# A paired interval covers the noise of one measurement, not a ratio that drifts between measurements: with
# more CPU-bound processes than cores, two measurements of one model were seen up to 2.5% apart. On a real
# device the run stops only when its iteration's interval lies this far (relative) under the budget, so the
# final model, measured again after its long-term fine-tune, still meets it.
DRIFT_MARGIN = 0.02
# The paired measurement's verdict that a model misses a budget.
NOT_MET = "not met"


def met(info: dict, budget_ms: float) -> bool:
    """Whether a measured model meets the budget: its paired measurement's verdict (the interval's upper end
    within the budget); the start model, measured alone, by its latency."""
    if info.get("verdict") is not None:
        return info["verdict"] == "met"
    return info["measured_ms"] <= budget_ms


def stop_line(budget_ms: float, exact: bool) -> float:
    """What the loop stops under and aims its last steps at: ``DRIFT_MARGIN`` under the budget on a real
    device, the budget itself on an exact one."""
    return budget_ms if exact else budget_ms * (1 - DRIFT_MARGIN)


def stops(info: dict, budget_ms: float, exact: bool) -> bool:
    """Whether the loop stops at this measured model: it meets the budget, and the upper end of its interval
    is under the stop line."""
    high = info.get("measured_high_ms", info["measured_ms"])
    return met(info, budget_ms) and high <= stop_line(budget_ms, exact)


def floor(info: dict, line_ms: float, exact: bool) -> float:
    """The lowest target an iteration aims at: under ``line_ms`` by twice the relative half-width of the last
    paired measurement, so the measurement of a network that reaches it confirms the line instead of
    straddling it."""
    if "ratio_low" in info and info.get("ratio"):
        half = (info["ratio_high"] - info["ratio_low"]) / 2 / info["ratio"]
    else:
        half = 0.0 if exact else DEFAULT_MARGIN
    return line_ms / (1 + 2 * min(max(half, 0.0), 0.25))
