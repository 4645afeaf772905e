"""Candidate graphs written from two exports: exact where the integers follow one affine rule of the count,
refused where they do not or where the structure changes."""

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from devices import get_device
from lut.table import LatencyTable
from netadapt.algorithm.estimates import CandidateEstimates
from netadapt.algorithm.search import smallest_network_ms
from netadapt.export import export_bytes
from netadapt.latency import LatencyEstimator
from netadapt.latency.grid import channel_grid, group_grid, probe_grids
from netadapt.latency.joint import JointRules, joint_classes, joint_cuts
from netadapt.latency.synthesis import CandidateGraphs, fields, normalised
from netadapt.models import create_model
from netadapt.pruning import analyze, shrunk_copy
from profilers import ProfileConfig, get_profiler
from profilers.units import model_units


def _toy(c: int, hidden=lambda c: c, shared: bool = False, extra: bool = False,
         rest: bool = False) -> onnx.ModelProto:
    """x (1,3,8,8) -> Conv(c) -> depthwise Conv(c, group c) -> Reshape(1, hidden(c) * 64) -> output (with
    ``rest``, Reshape(-1, hidden(c) * 64): the first dimension "the rest")."""
    w1 = numpy_helper.from_array(np.ones((c, 3, 3, 3), np.float32), "w1")
    b1 = numpy_helper.from_array(np.zeros(c, np.float32), "b1")
    w2 = numpy_helper.from_array(np.ones((c, 1, 3, 3), np.float32), "w2")
    b2 = numpy_helper.from_array(np.zeros(c, np.float32), "b2")
    target = numpy_helper.from_array(np.array([-1 if rest else 1, hidden(c) * 64], np.int64), "target")
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["h1"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["h1", "w2", "b2"], ["h2"], group=c,
                              pads=[1, 1, 1, 1])]
    inits = [w1, b1, w2, target]
    if shared:  # the exporter's way of sharing equal initializers
        nodes.insert(0, helper.make_node("Identity", ["b1"], ["b2"]))
    else:
        inits.append(b2)
    if extra:
        nodes.append(helper.make_node("Relu", ["h2"], ["h3"]))
    nodes.append(helper.make_node("Reshape", ["h3" if extra else "h2", "target"], ["y"]))
    graph = helper.make_graph(nodes, "toy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, hidden(c) * 64])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_two_cuts_that_agree_let_every_other_count_be_written_exactly():
    graphs = CandidateGraphs(_toy(32), {"g": 32})
    assert graphs.observe("g", 28, _toy(28)) is None and not graphs.can("g")
    check = graphs.observe("g", 24, _toy(24))
    assert fields(check) == fields(normalised(_toy(24)))
    graphs.confirm("g", True)
    for count in (8, 12, 16, 20):
        written = graphs.synthesise("g", count)
        assert fields(written) == fields(normalised(_toy(count)))
        assert [n.attribute[0].i for n in written.graph.node if n.op_type == "Conv"][1] == count
        assert numpy_helper.to_array(next(i for i in written.graph.initializer if i.name == "target")).tolist() \
            == [1, count * 64]
        onnx.checker.check_model(written, full_check=True)
    assert graphs.synthesised == 4


def test_a_minus_one_that_no_cut_moves_is_written_as_it_was():
    graphs = CandidateGraphs(_toy(32, rest=True), {"g": 32})
    graphs.observe("g", 28, _toy(28, rest=True))
    assert graphs.observe("g", 24, _toy(24, rest=True)) is not None
    graphs.confirm("g", True)
    written = graphs.synthesise("g", 8)
    assert fields(written) == fields(normalised(_toy(8, rest=True)))
    assert numpy_helper.to_array(next(i for i in written.graph.initializer if i.name == "target")).tolist() \
        == [-1, 8 * 64]
    shrinking = CandidateGraphs(_toy(32, lambda c: c - 24), {"g": 32})  # 8 at 32, 4 at 28: -8 at 16
    shrinking.observe("g", 28, _toy(28, lambda c: c - 24))
    assert shrinking.observe("g", 24, _toy(24, lambda c: c - 24)) is not None
    shrinking.confirm("g", True)
    assert shrinking.synthesise("g", 16) is None  # a negative the cut makes is never written


def test_initializers_shared_through_identity_nodes_are_compared_as_copies():
    base = _toy(32, shared=True)  # the exporter merged b1 and b2 (equal values), which a cut may undo
    graphs = CandidateGraphs(base, {"g": 32})
    graphs.observe("g", 24, _toy(24))
    assert graphs.observe("g", 16, _toy(16, shared=True)) is not None


def test_an_integer_that_is_not_affine_in_the_count_is_refused_at_the_confirming_cut():
    hidden = lambda c: c * c // 16
    graphs = CandidateGraphs(_toy(32, hidden), {"g": 32})
    graphs.observe("g", 24, _toy(24, hidden))
    assert graphs.observe("g", 16, _toy(16, hidden)) is None
    assert not graphs.can("g")
    with pytest.raises(ValueError):
        graphs.synthesise("g", 8)


def test_a_cut_with_another_structure_is_refused():
    graphs = CandidateGraphs(_toy(32), {"g": 32})
    graphs.observe("g", 24, _toy(24, extra=True))
    assert graphs.observe("g", 16, _toy(16)) is None and not graphs.can("g")


def test_only_counts_on_the_lattice_of_the_cuts_seen_are_written():
    half = lambda c: c // 2  # affine on even counts only: 9 would be written wrong
    graphs = CandidateGraphs(_toy(32, half), {"g": 32})
    graphs.observe("g", 24, _toy(24, half))
    graphs.confirm("g", graphs.observe("g", 16, _toy(16, half)) is not None)
    assert graphs.synthesise("g", 9) is None and graphs.synthesise("g", 12) is None
    assert fields(graphs.synthesise("g", 8)) == fields(normalised(_toy(8, half)))


def test_a_rule_with_a_fractional_slope_is_exact_on_its_lattice():
    graphs = CandidateGraphs(_toy(32, lambda c: 3 * c // 2), {"g": 32})
    graphs.observe("g", 30, _toy(30, lambda c: 3 * c // 2))  # 48 -> 45: 3/2 per count
    graphs.confirm("g", graphs.observe("g", 28, _toy(28, lambda c: 3 * c // 2)) is not None)
    assert graphs.can("g")
    assert fields(graphs.synthesise("g", 26)) == fields(normalised(_toy(26, lambda c: 3 * c // 2)))


def _counts(group, step=4):
    """The counts a search looks at first (the largest below the group's size), and the smallest."""
    grid = sorted((c for c in group_grid(group, group.size, step) if c < group.size), reverse=True)
    return grid[:4] + grid[-1:] if len(grid) > 5 else grid


def _half_width(name, shape):
    """A zoo network at width 0.5, its analysis, the fake device, and graphs written from its export."""
    torch.manual_seed(0)
    net = create_model(name, num_classes=10, width_mult=0.5).eval()
    graph = analyze(net, shape)
    graphs = CandidateGraphs(onnx.load_model_from_string(export_bytes(net, shape)), graph.sizes())
    return net, graph, get_device("fake"), graphs


@pytest.mark.parametrize("name, shape", [("mobilenet_v1", (4, 3, 16, 16)), ("resnet20", (4, 3, 16, 16))])
def test_written_graphs_run_the_same_device_nodes_as_exports_of_every_count(name, shape):
    net, graph, device, graphs = _half_width(name, shape)
    written = 0
    for group_name, group in graph.groups.items():
        for count in _counts(group):
            exported = export_bytes(shrunk_copy(net, graph, {group_name: count}), shape)
            expected = [u.key for u in model_units(exported, device, shape)]
            if graphs.can(group_name):
                graph_written = graphs.synthesise(group_name, count)
                assert [u.key for u in model_units(graph_written, device, shape)] == expected, (group_name, count)
                written += 1
            else:
                check = graphs.observe(group_name, count, onnx.load_model_from_string(exported))
                if check is not None:
                    same = [u.key for u in model_units(check, device, shape)] == expected
                    assert same, (group_name, count)
                    graphs.confirm(group_name, same)
    assert written >= 10


def _mobilenet_on_the_fake_device(tmp_path):
    """A small MobileNetV1, its analysis, and a way to make estimators sharing one table on the fake device."""
    torch.manual_seed(0)
    shape = (4, 3, 16, 16)
    net = create_model("mobilenet_v1", num_classes=10, width_mult=0.25).eval()
    device = get_device("fake")
    table = LatencyTable(str(tmp_path / "lut.db"))
    profiler = get_profiler(device, ProfileConfig(warmup=0, repeats=1))
    return net, analyze(net, shape), lambda: LatencyEstimator(table, device, profiler)


@pytest.mark.slow  # exports every probe (about 20-40 s)
def test_candidate_estimates_with_written_graphs_equal_those_of_exports(tmp_path):
    net, graph, estimator = _mobilenet_on_the_fake_device(tmp_path)
    fast = CandidateEstimates(estimator(), net, graph, 1.0)
    slow = CandidateEstimates(estimator(), net, graph, 1.0, synthesis=False)
    for group_name, group in graph.groups.items():
        for count in _counts(group):
            assert fast.table_ms({group_name: count}) == slow.table_ms({group_name: count})
    assert fast.synthesised > 0 and slow.synthesised == 0
    assert fast.estimator.seconds["export"] < slow.estimator.seconds["export"]


def test_candidate_estimates_built_on_the_loops_export_equal_those_that_export_it(tmp_path):
    from netadapt.export import export_onnx

    net, graph, estimator = _mobilenet_on_the_fake_device(tmp_path)
    onnx_file = export_onnx(net, tmp_path / "model.onnx", graph.input_shape, verify=False)  # as the loop does
    given = estimator()
    given_estimates = CandidateEstimates(given, net, graph, 1.0, exported=onnx_file.read_bytes())
    assert "export" not in given.seconds  # the current network was not exported again
    own = CandidateEstimates(estimator(), net, graph, 1.0)
    assert given_estimates.current_ms == own.current_ms
    for group_name, group in graph.groups.items():
        for count in _counts(group):
            assert given_estimates.table_ms({group_name: count}) == own.table_ms({group_name: count})
    assert given_estimates.synthesised == own.synthesised > 0


def test_joint_cuts_give_each_group_of_three_counts_or_more_its_own_ratio():
    from fractions import Fraction

    sizes = {"a": 64, "b": 64, "c": 32, "d": 16, "e": 40}
    grids = {g: channel_grid(n, 8)[:-1] for g, n in sizes.items()}
    cuts = joint_cuts(sizes, grids)
    assert [set(c) for c in cuts] == [{"a", "b", "c", "e"}] * 3  # d has one count below its size
    for g in cuts[0]:
        assert len({c[g] for c in cuts}) == 3 and all(c[g] in grids[g] for c in cuts)
    ratios = [Fraction(sizes[g] - cuts[0][g], sizes[g] - cuts[1][g]) for g in cuts[0]]
    assert len(set(ratios)) == len(ratios)  # an integer that moves is one group's, by its ratio
    assert cuts[0]["a"] == 56 and cuts[1]["a"] == 48  # the largest counts first
    assert joint_cuts({"a": 64, "d": 16}, {"a": grids["a"], "d": grids["d"]}) is None  # one group alone


@pytest.mark.parametrize("name, shape", [("mobilenet_v1", (4, 3, 16, 16)), ("resnet20", (4, 3, 16, 16))])
def test_rules_from_three_joint_cuts_write_each_group_and_several_at_once_as_exports_do(name, shape):
    net, graph, device, graphs = _half_width(name, shape)
    grids = probe_grids(graph, graph.sizes(), 4)
    cuts = joint_cuts(graph.sizes(), grids)
    exports = [export_bytes(shrunk_copy(net, graph, cut), shape) for cut in cuts]
    joint = JointRules(graphs)
    assert joint.learn(cuts, exports[:2])
    check = joint.check(cuts[2], exports[2])
    assert check is not None
    assert [u.key for u in model_units(check, device, shape)] == [u.key for u in model_units(exports[2], device,
                                                                                               shape)]
    assert joint.confirm(True) == list(cuts[0])

    def exported_keys(sizes):
        return [u.key for u in model_units(export_bytes(shrunk_copy(net, graph, sizes), shape), device, shape)]

    written = 0
    for group_name in cuts[0]:
        for count in _counts(graph.groups[group_name])[:2]:
            graph_written = graphs.synthesise(group_name, count)
            assert graph_written is not None, (group_name, count)
            assert [u.key for u in model_units(graph_written, device, shape)] == exported_keys({group_name: count})
            written += 1
    assert written >= 10
    several = {g: _counts(graph.groups[g])[-1] for g in list(cuts[0])[::2]}  # every other group, smallest
    assert [u.key for u in model_units(graphs.synthesise_many(several), device, shape)] == exported_keys(several)


def test_joint_classes_keep_groups_that_meet_in_one_layers_input_apart():
    members = {  # a and b concatenated into conv3 (and its norm); c follows conv3; d is on its own
        "a": {"conv1:out", "norm1:out", "_ConcatOp:out", "conv3:in", "norm3:out"},
        "b": {"conv2:out", "norm2:out", "_ConcatOp:out", "conv3:in", "norm3:out"},
        "c": {"conv3:out", "conv4:in"},
        "d": {"conv5:out", "conv6:in"},
    }
    assert joint_classes(members) == [["a", "c", "d"], ["b"]]  # a chain (conv3 out/in) shares no member
    assert joint_classes({}) == []


def test_groups_that_meet_in_a_concatenation_are_learnt_in_separate_classes(tmp_path):
    """GoogLeNet's concatenations: a layer reading one is as wide as the sum of its branches, which no one
    group's counts explain when the branches are cut together. The branches go to separate classes, each
    learnt from its own three networks, and every estimate is that of an export."""
    from families import FAMILIES, build

    torch.manual_seed(0)
    shape = (2, *FAMILIES["googlenet"][1])
    net = build("googlenet").eval()
    graph = analyze(net, shape)
    device = get_device("fake")
    table = LatencyTable(str(tmp_path / "lut.db"))
    profiler = get_profiler(device, ProfileConfig(warmup=0, repeats=1))
    grids = probe_grids(graph, graph.sizes(), 8)
    classes = joint_classes({g: set(graph.groups[g].members) for g in grids})
    assert [len(c) for c in classes] == [34, 9, 9, 9]
    eligible = [g for c in classes if (cuts := joint_cuts({g: graph.sizes()[g] for g in c}, grids))
                for g in cuts[0]]
    assert len(eligible) == 12  # the rest have fewer than three counts below their size
    joint = CandidateEstimates(LatencyEstimator(table, device, profiler), net, graph, 1.0, grids=grids)
    plain = CandidateEstimates(LatencyEstimator(table, device, profiler), net, graph, 1.0, synthesis=False)
    probed = eligible[:2] + eligible[-2:]  # from both learnt classes
    for g in probed:
        for count in sorted(grids[g], reverse=True)[:3]:
            assert joint.table_ms({g: count}) == plain.table_ms({g: count})
    assert joint.joint_exports == 6  # two classes of three networks each
    assert all(joint.written.graphs.can(g) for g in eligible)
    assert joint.synthesised == 3 * len(probed)  # every probe written, none exported
    graphs = joint.written.graphs
    branches = ("inception5b.branch1.conv", "inception5b.branch2.1.conv")  # concatenated: two classes
    assert graphs.moves(graphs.rules[branches[0]]) & graphs.moves(graphs.rules[branches[1]])
    assert graphs.synthesise_many({g: sorted(grids[g])[0] for g in branches}) is None  # exported instead
    apart = {g: sorted(grids[g])[0] for g in (branches[0], "aux2.fc1")}  # two classes, no integer shared
    assert joint.table_ms(apart) == plain.table_ms(apart)
    assert joint.synthesised == 3 * len(probed) + 1


@pytest.mark.slow  # exports every probe (about 20-40 s)
def test_candidate_estimates_with_rules_from_joint_cuts_equal_those_of_exports(tmp_path):
    net, graph, estimator = _mobilenet_on_the_fake_device(tmp_path)
    grids = probe_grids(graph, graph.sizes(), 4)
    fast = CandidateEstimates(estimator(), net, graph, 1.0, grids=grids)
    slow = CandidateEstimates(estimator(), net, graph, 1.0, synthesis=False)
    assert smallest_network_ms(fast, graph.sizes(), 4) == smallest_network_ms(slow, graph.sizes(), 4)
    for group_name, group in graph.groups.items():
        for count in _counts(group):
            assert fast.table_ms({group_name: count}) == slow.table_ms({group_name: count})
    assert fast.joint_exports == 3 and fast.synthesised > slow.synthesised == 0
    exported_by_fast = fast.estimator.seconds["export"]
    own = CandidateEstimates(estimator(), net, graph, 1.0)  # each group from its own two cuts
    for group_name, group in graph.groups.items():
        for count in _counts(group):
            own.table_ms({group_name: count})
    assert fast.synthesised > own.synthesised
    assert exported_by_fast < 0.5 * own.estimator.seconds["export"]


def test_written_graphs_are_optimised_in_batches_that_give_what_one_at_a_time_gives(tmp_path, monkeypatch):
    """``prefetch`` works out several written networks' nodes in one optimisation; the estimates are those of
    networks optimised one at a time. A first batch that disagrees with its first network's own optimisation
    turns batches off."""
    import profilers.batched

    net, graph, estimator = _mobilenet_on_the_fake_device(tmp_path)
    grids = probe_grids(graph, graph.sizes(), 4)
    wanted = [{g: counts[0]} for g, counts in grids.items()] + [{g: counts[-1]} for g, counts in grids.items()]
    batched = CandidateEstimates(estimator(), net, graph, 1.0, grids=grids)
    calls = []
    real = profilers.batched.batched_units
    monkeypatch.setattr(profilers.batched, "batched_units",
                        lambda parts, *a: calls.append(len(parts)) or real(parts, *a))
    batched.prefetch(wanted)
    assert calls and sum(calls) >= len(wanted) - 2 and max(calls) <= batched.estimator.batch
    alone = CandidateEstimates(estimator(), net, graph, 1.0, grids=grids)
    alone.estimator.batch = 0
    alone.prefetch(wanted)
    for sizes in wanted:
        assert [u.key for u in batched.units(sizes)] == [u.key for u in alone.units(sizes)]
        assert batched.table_ms(sizes) == alone.table_ms(sizes)
    assert len(calls) == 1 + (len(wanted) - 1) // batched.estimator.batch  # nothing optimised again
    cut = {tuple(sorted(s.items())) for s in wanted if all(n < graph.groups[g].size for g, n in s.items())}
    assert batched.synthesised == alone.synthesised >= len(cut) - 2  # each written once (a count off the
    assert batched.synthesised <= len(cut)                            # rules' lattice is exported)

    wrong = CandidateEstimates(estimator(), net, graph, 1.0, grids=grids)
    # a batch that loses a node (its order alone would not matter: the table sums the nodes)
    monkeypatch.setattr(profilers.batched, "batched_units", lambda parts, *a: [u[:-1] for u in real(parts, *a)])
    wrong.prefetch(wanted)
    assert wrong.estimator.batch == 0 and all(wrong.estimator.known(wrong.written.key_of(s)) is None for s in wanted)
    assert [u.key for u in wrong.units(wanted[0])] == [u.key for u in alone.units(wanted[0])]


def _densenet_estimates(tmp_path):
    """The DenseNet family (concatenations in every block) on the fake device, and a way to make estimators
    sharing one table."""
    from families import FAMILIES, build

    torch.manual_seed(0)
    shape = (1, *FAMILIES["densenet"][1])
    net = build("densenet").eval()
    device = get_device("fake")
    table = LatencyTable(str(tmp_path / "lut.db"))
    profiler = get_profiler(device, ProfileConfig(warmup=0, repeats=1))
    return net, analyze(net, shape), lambda: LatencyEstimator(table, device, profiler)


def _probe_all(estimates, graph, counts=2):
    """Table latency of each group's largest ``counts`` counts below its size (step 2), group by group."""
    out = {}
    for g, group in graph.groups.items():
        for count in sorted((c for c in group_grid(group, group.size, 2) if c < group.size), reverse=True)[:counts]:
            out[(g, count)] = estimates.table_ms({g: count})
    return out


@pytest.mark.slow  # exports every probe (about 20-40 s)
def test_rules_carried_to_the_next_network_write_what_its_exports_give_with_few_exports(tmp_path):
    """An iteration's rules serve the next: on a network with a concatenation in every block, the next network
    (one group cut) gets every group's estimates as its exports give them, exporting one network to confirm
    the rules whose integers the cut moved too, instead of two per group."""
    import copy

    from netadapt.pruning import keep_channels

    net, graph, estimator = _densenet_estimates(tmp_path)
    first = CandidateEstimates(estimator(), net, graph, 1.0)
    _probe_all(first, graph, counts=3)  # every group's rule learnt from its own cuts
    learnt = sum(first.written.graphs.can(g) for g in graph.groups)
    assert learnt >= 0.8 * len(graph.groups)
    # the next network: the group read by the most layers (through the concatenations) cut to its smallest count
    cut = max(graph.groups, key=lambda g: len(graph.groups[g].consumers))
    assert len(graph.groups[cut].consumers) >= 3
    count = min(group_grid(graph.groups[cut], graph.groups[cut].size, 2))
    nxt = copy.deepcopy(net)
    nxt_graph = keep_channels(nxt, graph, {cut: list(range(count))})
    carried = CandidateEstimates(estimator(), nxt, nxt_graph, 1.0, previous=first)
    exact = CandidateEstimates(estimator(), nxt, nxt_graph, 1.0, synthesis=False)
    assert carried.carried >= learnt - 1
    assert _probe_all(carried, nxt_graph) == _probe_all(exact, nxt_graph)
    assert carried.joint_exports == 1  # the rules the cut's integers touched, confirmed at once
    assert carried.synthesised >= 1.5 * len(nxt_graph.groups)
    assert carried.estimator.seconds["export"] < 0.2 * exact.estimator.seconds["export"]


def test_the_same_nodes_in_another_order_are_the_same_network():
    from types import SimpleNamespace

    from netadapt.latency.estimator import same_nodes

    a, b, c = (SimpleNamespace(key=k) for k in ("conv", "relu", "gemm"))
    assert same_nodes([a, b, c], [c, a, b])
    assert not same_nodes([a, b, c], [a, b])
    assert not same_nodes([a, a, b], [a, b, b])


def test_a_cut_that_shifts_the_exporters_node_numbering_keeps_the_network_one_structure():
    """The exporter names nodes by a running count ("Constant_268"), which a cut can shift by one without
    changing a node (VGG-11 with all five pools at 64x64: cuts of its first two groups); node names are no
    part of what the device runs, so such a cut still teaches and confirms its group's rule. (Its adaptive
    pooling, exported as products with reshapes to -1, is also where a -1 no cut moves appears.)"""
    from families.vgg import vgg11_bn

    torch.manual_seed(0)
    net, shape = vgg11_bn(num_classes=4, cfg="A").eval(), (1, 3, 64, 64)
    graph = analyze(net, shape)
    sizes = graph.sizes()
    graphs = CandidateGraphs(onnx.load_model_from_string(export_bytes(net, shape)), sizes)
    group = "features.0"
    cuts = [normalised(onnx.load_model_from_string(export_bytes(shrunk_copy(net, graph, {group: c}), shape)))
            for c in (sizes[group] // 2, sizes[group] // 4)]
    assert [n.name for n in cuts[0].graph.node] != [n.name for n in graphs.base.graph.node]  # the shift
    assert graphs.observe(group, sizes[group] // 2, cuts[0]) is None
    check = graphs.observe(group, sizes[group] // 4, cuts[1])
    assert check is not None and fields(check) == fields(cuts[1])
    graphs.confirm(group, True)
    assert graphs.can(group)
