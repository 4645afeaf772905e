import pytest
import torch

from netadapt.errors import UserError
from netadapt.models import create_model, list_models, model_info
from netadapt.pruning import analyze, apply_channels, keep_channels


def test_keep_channels_keeps_the_chosen_filters(user_net):
    x = torch.randn(2, 3, 8, 8)
    g = analyze(user_net, (1, 3, 8, 8))
    stem_w = user_net.stem.weight.detach().clone()
    pw_w = user_net.pw.weight.detach().clone()
    keep = [1, 4, 9, 15]
    g2 = keep_channels(user_net, g, {"stem": keep})
    assert g2.sizes() == {"stem": 4, "expand": 32}
    assert torch.equal(user_net.stem.weight, stem_w[keep])
    assert torch.equal(user_net.pw.weight, pw_w[keep][:, keep])
    assert user_net.dw.groups == 4 and user_net.dw.weight.shape == (4, 1, 3, 3)
    assert user_net.expand.weight.shape == (32, 4, 3, 3)
    assert user_net(x).shape == (2, 10)


def test_pruning_keeps_function_of_kept_channels_when_others_are_zero(user_net):
    # Zero every consumer's weights on the dropped channels: removing them must not change the output.
    user_net.eval()
    g = analyze(user_net, (1, 3, 8, 8))
    drop = [0, 2, 3]
    with torch.no_grad():
        user_net.expand.weight[:, drop] = 0
        user_net.pw.weight[:, drop] = 0
    x = torch.randn(2, 3, 8, 8)
    before = user_net(x)
    keep_channels(user_net, g, {"stem": [i for i in range(16) if i not in drop]})
    assert torch.allclose(user_net(x), before, atol=1e-5)


@pytest.mark.parametrize("name", list_models(task="classification"))
def test_every_zoo_classifier_prunes_to_half(name):
    torch.manual_seed(0)
    model = create_model(name)
    shape = (1, *model_info(name).default_input)
    if shape[-1] > 64:
        shape = (1, shape[1], 64, 64)
    g = analyze(model, shape)
    target = {n: max(grp.min_size, grp.size // 2 // grp.multiple * grp.multiple) for n, grp in g.groups.items()}
    g2 = apply_channels(model, shape, target)
    assert g2.sizes() == target
    assert model(torch.randn(*shape)).shape[0] == 1


def test_apply_channels_rejects_unknown_groups(user_net):
    with pytest.raises(UserError, match="does not have"):
        apply_channels(user_net, (1, 3, 8, 8), {"nope": 3})
    with pytest.raises(UserError, match="has 16"):
        apply_channels(user_net, (1, 3, 8, 8), {"stem": 40})


def test_a_group_through_a_depthwise_conv_stops_at_two_channels_and_keeps_its_groups():
    # MobileNetV1: at one channel a depthwise conv (groups == 1) would be an ordinary convolution with a
    # group of its own, so groups with a depthwise conv keep at least two channels.
    from netadapt.models import create_model
    from netadapt.pruning import analyze, apply_channels

    torch.manual_seed(0)
    model = create_model("mobilenet_v1", width_mult=0.25).eval()
    shape = (1, 3, 32, 32)
    graph = analyze(model, shape)
    assert all(g.min_size == 2 for g in graph.groups.values() if g.depthwise)
    target = {g: (graph.groups[g].min_size if i % 2 == 0 else n) for i, (g, n) in enumerate(graph.sizes().items())}
    after = apply_channels(model, shape, target)
    assert after.sizes() == target
    assert analyze(model, shape).sizes() == target
    assert model(torch.randn(*shape)).shape == (1, 10)


def test_a_first_conv_on_a_one_channel_input_pruned_to_one_channel_keeps_its_group():
    from netadapt.models import create_model
    from netadapt.pruning import analyze, apply_channels

    torch.manual_seed(0)
    model = create_model("digits_cnn", width_mult=0.25).eval()
    shape = (1, 1, 32, 32)
    graph = analyze(model, shape)
    target = {g: (1 if i == 0 else n) for i, (g, n) in enumerate(graph.sizes().items())}
    apply_channels(model, shape, target)
    assert analyze(model, shape).sizes() == target


def test_a_grouped_convolution_keeps_two_outputs_per_group():
    # RegNetY-400MF died at iteration 8 with "channel removal gave unexpected counts ... f.a.0: (104, None)":
    # its grouped 3x3 (13 groups) had been offered one output per group, which torch-pruning takes for a
    # depthwise convolution (groups == out_channels) and couples to its inputs, so the group feeding it
    # vanished. Groups a grouped convolution produces keep two channels per group.
    import copy

    from netadapt.latency.grid import group_grid
    from netadapt.pruning import first_channels
    from netadapt.pruning.remove import remove_channels
    from tests.families.regnet import regnet_y

    torch.manual_seed(0)
    model = regnet_y().eval()
    shape = (1, 3, 32, 32)
    graph = analyze(model, shape)
    b, a = "trunk_output.block3.block3-1.f.b.0", "trunk_output.block3.block3-1.f.a.0"
    assert graph.groups[b].grouped and graph.groups[b].multiple == 8 and graph.groups[b].min_size == 16
    assert not graph.groups[a].grouped and graph.groups[a].min_size == 8
    assert min(group_grid(graph.groups[b], 64, 8)) == 16 and min(group_grid(graph.groups[a], 64, 8)) == 8
    # the cause: one output per group takes the group that feeds the convolution with it
    broken = copy.deepcopy(model)
    remove_channels(broken, graph, {b: first_channels(graph.groups[b], 8)})
    assert a not in analyze(broken, shape, validate=False).groups
    # every count the grid offers builds, each group at its smallest at once included
    smallest = {name: g.min_size for name, g in graph.groups.items()}
    after = apply_channels(model, shape, smallest)
    assert after.sizes() == smallest
    assert model(torch.randn(*shape)).shape == (1, 10)
