import pytest
import torch
import torch.nn as nn

from netadapt.errors import UserError
from netadapt.pruning import analyze


def test_residual_ties_groups_and_depthwise_follows(user_net):
    g = analyze(user_net, (1, 3, 8, 8))
    assert set(g.groups) == {"stem", "expand"}
    stem = g.groups["stem"]
    assert stem.size == 16
    assert stem.producers == ["stem", "pw"]  # tied by the residual addition
    assert stem.depthwise == ["dw"]
    assert sorted(stem.consumers) == ["expand", "pw"]
    assert sorted(stem.norms) == ["dw_bn", "pw_bn", "stem_bn"]
    assert g.groups["expand"].consumers == ["fc"]


def test_units_fold_batchnorm_and_fuse_activations(user_net):
    g = analyze(user_net, (2, 3, 8, 8))
    sigs = {u.name: u.signature(g.sizes()) for u in g.units}
    assert [u.op for u in g.units] == ["conv", "conv", "conv", "add", "conv", "global_avgpool",
                                      "flatten", "linear"]
    assert sigs["stem"].activation == "relu" and sigs["stem"].cin == 3 and sigs["stem"].batch == 2
    assert sigs["dw"].groups == 16 and sigs["dw"].activation == "relu6"
    assert sigs["pw"].activation == "none"
    assert sigs["expand"].stride == 2 and sigs["expand"].h == 8 and sigs["expand"].cout == 32
    assert sigs["fc"].cin == 32 and sigs["fc"].cout == 10


def test_signatures_follow_channel_sizes(user_net):
    g = analyze(user_net, (1, 3, 8, 8))
    sigs = g.signatures({"stem": 8})
    by_op = [(s.op, s.cin, s.cout, s.groups) for s in sigs]
    assert ("conv", 8, 8, 8) in by_op  # depthwise at 8
    assert ("conv", 8, 32, 1) in by_op  # expand's input shrank
    assert ("conv", 3, 8, 1) in by_op


def test_flatten_of_spatial_map_scales_linear_inputs():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Flatten(), nn.Linear(4 * 5 * 5, 3))
    g = analyze(net, (1, 1, 5, 5))
    fc = [u for u in g.units if u.op == "linear"][0]
    assert fc.signature(g.sizes()).cin == 100
    assert fc.signature({"0": 2}).cin == 50


def test_unsupported_layers_are_named():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.LayerNorm([4, 3, 3]))
    with pytest.raises(UserError, match="LayerNorm"):
        analyze(net, (1, 1, 5, 5))
    grouped = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2), nn.BatchNorm2d(8), nn.ReLU())
    with pytest.raises(UserError, match="grouped convolution"):
        analyze(nn.Sequential(nn.Conv2d(1, 4, 1), grouped, nn.Conv2d(8, 2, 1)), (1, 1, 5, 5))


def test_wrong_input_shape_is_a_user_error(user_net):
    with pytest.raises(UserError, match="does not run on input shape"):
        analyze(user_net, (1, 5, 8, 8))


def test_output_dimension_is_not_prunable():
    net = nn.Sequential(nn.Conv2d(1, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))
    g = analyze(net, (1, 1, 4, 4))
    assert list(g.groups) == ["0"]
    assert torch.no_grad  # the analysis must leave the model usable
    assert net(torch.zeros(1, 1, 4, 4)).shape == (1, 2, 4, 4)
