"""Property tests: the budget and input-shape parsers fail only with UserError and round-trip valid input."""

import math

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from netadapt.config.budget import parse_budget
from netadapt.cli.options import parse_input_shape
from netadapt.errors import UserError

UNITS = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}
# Text close to the grammar finds more edge cases than arbitrary unicode alone.
NEAR_BUDGET = st.lists(st.sampled_from(list("0123456789.+-eE %xXusm µ\t٣") + ["ms", "us", "s", "%", "inf", "nan"]),
                       max_size=12).map("".join)
NEAR_SHAPE = st.lists(st.sampled_from(list("0123456789xX, -+.\t٣") + ["99999999", "0"]), max_size=16).map("".join)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _budget_ok(text):
    try:
        b = parse_budget(text)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert b.value > 0 and math.isfinite(b.value)
    assert (b.relative and b.value < 1) or not b.relative
    return b


@SETTINGS
@given(st.one_of(st.text(max_size=40), NEAR_BUDGET))
@example("9" * 5000 + "ms")
@example("1e999ms")
@example("٣ms")
@example("nan%")
@example("-0ms")
@example("5e-324us")
@example("1e308s")
def test_budget_parser_raises_only_user_error(text):
    _budget_ok(text)


@SETTINGS
@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False),
       st.sampled_from(sorted(UNITS)), st.sampled_from(["", " ", "  "]))
def test_absolute_budgets_round_trip(value, unit, space):
    b = parse_budget(f" {value!r}{space}{unit} ")
    assert not b.relative
    assert b.resolve(123.0) == pytest.approx(value * UNITS[unit], rel=1e-12)
    again = parse_budget(str(b))
    assert again.value == b.value and again.relative is False


@SETTINGS
@given(st.floats(min_value=1e-6, max_value=99.999, allow_nan=False))
def test_relative_budgets_round_trip(percent):
    b = parse_budget(f"{percent!r}%")
    assert b.relative and b.resolve(200.0) == pytest.approx(2.0 * percent, rel=1e-12)
    assert parse_budget(str(b)) == b


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(sorted(UNITS) + ["%"]))
@example(5e-324, "us")
@example(1e308, "s")
@example(5e-324, "%")
def test_any_float_with_a_unit_parses_or_is_refused(value, unit):
    b = _budget_ok(f"{value!r}{unit}")
    scale = 0.01 if unit == "%" else UNITS[unit]
    sensible = math.isfinite(value) and 0 < value * scale < math.inf and (unit != "%" or value < 100)
    assert (b is not None) == sensible


def _shape_ok(text):
    try:
        dims = parse_input_shape(text)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(dims, tuple) and len(dims) == 4
    assert all(isinstance(d, int) and 1 <= d <= 100_000 for d in dims)
    return dims


@SETTINGS
@given(st.one_of(st.text(max_size=40), NEAR_SHAPE))
@example("1x1x1x" + "9" * 5000)
@example("")
@example("1x3x32x32x")
@example("٣x3x3x3")
@example("0001x3x32x32")
def test_shape_parser_raises_only_user_error(text):
    _shape_ok(text)


@SETTINGS
@given(st.lists(st.integers(1, 100_000), min_size=4, max_size=4),
       st.lists(st.sampled_from(["x", "X", ",", " x ", " , ", "x  "]), min_size=3, max_size=3),
       st.sampled_from(["", " ", "\t"]))
def test_valid_shapes_round_trip(dims, seps, pad):
    text = pad + str(dims[0]) + "".join(s + str(d) for s, d in zip(seps, dims[1:])) + pad
    assert parse_input_shape(text) == tuple(dims)
    assert parse_input_shape("x".join(map(str, parse_input_shape(text)))) == tuple(dims)


@SETTINGS
@given(st.lists(st.integers(-10, 200_000), min_size=0, max_size=7))
def test_shapes_of_any_length_and_range(dims):
    got = _shape_ok("x".join(map(str, dims)))
    valid = len(dims) == 4 and all(1 <= d <= 100_000 for d in dims)
    assert (got == tuple(dims)) if valid else got is None


@pytest.mark.parametrize("value", [None, 20, 1.5, b"20ms", ["20ms"]])
def test_non_strings_are_user_errors(value):
    with pytest.raises(UserError):
        parse_budget(value)
    with pytest.raises(UserError):
        parse_input_shape(value)
