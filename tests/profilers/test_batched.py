"""Several networks' units from one optimisation: each network's nodes and keys as its own optimisation
gives them, on the CPU's layout-changing optimiser and on the fake device."""

import re

import onnx
import pytest
import torch

from devices import get_device, zero_weights
from netadapt.export import export_bytes
from netadapt.latency.grid import probe_grids
from netadapt.latency.joint import JointRules, joint_cuts
from netadapt.latency.synthesis import CandidateGraphs
from netadapt.models import create_model
from netadapt.pruning import analyze, shrunk_copy
from profilers.batched import batched_units, merged
from profilers.units import model_units


def _written(name, shape):
    """Graphs written for a half-width zoo network: one cut of each group, and a few of several at once."""
    torch.manual_seed(0)
    net = create_model(name, num_classes=10, width_mult=0.5).eval()
    graph = analyze(net, shape)
    graphs = CandidateGraphs(onnx.load_model_from_string(export_bytes(net, shape)), graph.sizes())
    grids = probe_grids(graph, graph.sizes(), 4)
    cuts = joint_cuts(graph.sizes(), grids)
    exports = [export_bytes(shrunk_copy(net, graph, cut), shape) for cut in cuts]
    joint = JointRules(graphs)
    assert joint.learn(cuts, exports[:2]) and joint.check(cuts[2], exports[2]) is not None
    joint.confirm(True)
    written = [graphs.synthesise(g, counts[0]) for g, counts in grids.items() if g in cuts[0]]
    written += [graphs.synthesise_many(cut) for cut in cuts]
    return [w for w in written if w is not None]


@pytest.mark.parametrize("name", ["mobilenet_v1", "resnet20"])
@pytest.mark.parametrize("device_name", ["cpu", "fake"])
def test_a_batch_gives_every_network_the_nodes_and_keys_of_its_own_optimisation(name, device_name):
    shape = (4, 3, 16, 16)
    written = _written(name, shape)
    assert len(written) >= 10
    device = get_device(device_name)
    found = batched_units(written, device, shape)
    assert found is not None and len(found) == len(written)
    for units, alone in zip(found, (model_units(w, device, shape) for w in written)):
        assert [u.key for u in units] == [u.key for u in alone]
        assert [_plain(u.name) for u in units] == [_plain(u.name) for u in alone]


def _plain(name: str) -> str:
    """A node's name without the number ONNX Runtime gives the nodes it adds (counted over the graph)."""
    return re.sub(r"_token_\d+$", "", name)


def test_equal_stored_tensors_are_held_once_and_tensors_of_one_name_that_differ_apart():
    written = _written("mobilenet_v1", (4, 3, 16, 16))[:6]
    model = merged(written)
    per_part = len(written[0].graph.initializer)
    assert per_part < len(model.graph.initializer) < per_part * len(written) / 2
    names = [t.name for t in model.graph.initializer]
    assert len(names) == len(set(names)) and any("#" in n for n in names)
    assert len(model.graph.input) == len(written) and len(model.graph.output) == len(written)
    onnx.checker.check_model(zero_weights.filled(model))  # a valid model once its zeros are written


def test_exports_with_their_weights_batch_too():
    """Networks exported (weights and all, not written) batch alike: equal weights are held once."""
    torch.manual_seed(0)
    shape = (2, 3, 16, 16)
    net = create_model("resnet20", num_classes=10, width_mult=0.5).eval()
    graph = analyze(net, shape)
    exports = [onnx.load_model_from_string(export_bytes(shrunk_copy(net, graph, {g: size // 2}), shape))
               for g, size in list(graph.sizes().items())[:4]]
    device = get_device("cpu")
    found = batched_units(exports, device, shape)
    assert found is not None
    assert [[u.key for u in units] for units in found] == [[u.key for u in model_units(e, device, shape)]
                                                          for e in exports]


def test_a_network_of_two_inputs_or_a_device_that_reads_every_weight_is_left_to_its_own_optimisation():
    from onnx import TensorProto, helper

    two = helper.make_model(helper.make_graph(
        [helper.make_node("Add", ["x", "y"], ["z"])], "two",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("x", "y")],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4])]))
    assert batched_units([two, two], get_device("cpu"), (1, 4)) is None

    class Reads(type(get_device("fake"))):
        fills_zero_weights = False

    written = _written("resnet20", (4, 3, 16, 16))[:2]
    assert batched_units(written, Reads(), (4, 3, 16, 16)) is None
