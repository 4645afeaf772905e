import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from devices.fake import FakeDevice
from lut.signature import LayerSignature
from profilers.fake import FakeProfiler
from profilers.onnx_layers import model_signatures


def test_formula_and_determinism():
    prof = FakeProfiler(per_node_ms=0.01, ms_per_mmac=0.02)
    sig = LayerSignature("conv", 1, 16, 32, 32, 32, kernel=3, padding=1)
    assert sig.macs == 32 * 32 * 32 * 16 * 9
    stats = prof.measure_layer(sig)
    expected = 0.01 + 0.02 * 4_718_592 / 1e6
    assert stats.median == stats.p10 == stats.p90 == stats.mean == pytest.approx(expected)
    assert stats.std == 0.0 and stats.count == 1
    assert FakeProfiler().measure_layer(sig) == stats
    assert isinstance(prof.device, FakeDevice)


def _residual_model():
    """conv3x3+bn+relu -> maxpool -> conv1x1 + skip -> relu -> GAP -> flatten -> gemm, batch 1, 3x16x16."""
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


def test_whole_model_is_sum_of_layers():
    expected_sigs = [
        LayerSignature("conv", 1, 3, 16, 16, 8, kernel=3, padding=1, activation="relu"),
        LayerSignature("maxpool", 1, 8, 16, 16, 8, kernel=2, stride=2),
        LayerSignature("conv", 1, 8, 8, 8, 8),
        LayerSignature("add", 1, 8, 8, 8, 8, activation="relu"),
        LayerSignature("global_avgpool", 1, 8, 8, 8, 8),
        LayerSignature("flatten", 1, 8, 1, 1, 8),
        LayerSignature("linear", 1, 8, 1, 1, 10),
    ]
    layers = model_signatures(_residual_model(), (1, 3, 16, 16))
    assert layers.signatures == expected_sigs
    assert layers.other_nodes == ["Softmax"]
    prof = FakeProfiler(per_node_ms=0.05, ms_per_mmac=0.3)
    total = prof.measure_model(_residual_model(), (1, 3, 16, 16)).median
    assert total == pytest.approx(sum(prof.measure_layer(s).median for s in expected_sigs) + 0.05)
