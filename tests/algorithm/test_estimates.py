"""The anchored estimate: the table's ratio, each side without the share of its per-call costs by which the
table of the current network exceeds its measurement."""

import pytest
import torch

from devices import get_device
from lut.table import LatencyTable
from netadapt.algorithm import estimates as estimates_module
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


def test_a_measurement_at_the_table_keeps_the_plain_ratio(estimates):
    group = next(iter(estimates.graph.groups))
    count = estimates.graph.groups[group].size // 2
    estimates.anchor_ms = estimates.current_ms
    assert estimates.call_share() == 0.0 and estimates.weights_ms() == 0.0
    assert estimates.predicted(group, count) == pytest.approx(estimates.table_ms({group: count}))
    estimates.anchor_ms = float("nan")  # no measurement yet
    assert estimates.call_share() == 0.0 and estimates.weights_ms() == 0.0


def test_a_measurement_above_the_table_charges_the_excess_to_the_weights(estimates, monkeypatch):
    t0 = estimates.current_ms
    w0 = estimates.estimator.weight_bytes(estimates.units({}))
    monkeypatch.setattr(estimates_module, "MAX_READ_MS_PER_BYTE", 1.0)  # the fake device's tiny table
    estimates.anchor_ms = 1.6 * t0  # a whole model past the cache: its weights read on every inference
    assert estimates.call_share() == 0.0 and estimates.weights_ms() == pytest.approx(0.6 * t0)
    sizes = {}
    for group, grp in estimates.graph.groups.items():
        count = grp.size // 2
        t1 = estimates.table_ms({group: count})
        w1 = estimates.estimator.weight_bytes(estimates.units({group: count}))
        assert 0 < w1 < w0
        expected = 1.6 * t0 - (t0 - t1) - 0.6 * t0 * (w0 - w1) / w0
        assert estimates.predicted(group, count) == pytest.approx(expected)
        sizes[group] = (w0 - w1) / w0 - (t0 - t1) / t0
    # a cut that removes a larger share of the weights than of the table saves more than its table share
    # (the plain ratio), one that removes a smaller share less
    by_share = sorted(sizes, key=sizes.get)
    low, high = by_share[0], by_share[-1]
    assert sizes[low] < 0 < sizes[high]
    ratio = {g: 1.6 * estimates.table_ms({g: estimates.graph.groups[g].size // 2}) for g in (low, high)}
    assert estimates.predicted(low, estimates.graph.groups[low].size // 2) > ratio[low]
    assert estimates.predicted(high, estimates.graph.groups[high].size // 2) < ratio[high]


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


def test_an_excess_past_what_reading_the_weights_can_cost_scales_with_the_table(estimates, monkeypatch):
    t0 = estimates.current_ms
    w0 = estimates.estimator.weight_bytes(estimates.units({}))
    cap = 0.1 * t0 / w0  # reading every weight costs at most a tenth of the table
    monkeypatch.setattr(estimates_module, "MAX_READ_MS_PER_BYTE", cap)
    estimates.anchor_ms = 3.0 * t0  # a machine loaded three times over (or a table made elsewhere)
    assert estimates.weights_ms() == pytest.approx(0.1 * t0)
    group = next(iter(estimates.graph.groups))
    count = estimates.graph.groups[group].size // 2
    t1 = estimates.table_ms({group: count})
    w1 = estimates.estimator.weight_bytes(estimates.units({group: count}))
    expected = 2.9 * t1 + 0.1 * t0 * w1 / w0
    assert estimates.predicted(group, count) == pytest.approx(expected)
    monkeypatch.setattr(estimates_module, "MAX_READ_MS_PER_BYTE", 0.0)  # nothing charged to weights: the ratio
    assert estimates.predicted(group, count) == pytest.approx(3.0 * t1)
