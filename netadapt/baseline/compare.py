"""Reading two latency-accuracy curves against each other by linear interpolation."""

from __future__ import annotations

import math


def _curve(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return sorted((float(x), float(y)) for x, y in points if x is not None and y is not None)


def interpolate(points: list[tuple[float, float]], x: float) -> float:
    """y at ``x`` on the piecewise-linear curve through ``points`` ((x, y) pairs); NaN outside its range."""
    pts = _curve(points)
    if not pts or not pts[0][0] <= x <= pts[-1][0]:
        return math.nan
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return pts[0][1]


def bracket(points: list[tuple[float, float]], x: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The two neighbouring points (in order of x) whose x span holds ``x``: the ones to read a value at
    ``x`` between. None when ``x`` lies outside every point's x (or only on a span of width zero)."""
    pts = _curve(points)
    for p0, p1 in zip(pts, pts[1:]):
        if p0[0] <= x <= p1[0] and p1[0] > p0[0]:
            return p0, p1
    return None


def latency_at_accuracy(points: list[tuple[float, float]], accuracy: float) -> float:
    """The smallest latency at which the curve through (latency, accuracy) points reaches ``accuracy``.

    Walks the curve from low to high latency and interpolates inside the first segment that crosses
    ``accuracy``; NaN when the curve never reaches it.
    """
    pts = _curve(points)
    if not pts:
        return math.nan
    if pts[0][1] >= accuracy:  # reached already at the lowest latency measured: no crossing to read
        return pts[0][0] if pts[0][1] == accuracy else math.nan
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if y0 < accuracy <= y1:
            return x0 + (x1 - x0) * (accuracy - y0) / (y1 - y0)
    return math.nan


def latency_ratio(ours: tuple[float, float], baseline: list[tuple[float, float]]) -> float:
    """How many times slower the baseline is at the accuracy of the point ``ours`` = (latency, accuracy).

    Above 1 means the baseline needs more latency for the same accuracy; NaN when the baseline curve does
    not reach that accuracy (or reaches it already below its lowest measured latency).
    """
    needed = latency_at_accuracy(baseline, ours[1])
    return needed / ours[0] if ours[0] > 0 and not math.isnan(needed) else math.nan
