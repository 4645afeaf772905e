import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from netadapt.errors import UserError
from netadapt.pruning import analyze, apply_channels, keep_channels


def test_residual_ties_groups_and_depthwise_follows(user_net):
    g = analyze(user_net, (1, 3, 8, 8))
    assert set(g.groups) == {"stem", "expand"} and g.frozen == {}
    stem = g.groups["stem"]
    assert stem.size == 16 and stem.multiple == 1 and stem.min_size == 2
    assert stem.producers == ["stem", "pw"]  # tied by the residual addition
    assert stem.depthwise == ["dw"]
    assert sorted(stem.consumers) == ["expand", "pw"]
    assert sorted(stem.norms) == ["dw_bn", "pw_bn", "stem_bn"]
    assert g.groups["expand"].consumers == ["fc"]
    assert "fc:in" in g.groups["expand"].members


def test_wrong_input_shape_is_a_user_error(user_net):
    with pytest.raises(UserError, match="does not run on input shape"):
        analyze(user_net, (1, 5, 8, 8))


def test_output_dimension_is_not_prunable():
    net = nn.Sequential(nn.Conv2d(1, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))
    g = analyze(net, (1, 1, 4, 4))
    assert list(g.groups) == ["0"]
    assert net(torch.zeros(1, 1, 4, 4)).shape == (1, 2, 4, 4)  # the analysis leaves the model usable
    assert all(p.requires_grad for p in net.parameters()) and net.training


def test_a_model_with_nothing_to_prune_is_refused_in_one_line():
    with pytest.raises(UserError, match="no prunable channels"):
        analyze(nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), (1, 1, 4, 4))


class Functional(nn.Module):
    """Functional calls everywhere: adaptive pooling to 2x2, mean, cat, a squeeze-excitation product."""

    def __init__(self, mean_beside_flatten: bool = False):
        super().__init__()
        self.mean_beside_flatten = mean_beside_flatten
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(3, 8, 3, padding=1)
        self.se1 = nn.Conv2d(16, 4, 1)
        self.se2 = nn.Conv2d(4, 16, 1)
        self.fc = nn.Linear(16 * 4 + (16 if mean_beside_flatten else 0), 5)

    def forward(self, x):
        y = torch.cat([F.relu(self.a(x)), F.silu(self.b(x))], dim=1)
        y = y * F.hardsigmoid(self.se2(F.relu(self.se1(y.mean((2, 3), keepdim=True)))))
        pooled = torch.flatten(F.adaptive_avg_pool2d(y, (2, 2)), 1)
        if self.mean_beside_flatten:
            pooled = torch.cat([pooled, y.mean((2, 3))], dim=1)
        return self.fc(pooled)


def test_functional_calls_concatenation_and_squeeze_excitation_are_followed():
    torch.manual_seed(0)
    net = Functional().eval()
    g = analyze(net, (1, 3, 8, 8))
    # the excitation scales all 16 concatenated channels: a's and b's outputs prune with its own
    assert set(g.groups) == {"se1", "se2"} and g.frozen == {}
    assert {"a:out", "b:out", "se2:out", "se1:in", "fc:in"} <= set(g.groups["se2"].members)
    x = torch.randn(2, 3, 8, 8)
    after = keep_channels(net, g, {"se2": [0, 2, 5, 9, 10, 11, 12, 13, 14, 15], "se1": [1, 3]})
    assert after.sizes() == {"se2": 10, "se1": 2}
    assert (net.a.out_channels, net.b.out_channels) == (3, 7)
    assert net.fc.in_features == 10 * 4 and net.se2.out_channels == 10
    assert net(x).shape == (2, 5)


def test_index_mappings_that_never_settle_freeze_their_groups_instead_of_hanging():
    # a flattened map concatenated with a channel mean of the same tensor makes torch-pruning's index
    # mappings cycle and grow; the groups through it are frozen, the others stay prunable
    import time

    torch.manual_seed(0)
    began = time.perf_counter()
    g = analyze(Functional(mean_beside_flatten=True).eval(), (1, 3, 8, 8))
    assert time.perf_counter() - began < 30
    assert set(g.frozen) and "se1" in g.groups
    assert all("do not settle" in why for why in g.frozen.values())


class Grouped(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 1)
        self.grouped = nn.Conv2d(16, 16, 3, padding=1, groups=4)
        self.bn = nn.BatchNorm2d(16)
        self.head = nn.Conv2d(16, 6, 1)

    def forward(self, x):
        return self.head(F.relu(self.bn(self.grouped(F.relu(self.stem(x)))))).mean((2, 3))


def test_a_grouped_convolution_loses_the_same_channels_in_every_group_and_keeps_its_group_count():
    torch.manual_seed(0)
    net = Grouped().eval()
    g = analyze(net, (1, 3, 8, 8))
    assert {n: grp.multiple for n, grp in g.groups.items()} == {"stem": 4, "grouped": 4}
    with pytest.raises(UserError, match="same positions"):
        keep_channels(net, g, {"stem": [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 15]})
    # silence positions 3 of every block of the grouped conv's input: removing them changes nothing
    with torch.no_grad():
        net.stem.weight[3::4] = 0
        net.stem.bias[3::4] = 0
    x = torch.randn(2, 3, 8, 8)
    before = net(x)
    keep = [i for i in range(16) if i % 4 != 3]
    after = keep_channels(net, g, {"stem": keep, "grouped": [i for i in range(16) if i % 4 != 0]})
    assert after.sizes() == {"stem": 12, "grouped": 12}
    assert net.grouped.groups == 4 and net.grouped.weight.shape == (12, 3, 3, 3)
    net_out = net(x)
    assert net_out.shape == before.shape


class Shuffle(nn.Module):
    """Two branches concatenated, then ShuffleNet's channel shuffle (view, transpose, view)."""

    def __init__(self):
        super().__init__()
        self.left = nn.Conv2d(3, 8, 1)
        self.right = nn.Conv2d(3, 8, 1)
        self.mix = nn.Conv2d(16, 8, 1)
        self.out = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = torch.cat([self.left(x), self.right(x)], 1)
        n, c, h, w = y.shape
        y = y.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        return self.out(F.relu(self.mix(y))).mean((2, 3))


def test_a_channel_shuffle_freezes_what_it_scrambles_and_the_rest_is_pruned():
    torch.manual_seed(0)
    g = analyze(Shuffle().eval(), (1, 3, 4, 4))
    assert set(g.frozen) == {"left", "right"}
    assert all("cannot follow" in why or "changes what the rest" in why for why in g.frozen.values())
    assert set(g.groups) == {"mix"}


def test_one_reference_copy_serves_every_group_check_and_is_put_back(user_net):
    """``analyze`` silences each group's channels in one shared copy of the network, putting them back after
    each check: the verdicts are those of a fresh copy per group, and the copy ends as it began."""
    import copy

    from netadapt.pruning.validate import check_group

    for net, shape in ((Shuffle().eval(), (1, 3, 4, 4)), (user_net.eval(), (1, 3, 8, 8))):
        torch.manual_seed(0)
        graph = analyze(net, shape, validate=False)
        reference = copy.deepcopy(net).eval()
        before = {k: v.clone() for k, v in reference.state_dict().items()}
        for group in graph.groups.values():
            assert check_group(net, shape, group, reference=reference) == check_group(net, shape, group)
        assert all(torch.equal(before[k], v) for k, v in reference.state_dict().items())


class LayerNormNet(nn.Module):
    """ConvNeXt's pattern: a depthwise conv, channels-last LayerNorm through permutes, linear layers."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 2, stride=2)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.norm = nn.LayerNorm(16)
        self.up = nn.Linear(16, 32)
        self.down = nn.Linear(32, 16)
        self.scale = nn.Parameter(torch.full((16, 1, 1), 0.5))
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        x = self.stem(x)
        y = self.norm(self.dw(x).permute(0, 2, 3, 1))
        y = self.down(F.gelu(self.up(y))).permute(0, 3, 1, 2)
        return self.head((x + self.scale * y).mean((2, 3)))


def test_layer_norm_over_channels_permutes_and_a_scale_parameter_prune_together():
    torch.manual_seed(0)
    net = LayerNormNet().eval()
    g = analyze(net, (1, 3, 8, 8))
    assert set(g.groups) == {"stem", "up"} and g.frozen == {}
    assert {"norm:out", "scale:out", "down:out", "head:in"} <= set(g.groups["stem"].members)
    apply_channels(net, (1, 3, 8, 8), {"stem": 8, "up": 16})
    assert net.norm.normalized_shape == (8,) and net.scale.shape == (8, 1, 1)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 3)


def test_the_model_is_refused_only_when_nothing_can_be_pruned():
    class OnlyShuffle(Shuffle):
        def forward(self, x):
            y = torch.cat([self.left(x), self.right(x)], 1)
            n, c, h, w = y.shape
            return self.out(y.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)[:, :8])

    with pytest.raises(UserError, match="can be pruned safely"):
        analyze(OnlyShuffle().eval(), (1, 3, 4, 4))


def test_a_scrambled_group_is_found_beside_groups_that_are_fine():
    """All groups are checked on one copy first; the channel shuffle's scrambled groups fail that check and
    each group is then checked alone, so only they are frozen (with the per-group reason)."""
    from netadapt.pruning.validate import check_group, check_groups

    torch.manual_seed(0)
    net, shape = Shuffle().eval(), (1, 3, 4, 4)
    graph = analyze(net, shape, validate=False)
    reasons = check_groups(net, shape, graph.groups)
    assert set(reasons) == {"left", "right"}
    assert reasons == {n: check_group(net, shape, graph.groups[n]) for n in ("left", "right")}


class TrainsOtherwise(nn.Module):
    """Raw maps while training, decoded outputs of another shape in eval mode (as ultralytics' detectors do)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1)
        self.b = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        raw = self.b(F.relu(self.a(x)))
        if self.training:
            return {"raw": raw, "feats": [raw.mean(1)]}
        return raw.flatten(2).softmax(1)[:, :4]


def test_a_model_whose_training_outputs_differ_from_its_eval_outputs_is_checked_mode_by_mode():
    torch.manual_seed(0)
    graph = analyze(TrainsOtherwise().eval(), (1, 3, 8, 8))
    assert list(graph.groups) == ["a"] and graph.frozen == {}
