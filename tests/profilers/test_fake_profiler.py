import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from devices.fake import FakeDevice
from lut.nodework import NodeWork
from profilers.fake import FakeProfiler
from profilers.units import model_units

from nodekeys import conv_key


def test_formula_and_determinism():
    prof = FakeProfiler(per_node_ms=0.01, ms_per_mmac=0.02)
    key = conv_key(16, 32, hw=32)
    assert NodeWork.of(key).macs == 32 * 32 * 32 * 16 * 9
    stats = prof.measure_node(key)
    expected = 0.01 + 0.02 * 4_718_592 / 1e6
    assert stats.median == stats.p10 == stats.p90 == stats.mean == pytest.approx(expected)
    assert stats.std == 0.0 and stats.count == 1
    assert FakeProfiler().measure_node(key) == stats
    assert isinstance(prof.device, FakeDevice)


def residual_model():
    """conv3x3+bn+relu -> maxpool -> conv1x1 + skip -> relu -> GAP -> flatten -> gemm -> softmax, 3x16x16."""
    rng = np.random.default_rng(0)
    init = lambda name, *shape: numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
    inits = [init("w1", 8, 3, 3, 3), init("b1", 8), init("w2", 8, 8, 1, 1), init("b2", 8),
             init("fc_w", 10, 8), init("fc_b", 10),
             numpy_helper.from_array(np.ones(8, np.float32), "g"), init("be", 8), init("mu", 8),
             numpy_helper.from_array(np.ones(8, np.float32), "var")]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["bn1"]),
        helper.make_node("Relu", ["bn1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["a"]),
        helper.make_node("Relu", ["a"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g1"]),
        helper.make_node("Flatten", ["g1"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "residual",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_the_fake_device_runs_the_graph_with_batch_norm_folded_and_the_model_is_the_sum_of_its_nodes():
    units = model_units(residual_model(), FakeDevice(), (2, 3, 16, 16))
    # batch-norm folded, the first ReLU fused into its convolution (the second follows an addition)
    assert [u.key.op for u in units] == ["microsoft.FusedConv", "MaxPool", "Conv", "Add", "Relu",
                                         "GlobalAveragePool", "Flatten", "Gemm", "Softmax"]
    assert units[0].key.attr("activation") == "Relu"
    first = units[0].key
    assert first.data.shape == (2, 3, 16, 16) and first.weight.shape == (8, 3, 3, 3) and first.channels == (3, 8)
    assert units[2].key.channels == (8, 8) and units[2].key.outputs[0].shape == (2, 8, 8, 8)
    assert units[7].key.channels == (8, 10)
    prof = FakeProfiler(per_node_ms=0.05, ms_per_mmac=0.3)
    total = prof.measure_model(residual_model(), (2, 3, 16, 16)).median
    assert total == pytest.approx(sum(prof.measure_node(u.key).median for u in units))
    assert NodeWork.of(units[0].key).macs == 2 * 8 * 16 * 16 * 3 * 9
