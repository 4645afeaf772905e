"""First-order Taylor criterion: hand-made ranking, exact values, data on demand."""

import pytest
import torch
import torch.nn as nn

from netadapt.criteria import create_criterion
from netadapt.criteria.registry import CRITERIA
from netadapt.criteria.taylor import TaylorCriterion
from netadapt.errors import UserError
from netadapt.pruning import analyze


def _net():
    # hidden unit 0 has the largest filter but the classifier ignores it: Taylor must rank it last
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[5.0, 5.0], [1.0, 0.0], [0.0, 2.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[0.0, 1.0, -1.0], [0.0, -1.0, 0.5]]))
        net[2].bias.zero_()
    return net


def _batches():
    x = torch.tensor([[1.0, 2.0], [3.0, 1.0], [0.5, 0.5]])
    return [(x[:2], torch.tensor([0, 1])), (x[2:], torch.tensor([1]))]


def test_taylor_ranks_an_ignored_channel_last_unlike_magnitude():
    net = _net()
    group = analyze(net, (1, 2)).groups["0"]
    assert create_criterion("l2").select(net, group, 1) == [0]
    crit = create_criterion("taylor")
    crit.prepare(net, _batches())
    scores = crit.scores(net, group)
    assert scores[0] == 0.0 and scores[1] > 0 and scores[2] > 0
    assert crit.select(net, group, 2) == [1, 2]


def test_taylor_scores_equal_the_hand_computed_sum():
    net = _net()
    group = analyze(net, (1, 2)).groups["0"]
    crit = TaylorCriterion()
    crit.prepare(net, _batches())
    assert all(p.grad is None for p in net.parameters())  # gradients left as they were
    want = torch.zeros(3, dtype=torch.float64)
    for x, y in _batches():
        h = torch.relu(net[0](x)).detach().requires_grad_(True)  # the ReLU follows the producer
        nn.functional.cross_entropy(net[2](h), y, reduction="sum").backward()
        want += (h * h.grad).sum(0).double().detach()
    # hooked before the ReLU: a * dL/da is the same there, as dL/da is zero where the ReLU cuts
    torch.testing.assert_close(crit.scores(net, group), want.abs())


def test_taylor_on_a_residual_group_with_batch_norms(user_net):
    graph = analyze(user_net, (1, 3, 8, 8))
    group = graph.groups["stem"]  # tied by the residual addition
    assert set(group.norms) == {"stem_bn", "dw_bn", "pw_bn"}
    torch.manual_seed(0)
    batches = [(torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))) for _ in range(2)]
    crit = TaylorCriterion()
    crit.prepare(user_net, batches)
    s = crit.scores(user_net, group)
    assert s.shape == (group.size,) and bool((s >= 0).all()) and float(s.sum()) > 0
    assert len(crit.select(user_net, group, 5)) == 5


def test_taylor_draws_data_on_demand_and_recomputes_after_updates():
    from netadapt.data.dataset import ImageTensorDataset

    x = torch.randn(40, 2).view(40, 2, 1, 1)
    data = ImageTensorDataset(x, torch.randint(0, 2, (40,)), (0.0, 0.0), (1.0, 1.0))
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    crit = CRITERIA.create("taylor", data=data, batches=2, batch_size=8)  # factory kwargs
    group = analyze(net, (1, 2, 1, 1)).groups["1"]
    first = crit.scores(net, group).clone()
    assert torch.equal(first, crit.scores(net, group))
    with torch.no_grad():
        net[3].weight.mul_(2.0)
    assert not torch.equal(first, crit.scores(net, group))


def test_taylor_without_data_is_a_user_error():
    net = _net()
    with pytest.raises(UserError, match="needs data"):
        create_criterion("taylor").scores(net, analyze(net, (1, 2)).groups["0"])
