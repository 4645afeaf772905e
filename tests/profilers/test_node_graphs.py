import numpy as np
import onnx
import onnxruntime as ort
import pytest

from lut.nodekey import NodeKey, TensorSpec
from profilers.node_graphs import _varint, build_node_model, node_model_bytes

from nodekeys import conv_key, gemm_key, relu_key


def _reshape_key() -> NodeKey:
    """A node with an integer tensor stored by value beside its data."""
    return NodeKey.make("", "Reshape", 17, {},
                        [TensorSpec((1, 8, 4, 4), "float32"), TensorSpec((2,), "int64", "value", (1, -1))],
                        [TensorSpec((1, 128), "float32")])


def _half_gemm_key() -> NodeKey:
    return NodeKey.make("", "Gemm", 17, {"transB": 1},
                        [TensorSpec((1, 300), "float16"), TensorSpec((40, 300), "float16", "weight")],
                        [TensorSpec((1, 40), "float16")])


def _resize_key() -> NodeKey:
    """A node with an empty float tensor stored beside its data (an upsampling's roi)."""
    return NodeKey.make("", "Resize", 17, {"mode": "nearest"},
                        [TensorSpec((1, 8, 4, 4), "float32"), TensorSpec((0,), "float32", "weight"),
                         TensorSpec((4,), "float32", "value", (1.0, 1.0, 2.0, 2.0))],
                        [TensorSpec((1, 8, 8, 8), "float32")])


def _empty_add_key() -> NodeKey:
    """A stored float tensor with no elements in two dimensions (NumPy gives it no byte view)."""
    return NodeKey.make("", "Add", 17, {}, [TensorSpec((0, 4), "float32"), TensorSpec((0, 4), "float32", "weight")],
                        [TensorSpec((0, 4), "float32")])


KEYS = {"conv": conv_key(3, 8, hw=16), "fused conv": conv_key(16, 32, activation="Relu", domain="com.microsoft"),
        "gemm": gemm_key(512, 300), "relu": relu_key((1, 4, 4, 4)), "reshape": _reshape_key(),
        "float16 gemm": _half_gemm_key(), "resize": _resize_key(),
        "empty add": _empty_add_key()}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_encoded_node_model_is_the_helper_built_one(name):
    model, feeds = build_node_model(KEYS[name])
    data, encoded_feeds = node_model_bytes(KEYS[name])
    assert onnx.load_model_from_string(data) == model
    assert sorted(encoded_feeds) == sorted(feeds)
    for k in feeds:
        np.testing.assert_array_equal(encoded_feeds[k], feeds[k])


def test_an_empty_stored_tensor_is_encoded_and_runs():
    data, feeds = node_model_bytes(_resize_key())
    (out,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, feeds)
    assert out.shape == (1, 8, 8, 8)
    np.testing.assert_array_equal(out[:, :, ::2, ::2], feeds["in0"])


def test_encoded_node_model_runs_with_its_stored_values():
    key = gemm_key(256, 200)  # a 200 KB weight: lengths of several varint bytes
    data, feeds = node_model_bytes(key)
    model = onnx.load_model_from_string(data)
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    assert weights["in1"].shape == (200, 256) and np.abs(weights["in1"]).max() <= 0.1
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, feeds)
    np.testing.assert_allclose(out, feeds["in0"] @ weights["in1"].T + weights["in2"], rtol=1e-4, atol=1e-5)


def test_varint_is_protobufs():
    assert _varint(0) == b"\x00"
    assert _varint(1) == b"\x01"
    assert _varint(127) == b"\x7f"
    assert _varint(300) == b"\xac\x02"  # the example of protobuf's encoding guide
    assert _varint(411_041_792) == bytes([0x80, 0x80, 0x80, 0xC4, 0x01])
