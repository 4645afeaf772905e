"""The anchored estimate: the table's ratio, each side without the share of its per-call costs by which the
table of the current network exceeds its measurement."""

import pytest
import torch

from devices import get_device
from lut.table import LatencyTable
from netadapt.algorithm.estimates import CandidateEstimates
from netadapt.latency import LatencyEstimator
from netadapt.models import create_model
from netadapt.pruning import analyze
from profilers import ProfileConfig, get_profiler


@pytest.fixture
def estimates(tmp_path):
    torch.manual_seed(0)
    shape = (1, 3, 16, 16)
    net = create_model("mobilenet_v1", num_classes=10, width_mult=0.25).eval()
    device = get_device("fake")
    estimator = LatencyEstimator(LatencyTable(str(tmp_path / "lut.db")), device,
                                 get_profiler(device, ProfileConfig(warmup=0, repeats=1)))
    estimator.call_ms = lambda units: 0.001 * len(units)  # every node pays 1 us per call when timed alone
    return CandidateEstimates(estimator, net, analyze(net, shape), float("nan"))


def test_a_measurement_below_the_table_takes_that_share_of_the_call_costs_off_both_sides(estimates):
    t0, n0 = estimates.current_ms, len(estimates.units({}))
    group = next(iter(estimates.graph.groups))
    count = estimates.graph.groups[group].size // 2
    t1, n1 = estimates.table_ms({group: count}), len(estimates.units({group: count}))

    estimates.anchor_ms = t0 - 0.5 * 0.001 * n0  # the measurement is half the call costs below the table
    assert estimates.call_share() == pytest.approx(0.5)
    expected = estimates.anchor_ms * (t1 - 0.0005 * n1) / (t0 - 0.0005 * n0)
    assert estimates.predicted(group, count) == pytest.approx(expected)
    assert estimates.predicted(group, count) < estimates.anchor_ms * t1 / t0  # a cut saves more than the ratio says

    estimates.anchor_ms = 0.5 * (t0 - 0.001 * n0)  # far below: at most all of each call cost comes off
    assert estimates.call_share() == 1.0


def test_a_measurement_at_or_above_the_table_keeps_the_plain_ratio(estimates):
    group = next(iter(estimates.graph.groups))
    count = estimates.graph.groups[group].size // 2
    for anchor in (estimates.current_ms, 1.3 * estimates.current_ms):
        estimates.anchor_ms = anchor
        assert estimates.call_share() == 0.0
        assert estimates.predicted(group, count) == anchor * estimates.table_ms({group: count}) / estimates.current_ms
    estimates.anchor_ms = float("nan")  # no measurement yet
    assert estimates.call_share() == 0.0


def test_the_fake_device_has_no_call_cost(tmp_path):
    device = get_device("fake")
    estimator = LatencyEstimator(LatencyTable(str(tmp_path / "lut.db")), device,
                                 get_profiler(device, ProfileConfig(warmup=0, repeats=1)))
    torch.manual_seed(0)
    net = create_model("mobilenet_v1", num_classes=10, width_mult=0.25).eval()
    assert estimator.call_ms(estimator.units(net, (1, 3, 16, 16))) == 0.0


def test_on_the_cpu_the_call_costs_are_a_part_of_the_table_sum(tmp_path):
    device = get_device("cpu", threads=1)
    estimator = LatencyEstimator(LatencyTable(str(tmp_path / "lut.db")), device,
                                 get_profiler(device, ProfileConfig(warmup=2, repeats=5)))
    torch.manual_seed(0)
    net = create_model("digits_cnn", num_classes=10, width_mult=0.25).eval()
    units = estimator.units(net, (1, 1, 8, 8))
    assert 0.0 < estimator.call_ms(units) <= estimator.total_of(units)
