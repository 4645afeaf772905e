"""Large weights carried by reference: the device's nodes are those of the graph with its weights, and a
device that reads every tensor from the graph is handed the zeros written out."""

import io

import numpy as np
import onnx
import torch

from devices import get_device, zero_weights
from netadapt.models import create_model
from profilers.units import model_units


def _mobilenet(shape=(2, 3, 32, 32)) -> onnx.ModelProto:
    torch.manual_seed(0)
    net = create_model("mobilenet_v1", num_classes=10, width_mult=0.5).eval()
    buf = io.BytesIO()
    torch.onnx.export(net, torch.randn(shape), buf, dynamo=False)
    return onnx.load_model_from_string(buf.getvalue())


def test_a_graph_with_its_large_weights_by_reference_runs_the_same_device_nodes_and_is_a_fraction_of_it():
    shape = (2, 3, 32, 32)
    full = _mobilenet(shape)
    light = onnx.ModelProto()
    light.CopyFrom(full)
    zero_weights.lighten(light)
    refs = zero_weights.references(light)
    assert len(refs) >= 5 and all(zero_weights.referable(t) for t in refs)
    assert len(light.SerializeToString()) < len(full.SerializeToString()) / 5
    for name in ("cpu", "fake"):
        device = get_device(name)
        assert [u.key for u in model_units(light, device, shape)] == [u.key for u in model_units(full, device, shape)]


def test_filled_writes_the_zeros_out_and_a_device_that_reads_every_tensor_gets_them():
    shape = (2, 3, 32, 32)
    light = _mobilenet(shape)
    zero_weights.lighten(light)
    filled = zero_weights.filled(light)
    assert not zero_weights.references(filled) and zero_weights.references(light)  # a copy
    for tensor, ref in zip(filled.graph.initializer, light.graph.initializer):
        assert list(tensor.dims) == list(ref.dims)
        if zero_weights.is_zero_reference(ref):
            assert not np.any(onnx.numpy_helper.to_array(tensor))
    fake = get_device("fake")
    handed = []

    class Reads(type(fake)):
        fills_zero_weights = False

        def optimize(self, model, weights=True):
            handed.append(onnx.load_model_from_string(model))
            return super().optimize(model, weights)

    assert [u.key for u in model_units(light, Reads(), shape)] == [u.key for u in model_units(light, fake, shape)]
    assert handed and not any(zero_weights.references(m) for m in handed)


def test_a_small_float_tensor_or_an_integer_one_is_never_referred_to():
    small = onnx.numpy_helper.from_array(np.ones((8, 8), np.float32), "w")
    ints = onnx.numpy_helper.from_array(np.ones((1 << 16,), np.int64), "i")
    assert not zero_weights.referable(small) and not zero_weights.referable(ints)
    assert zero_weights.referable(small, dims=(128, 128))


def test_the_optimiser_leaves_large_weights_where_nothing_keeps_them_and_its_folder_is_reused():
    import os

    from devices import ort as ort_device

    device = get_device("cpu")
    data = _mobilenet().SerializeToString()
    first = device.optimize(data, weights=False)
    folder = ort_device._scratch()
    second = device.optimize(data, weights=False)
    assert ort_device._scratch() is folder
    assert [n.op_type for n in first.graph.node] == [n.op_type for n in second.graph.node]
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in second.graph.initializer)
    where = os.path.dirname(folder.graph)
    kept = sum(os.path.getsize(os.path.join(where, f)) for f in os.listdir(where)
               if not os.path.islink(os.path.join(where, f)))
    assert kept < len(data) / 4  # the weights went to the null device, not into a file
    with_weights = device.optimize(data)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in with_weights.graph.initializer)


def test_lightened_bytes_keep_every_tensor_dimension_and_read_as_the_same_integers():
    from netadapt.latency.graph_fields import fields, normalised

    full = _mobilenet()
    data = full.SerializeToString()
    light = onnx.load_model_from_string(zero_weights.lightened(data))
    assert len(zero_weights.references(light)) >= 5
    assert [list(t.dims) for t in light.graph.initializer] == [list(t.dims) for t in full.graph.initializer]
    assert fields(normalised(light)) == fields(normalised(full))  # a rule learnt from either writes the other
    small = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])]))
    tiny = small.SerializeToString()
    assert zero_weights.lightened(tiny) is tiny  # nothing large: the same bytes, not a copy
