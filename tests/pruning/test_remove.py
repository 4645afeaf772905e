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


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_prunes_to_half(name):
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
