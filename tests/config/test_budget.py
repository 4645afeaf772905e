import pytest
from hypothesis import given, strategies as st

from netadapt.config import ReductionSchedule, parse_budget
from netadapt.errors import UserError


@pytest.mark.parametrize("text,ms", [("20ms", 20.0), ("1.5s", 1500.0), ("800us", 0.8), (" 2 ms ", 2.0)])
def test_absolute_budgets(text, ms):
    b = parse_budget(text)
    assert not b.relative and b.resolve(123.0) == pytest.approx(ms)


def test_relative_budget():
    b = parse_budget("50%")
    assert b.relative and b.resolve(30.0) == pytest.approx(15.0)


@pytest.mark.parametrize("text", ["20", "-5ms", "0ms", "abc", "150%", "100%", "", "ms", "5 kg", "nan ms", "0%"])
def test_bad_budgets_are_one_line_errors(text):
    with pytest.raises(UserError) as info:
        parse_budget(text)
    assert "\n" not in str(info.value)


@given(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False), st.sampled_from(["us", "ms", "s"]))
def test_any_positive_latency_parses(value, unit):
    b = parse_budget(f"{value!r}{unit}")
    assert b.resolve(1.0) > 0


@given(st.text(max_size=12))
def test_parser_never_crashes(text):
    try:
        b = parse_budget(text)
    except UserError:
        return
    assert b.resolve(10.0) > 0


def test_schedule_decays_with_a_floor():
    s = ReductionSchedule(initial=0.025, decay=0.96, floor=0.01)
    assert s.reduction_ms(0, 100.0) == pytest.approx(2.5)
    assert s.reduction_ms(1, 100.0) == pytest.approx(2.4)
    assert s.fraction(100) == pytest.approx(0.01)
    # Without the floor, the steps sum to at most 62.5%; with it, any depth is reachable.
    assert sum(s.fraction(i) for i in range(200)) > 1.0
    assert sum(ReductionSchedule(floor=0.0).fraction(i) for i in range(1000)) < 0.626
