import math

import pytest

from lut.stats import Stats


def test_quantiles_on_known_samples():
    s = Stats.from_samples([float(v) for v in range(10, 0, -1)])  # 1..10, unordered
    assert s.median == pytest.approx(5.5)
    assert s.p10 == pytest.approx(1.9)
    assert s.p90 == pytest.approx(9.1)
    assert s.mean == pytest.approx(5.5)
    assert s.std == pytest.approx(math.sqrt(8.25))
    assert s.count == 10


def test_odd_count_median_is_middle_sample():
    s = Stats.from_samples([3.0, 100.0, 1.0, 2.0, 4.0])
    assert s.median == 3.0 and s.p10 == pytest.approx(1.4) and s.p90 == pytest.approx(61.6)


def test_single_sample_and_constant():
    assert Stats.from_samples([2.5]) == Stats(2.5, 2.5, 2.5, 2.5, 0.0, 1)
    assert Stats.constant(1.5, count=3) == Stats(1.5, 1.5, 1.5, 1.5, 0.0, 3)


def test_empty_rejected():
    with pytest.raises(ValueError):
        Stats.from_samples([])


def test_dict_round_trip():
    s = Stats.from_samples([1.0, 2.0, 4.0])
    assert Stats.from_dict(s.to_dict()) == s
    assert set(s.to_dict()) == {"median", "p10", "p90", "mean", "std", "count"}
