"""Every architecture family a user is likely to bring: its groups, and a pruned copy that runs and exports.

The families are small re-implementations of the torchvision definitions (tests/families); each is
analysed, every group is cut to about half (keeping block multiples and smallest sizes), and the pruned
network must run in eval and training mode and give the same outputs in ONNX Runtime as in PyTorch.
"""

import pytest
import torch

from families import FAMILIES, build
from netadapt.export import export_onnx
from netadapt.pruning import analyze, apply_channels, main_output


def _half(group) -> int:
    return max(group.min_size, group.size // 2 // group.multiple * group.multiple)


@pytest.fixture(scope="module")
def analysed():
    """Each family's model and analysis, built once for the module."""
    found = {}
    for name, (_, chw) in FAMILIES.items():
        torch.manual_seed(0)
        model = build(name).eval()
        found[name] = (model, analyze(model, (1, *chw)))
    return found


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "shufflenet_v2" else n
                                  for n in sorted(FAMILIES)])  # ShuffleNet's channel shuffles take ~10 s
def test_a_family_is_analysed_and_its_half_width_copy_runs_and_exports(name, analysed, tmp_path):
    model, graph = analysed[name]
    chw = FAMILIES[name][1]
    assert len(graph.groups) >= 3
    assert all(g.size % g.multiple == 0 and g.min_size < g.size for g in graph.groups.values())
    expected_frozen = name == "shufflenet_v2"  # its channel shuffle: the known case
    assert bool(graph.frozen) == expected_frozen, graph.frozen
    before = sum(p.numel() for p in model.parameters())
    after = apply_channels(model, (1, *chw), {g: _half(grp) for g, grp in graph.groups.items()},
                           frozen=graph.frozen)
    assert after.sizes() == {g: _half(grp) for g, grp in graph.groups.items()}
    assert sum(p.numel() for p in model.parameters()) < 0.6 * before
    x = torch.randn(2, *chw)
    with torch.no_grad():
        assert main_output(model.eval()(x)).shape == (2, 10)
        assert main_output(model.train()(x)).shape == (2, 10)  # training-only branches were pruned too
    model.eval()
    export_onnx(model, tmp_path / "half.onnx", (2, *chw), verify=True)  # raises when ONNX Runtime disagrees


def _members(graph):
    return {m for g in graph.groups.values() for m in g.members}


def test_what_each_family_couples(analysed):
    """The couplings that make each family hard, as the analysis finds them."""
    groups = {name: graph.groups for name, (_, graph) in analysed.items()}
    # grouped convolutions keep their group count: channels leave every group alike
    for name in ("resnext", "regnet_x", "regnet_y"):
        assert max(g.multiple for g in groups[name].values()) > 1, name
    # attention: the hidden width moves in whole multiples of the heads, the MLP width freely
    vit = analysed["vit"][0]
    heads = vit.encoder.layers[0].self_attention.num_heads
    hidden = [g for g in groups["vit"].values() if g.multiple == heads]
    assert len(hidden) == 1 and "class_token:out" in hidden[0].members
    assert any(g.multiple == 1 and g.name.endswith("mlp.0") for g in groups["vit"].values())
    # squeeze-excitation: the gate's outputs are pruned with the channels it scales
    for name in ("mobilenet_v3_large", "efficientnet_b0", "regnet_y"):
        assert any(m.endswith("fc2:out") for m in _members(analysed[name][1])), name
    # concatenation: DenseNet's stem channels are read by every layer of the first block
    stem = groups["densenet"]["features.conv0"]
    assert sum(m.endswith("conv1:in") for m in stem.members) >= 2
    # LayerNorm over channels through permutes (ConvNeXt)
    convnext = dict(analysed["convnext"][0].named_modules())
    assert any(isinstance(convnext[n], torch.nn.LayerNorm) for g in groups["convnext"].values() for n in g.norms)
    # GoogLeNet's auxiliary classifiers read inception outputs: their channels prune with them
    assert any(m.startswith("aux1.") and m.endswith(":in") for m in _members(analysed["googlenet"][1]))


@pytest.mark.slow
def test_checking_every_group_at_once_gives_each_group_its_own_verdict():
    """``analyze`` checks all groups on one copy first and each alone only when that fails: over every
    family the groups it freezes, and why, are those checked one at a time."""
    import copy

    from netadapt.pruning.validate import check_group, check_groups

    at_once = 0
    for name, (_, chw) in sorted(FAMILIES.items()):
        torch.manual_seed(0)
        model = build(name).eval()
        shape = (1, *chw)
        graph = analyze(model, shape, validate=False)
        checked = {n: g for n, g in graph.groups.items() if g.size > g.min_size}
        reference = copy.deepcopy(model).eval()
        alone = {n: why for n, g in checked.items() if (why := check_group(model, shape, g, reference=reference))}
        assert check_groups(model, shape, checked, reference=reference) == alone, name
        at_once += not alone
    assert at_once >= 10  # most families pass all at once (one copy instead of one per group)
