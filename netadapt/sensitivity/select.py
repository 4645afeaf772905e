"""From a scan to per-group ratios: by an accuracy-drop threshold, or by the smallest threshold that
meets a global budget (parameters or latency)."""

from __future__ import annotations

from typing import Callable, Iterable

from netadapt.errors import UserError
from netadapt.sensitivity.scan import SensitivityRow


def ratios_for_threshold(rows: Iterable[SensitivityRow], threshold: float) -> dict[str, float]:
    """Each group's largest scanned ratio whose drop, and the drop of every smaller ratio, is at most
    ``threshold``. Requiring the smaller ratios too keeps one lucky point on a noisy curve from being
    chosen past a region that already hurt."""
    by_group: dict[str, list[SensitivityRow]] = {}
    for row in rows:
        by_group.setdefault(row.group, []).append(row)
    chosen = {}
    for group, points in by_group.items():
        best = 0.0
        for row in sorted(points, key=lambda p: p.ratio):
            if row.drop > threshold:
                break
            best = row.ratio
        chosen[group] = best
    return chosen


def search_threshold(rows: list[SensitivityRow], cost: Callable[[dict[str, float]], float],
                     target: float) -> tuple[float, dict[str, float], float]:
    """The smallest threshold whose ratios bring ``cost`` to ``target`` or below.

    The ratios only grow with the threshold, so the cost only falls: a binary search over the
    thresholds where the ratios change (the scanned drops) finds it.

    Returns:
        (threshold, ratios, cost at those ratios).

    Raises:
        UserError: even the largest scanned ratios miss the target.
    """
    thresholds = sorted({0.0, *(max(0.0, r.drop) for r in rows)})
    lo, hi = 0, len(thresholds) - 1
    top = ratios_for_threshold(rows, thresholds[hi])
    top_cost = cost(top)
    if top_cost > target:
        raise UserError(f"even every group at its largest scanned ratio costs {top_cost:.6g} > target "
                        f"{target:.6g}; scan larger ratios")
    found = (thresholds[hi], top, top_cost)
    while lo < hi:
        mid = (lo + hi) // 2
        ratios = ratios_for_threshold(rows, thresholds[mid])
        value = cost(ratios)
        if value <= target:
            found, hi = (thresholds[mid], ratios, value), mid
        else:
            lo = mid + 1
    return found


def smallest_passing(ok: Callable[[float], bool], lo: float, hi: float, tol: float) -> float:
    """Bisection: the smallest value in (lo, hi] (to within ``tol``) where ``ok`` holds, given that ``ok``
    holds at ``hi`` and from any passing value upwards."""
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def fill_budget(rows: list[SensitivityRow], cost: Callable[[dict[str, float]], float], target: float,
                threshold: float, ratios: dict[str, float], tol: float = 1e-3) -> dict[str, float]:
    """``search_threshold``'s ratios brought up to ``target``: scanned ratios come on a grid, so a threshold's
    ratios can undershoot the budget by a whole step; they are blended with the next-lower threshold's
    ratios (bisection on the mix) until the cost lands on the target from below."""
    lower = [d for d in sorted({max(0.0, r.drop) for r in rows} | {0.0}) if d < threshold]
    if not lower:
        return ratios
    below = ratios_for_threshold(rows, lower[-1])

    def mix(a: float) -> dict[str, float]:
        return {g: (1 - a) * below[g] + a * ratios[g] for g in ratios}

    return mix(smallest_passing(lambda a: cost(mix(a)) <= target, 0.0, 1.0, tol))
