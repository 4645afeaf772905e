import pytest
import torch
import torch.nn as nn

from netadapt.criteria import create_criterion, list_criteria
from netadapt.errors import UserError
from netadapt.pruning import analyze


def _net():
    net = nn.Sequential(nn.Conv2d(1, 4, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Conv2d(4, 2, 1))
    with torch.no_grad():
        # rows: L1 = 3, 4, 2.2, 5 ; L2 = 3, ~2.83, 2.2, ~3.54 (one weight per filter here -> use 1x1x1)
        net[0].weight.copy_(torch.tensor([3.0, -4.0, 2.2, 5.0]).view(4, 1, 1, 1))
        net[1].weight.copy_(torch.tensor([0.5, 0.1, 2.0, 1.0]))
    return net


def test_registry_lists_and_rejects():
    assert {"l1", "l2", "random", "bn_scale"} <= set(list_criteria())
    with pytest.raises(UserError, match="valid: .*l2"):
        create_criterion("nope")


def test_magnitude_rankings():
    net = _net()
    g = analyze(net, (1, 1, 2, 2)).groups["0"]
    assert create_criterion("l2").select(net, g, 2) == [1, 3]
    assert create_criterion("l1").select(net, g, 3) == [0, 1, 3]
    assert create_criterion("bn_scale").select(net, g, 2) == [2, 3]


def test_l1_and_l2_differ_on_spread_filters():
    net = nn.Sequential(nn.Conv2d(1, 2, (1, 2), bias=False) if False else nn.Linear(2, 2), nn.ReLU(),
                        nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 1.0], [1.5, 0.0]]))
    g = analyze(net, (1, 2)).groups["0"]
    # L1: 2.0 vs 1.5 -> keeps row 0; L2: 1.41 vs 1.5 -> keeps row 1
    assert create_criterion("l1").select(net, g, 1) == [0]
    assert create_criterion("l2").select(net, g, 1) == [1]


def test_random_is_seeded():
    net = _net()
    g = analyze(net, (1, 1, 2, 2)).groups["0"]
    a = create_criterion("random", seed=1).select(net, g, 2)
    assert a == create_criterion("random", seed=1).select(net, g, 2)
    picks = {tuple(create_criterion("random", seed=s).select(net, g, 2)) for s in range(20)}
    assert len(picks) > 1
