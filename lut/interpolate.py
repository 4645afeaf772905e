"""Estimate an unmeasured signature from measured neighbours that differ only in channel counts.

Latency is close to affine in MACs when only one channel count changes, and close to bilinear in
(cin, cout) when both do. Bilinear interpolation over the nearest enclosing grid cell is tried first;
otherwise linear interpolation in MACs along one axis (same cin, same cout, or all comparable rows).
Extrapolation is used only when no axis brackets the target, and the method string says so.
"""

from __future__ import annotations

import bisect
import itertools

from lut.signature import LayerSignature

_NEAREST = 4  # candidate grid lines tried on each side of the target


def _bilinear(points: dict[tuple[int, int], float], sig: LayerSignature) -> tuple[float, str] | None:
    cins = sorted({c for c, _ in points})
    couts = sorted({d for _, d in points})
    lo_c = [c for c in reversed(cins) if c < sig.cin][:_NEAREST]
    hi_c = [c for c in cins if c > sig.cin][:_NEAREST]
    lo_d = [d for d in reversed(couts) if d < sig.cout][:_NEAREST]
    hi_d = [d for d in couts if d > sig.cout][:_NEAREST]
    best = None
    for c0, c1, d0, d1 in itertools.product(lo_c, hi_c, lo_d, hi_d):
        if all(k in points for k in ((c0, d0), (c0, d1), (c1, d0), (c1, d1))):
            area = (c1 - c0) * (d1 - d0)
            if best is None or area < best[0]:
                best = (area, c0, c1, d0, d1)
    if best is None:
        return None
    _, c0, c1, d0, d1 = best
    tc = (sig.cin - c0) / (c1 - c0)
    td = (sig.cout - d0) / (d1 - d0)
    value = ((1 - tc) * (1 - td) * points[c0, d0] + tc * (1 - td) * points[c1, d0]
             + (1 - tc) * td * points[c0, d1] + tc * td * points[c1, d1])
    return value, f"bilinear(cin,cout) from 4 rows: cin {c0}..{c1}, cout {d0}..{d1}"


def _along(rows: list[tuple[LayerSignature, float]], sig: LayerSignature, axis: str):
    """Linear in MACs between the two rows nearest the target; (value, method, interpolated) or None."""
    by_macs: dict[int, float] = {}
    for s, ms in rows:
        by_macs.setdefault(s.macs, ms)
    macs = sorted(by_macs)
    if len(macs) < 2:
        return None
    target = sig.macs
    i = bisect.bisect_left(macs, target)
    inside = 0 < i < len(macs)
    m0, m1 = (macs[i - 1], macs[i]) if inside else ((macs[0], macs[1]) if i == 0 else (macs[-2], macs[-1]))
    v0, v1 = by_macs[m0], by_macs[m1]
    value = max(0.0, v0 + (v1 - v0) * (target - m0) / (m1 - m0))
    how = "from" if inside else "extrapolated from"
    return value, f"linear-macs along {axis} {how} 2 rows: macs {m0}..{m1}", inside


def estimate_from(rows: list[tuple[LayerSignature, float]], sig: LayerSignature) -> tuple[float, str] | None:
    """Estimate ``sig``'s median from comparable measured rows, or None when they cannot tell.

    Args:
        rows: (signature, median ms) pairs equal to ``sig`` in every field but cin, cout and groups.
        sig: the target.
    """
    points = {(s.cin, s.cout): ms for s, ms in rows}
    if (sig.cin, sig.cout) in points:
        return points[sig.cin, sig.cout], "exact"
    found = _bilinear(points, sig)
    if found is not None:
        return found
    axes = [
        (f"cout (cin={sig.cin})", [r for r in rows if r[0].cin == sig.cin]),
        (f"cin (cout={sig.cout})", [r for r in rows if r[0].cout == sig.cout]),
        ("channels", rows),
    ]
    fallback = None
    for axis, subset in axes:
        found = _along(subset, sig, axis)
        if found is not None:
            if found[2]:
                return found[0], found[1]
            fallback = fallback or (found[0], found[1])
    return fallback
