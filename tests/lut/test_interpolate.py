import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lut.interpolate import estimate_from
from lut.signature import LayerSignature


def _sig(cin, cout, groups=1):
    return LayerSignature("conv", 1, cin, 8, 8, cout, kernel=3, padding=1, groups=groups)


channels = st.lists(st.integers(1, 256), min_size=2, max_size=5, unique=True).map(sorted)
coef = st.floats(0.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(cins=channels, couts=channels, a=coef, b=coef, c=coef, d=coef, data=st.data())
def test_bilinear_is_exact_for_bilinear_latency(cins, couts, a, b, c, d, data):
    latency = lambda s: a + b * s.cin + c * s.cout + d * 1e-3 * s.cin * s.cout
    rows = [(_sig(x, y), latency(_sig(x, y))) for x in cins for y in couts]
    cin = data.draw(st.integers(cins[0], cins[-1]))
    cout = data.draw(st.integers(couts[0], couts[-1]))
    value, method = estimate_from(rows, _sig(cin, cout))
    assert value == pytest.approx(latency(_sig(cin, cout)), rel=1e-9, abs=1e-9)
    assert method.split()[0] in ("exact", "bilinear(cin,cout)", "linear-macs")


@settings(max_examples=60, deadline=None)
@given(couts=channels, a=coef, b=coef, data=st.data())
def test_linear_in_macs_is_exact_for_affine_latency(couts, a, b, data):
    latency = lambda s: a + b * s.macs / 1e6
    rows = [(_sig(16, y), latency(_sig(16, y))) for y in couts]
    cout = data.draw(st.integers(1, 300))
    value, method = estimate_from(rows, _sig(16, cout))
    expected = max(0.0, latency(_sig(16, cout)))
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)
    inside = couts[0] <= cout <= couts[-1]
    assert ("extrapolated" in method) == (not inside and cout not in couts)


def test_nearest_cell_is_used():
    rows = [(_sig(x, y), float(x * 1000 + y)) for x in (8, 16, 64) for y in (8, 16, 64)]
    _, method = estimate_from(rows, _sig(12, 40))
    assert method == "bilinear(cin,cout) from 4 rows: cin 8..16, cout 16..64"


def test_one_row_cannot_estimate():
    assert estimate_from([(_sig(8, 8), 1.0)], _sig(8, 16)) is None
    assert estimate_from([], _sig(8, 16)) is None
