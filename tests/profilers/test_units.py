"""The nodes a device runs for a model, read from its own optimiser, each timeable alone."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from devices.cpu import CpuDevice
from devices.fake import FakeDevice
from families import FAMILIES, build
from netadapt.export import export_bytes
from netadapt.models import model_info
from netadapt.models.spec import ModelSpec
from profilers import ProfileConfig
from profilers.node_graphs import build_node_model
from profilers.ort_profiler import OrtProfiler
from profilers.units import declared_outputs, graph_units, model_units
from test_fake_profiler import residual_model


class ViewNet(nn.Module):
    """Flattens with a computed shape (``x.view(x.size(0), -1)``) and scales by a squeeze-excitation."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc1 = nn.Conv2d(8, 4, 1)
        self.fc2 = nn.Conv2d(4, 8, 1)
        self.head = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
        x = nn.functional.adaptive_avg_pool2d(x * s, 4)
        return self.head(x.view(x.size(0), -1))


def test_cpu_units_are_the_optimised_graph_and_each_runs_alone():
    device = CpuDevice(threads=1)
    units = model_units(residual_model(), device, (2, 3, 16, 16))
    ops = [u.key.op_type for u in units]
    assert "BatchNormalization" not in ops  # folded into the convolution
    assert "Relu" not in ops or len([o for o in ops if o == "Relu"]) < 2  # fused where the device fuses
    convs = [u.key for u in units if u.key.is_conv]
    # 8 channels, or the block the CPU's blocked layout pads them to (16 with AVX-512)
    assert len(convs) == 2 and convs[0].channels[0] == 3
    assert all(k.channels[1] in (8, 16) and k.channels[1] == convs[0].channels[1] for k in convs)
    profiler = OrtProfiler(device, ProfileConfig(warmup=1, repeats=2))
    for unit in units:
        assert profiler.measure_node(unit.key).count == 2


def test_computed_shapes_are_kept_by_value_and_keys_are_stable():
    torch.manual_seed(0)
    net = ViewNet().eval()
    exported = export_bytes(net, (2, 3, 8, 8))
    for device in (CpuDevice(threads=1), FakeDevice()):
        units = model_units(exported, device, (2, 3, 8, 8))
        again = model_units(export_bytes(net, (2, 3, 8, 8)), device, (2, 3, 8, 8))
        assert [u.key.key_id for u in units] == [u.key.key_id for u in again]
        values = [t for u in units for t in u.key.inputs if t is not None and t.role == "value"]
        assert all(t.dtype.startswith("int") for t in values)
        head = [u.key for u in units if u.key.channels == (128, 5)]
        assert len(head) == 1 and head[0].data.shape == (2, 128)
    profiler = OrtProfiler(CpuDevice(threads=1), ProfileConfig(warmup=0, repeats=1))
    for unit in model_units(exported, CpuDevice(threads=1), (2, 3, 8, 8)):
        model, feeds = build_node_model(unit.key)
        assert set(feeds) == {f"in{i}" for i, t in enumerate(unit.key.inputs) if t is not None and t.role == "data"}
        assert profiler.measure_node(unit.key).count == 1


def _declared_and_run(net, shape, device):
    optimized = device.optimize(export_bytes(net.eval(), shape))  # once: the node order may differ between two
    return graph_units(optimized, device, shape), graph_units(optimized, device, shape, run=True)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_keys_from_declared_shapes_equal_keys_from_a_run(name):
    """ONNX Runtime's shapes, declared when it loads the optimised graph, key every node exactly as a run
    of the graph does, on every architecture family (vit's LayerNorm and attention, shufflenet's
    shuffle, googlenet's concatenations, the blocked layout's reorders)."""
    torch.manual_seed(0)
    chw = FAMILIES[name][1]
    declared, ran = _declared_and_run(build(name), (2, *chw), CpuDevice(threads=1))
    assert [u.key.key_id for u in declared] == [u.key.key_id for u in ran]
    assert len(declared) >= 5


def test_zoo_keys_from_declared_shapes_equal_keys_from_a_run():
    for name in ("mobilenet_v1", "resnet20", "digits_cnn"):
        spec = ModelSpec(name)
        shape = (32, *model_info(name).default_input)
        for device in (CpuDevice(threads=1), FakeDevice()):
            declared, ran = _declared_and_run(spec.build(), shape, device)
            assert [u.key.key_id for u in declared] == [u.key.key_id for u in ran], name


class _Session:
    """What ``declared_outputs`` reads of a session."""

    def __init__(self, *outputs):
        self.outputs = [SimpleNamespace(name=f"o{i}", type=t, shape=s) for i, (t, s) in enumerate(outputs)]

    def get_outputs(self):
        return self.outputs


def test_declared_outputs_only_where_they_say_everything():
    found = declared_outputs(_Session(("tensor(float)", [2, 8, 4, 4]), ("tensor(float16)", [])))
    assert {n: (a.shape, str(a.dtype)) for n, a in found.items()} == {
        "o0": ((2, 8, 4, 4), "float32"), "o1": ((), "float16")}
    assert found["o0"].strides == (0, 0, 0, 0)  # no memory behind it
    # an integer tensor's values decide what a node does; an open dimension needs a run to be known
    assert declared_outputs(_Session(("tensor(float)", [2, 8]), ("tensor(int64)", [4]))) is None
    assert declared_outputs(_Session(("tensor(float)", ["batch", 8]))) is None
    assert declared_outputs(_Session(("tensor(float)", None))) is None


def test_an_open_batch_dimension_is_read_from_a_run():
    """A graph exported with a symbolic batch: the declared shapes are open, so the graph is run, and
    the keys are those of the same graph with the batch fixed."""
    import onnx

    net = ViewNet().eval()
    exported = export_bytes(net, (2, 3, 8, 8))
    open_batch = onnx.load_model_from_string(exported)
    for value in (*open_batch.graph.input, *open_batch.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    device = CpuDevice(threads=1)
    optimized = device.optimize(open_batch.SerializeToString())
    from profilers.units import _expose_all

    assert declared_outputs(device.inspection_session(_expose_all(optimized).SerializeToString())) is None
    units = graph_units(optimized, device, (2, 3, 8, 8))
    assert [u.key.key_id for u in units] == [u.key.key_id for u in graph_units(optimized, device, (2, 3, 8, 8),
                                                                              run=True)]
    assert all(t.shape[0] == 2 for u in units for t in u.key.inputs if t is not None and t.role == "data")


def _keys(units):
    return sorted(u.key.key_id for u in units)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_keys_of_a_graph_optimised_without_its_weights_equal_those_with_them(name, monkeypatch):
    """``model_units`` has the device leave large weights out of the optimised graph (their shapes kept)
    and gives them to the inspection session as inputs: every family keys the same nodes as the graph
    with its weights does (the families are small: here every tensor above the largest integer tensor a
    key records is left out)."""
    import devices.ort
    from lut.nodekey import MAX_STORED_VALUES

    monkeypatch.setattr(devices.ort, "WEIGHTLESS_MIN_BYTES", 8 * MAX_STORED_VALUES + 1)
    torch.manual_seed(0)
    chw = FAMILIES[name][1]
    exported = export_bytes(build(name).eval(), (2, *chw))
    device = CpuDevice(threads=1)
    assert _keys(model_units(exported, device, (2, *chw))) == _keys(graph_units(device.optimize(exported),
                                                                                device, (2, *chw)))


def test_weights_are_left_out_of_most_families_at_that_size(monkeypatch):
    import devices.ort
    from lut.nodekey import MAX_STORED_VALUES

    monkeypatch.setattr(devices.ort, "WEIGHTLESS_MIN_BYTES", 8 * MAX_STORED_VALUES + 1)
    device, left_out = CpuDevice(threads=1), {}
    for name, (_, chw, *_) in sorted(FAMILIES.items()):
        torch.manual_seed(0)
        graph = device.optimize(export_bytes(build(name).eval(), (2, *chw)), weights=False).graph
        left_out[name] = sum(t.data_location == t.EXTERNAL for t in graph.initializer)
    assert sum(n > 0 for n in left_out.values()) >= len(FAMILIES) // 2, left_out


def test_weightless_graphs_keep_every_integer_tensor_a_key_records():
    import devices.ort
    from lut.nodekey import MAX_STORED_VALUES

    assert devices.ort.WEIGHTLESS_MIN_BYTES > 8 * MAX_STORED_VALUES


def test_zoo_keys_without_weights_equal_those_with_them_on_both_cpu_devices():
    for name in ("mobilenet_v1", "resnet20", "digits_cnn"):
        shape = (32, *model_info(name).default_input)
        exported = export_bytes(ModelSpec(name).build().eval(), shape)
        for device in (CpuDevice(threads=1), FakeDevice()):
            left_out = [t for t in device.optimize(exported, weights=False).graph.initializer
                        if t.data_location == t.EXTERNAL]
            assert len(left_out) >= (10 if name == "mobilenet_v1" else 0)
            assert _keys(model_units(exported, device, shape)) == _keys(
                graph_units(device.optimize(exported), device, shape)), (name, device)


def test_a_graph_without_weights_whose_shapes_only_a_run_tells_is_optimised_again_and_run():
    import onnx

    exported = export_bytes(ViewNet().eval(), (2, 3, 8, 8))
    open_batch = onnx.load_model_from_string(exported)
    for value in (*open_batch.graph.input, *open_batch.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    device = CpuDevice(threads=1)
    calls = []
    optimize = device.optimize
    device.optimize = lambda model, weights=True: calls.append(weights) or optimize(model, weights=weights)
    units = model_units(open_batch, device, (2, 3, 8, 8))
    assert _keys(units) == _keys(graph_units(optimize(open_batch.SerializeToString()), device, (2, 3, 8, 8),
                                             run=True))
    assert calls in ([False, True], [False])  # again with weights only where some were left out
