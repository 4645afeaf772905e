import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from lut.signature import ACTIVATIONS, OPS, LayerSignature
from netadapt.errors import UserError
from profilers.fake import FakeProfiler
from profilers.graphs import build_identity_model, build_layer_model, input_feeds
from profilers.onnx_layers import model_signatures

SIGS = [
    LayerSignature("conv", 1, 8, 12, 12, 16, kernel=3, stride=2, padding=1, activation="relu"),
    LayerSignature("conv", 2, 8, 7, 7, 8, kernel=3, stride=1, padding=1, groups=8, activation="relu6"),
    LayerSignature("linear", 2, 10, 1, 1, 5, activation="sigmoid"),
    LayerSignature("add", 1, 8, 4, 4, 8, activation="relu"),
    LayerSignature("maxpool", 1, 8, 9, 9, 8, kernel=3, stride=2, padding=1),
    LayerSignature("avgpool", 1, 8, 8, 8, 8, kernel=2, stride=2, activation="hardswish"),
    LayerSignature("global_avgpool", 1, 8, 5, 5, 8),
    LayerSignature("flatten", 3, 8, 2, 2, 8),
]


def _session(model):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def test_every_op_and_activation_is_covered():
    assert {s.op for s in SIGS} == set(OPS)
    assert {s.activation for s in SIGS} | {"none"} == set(ACTIVATIONS)


@pytest.mark.parametrize("sig", SIGS, ids=lambda s: s.short())
def test_layer_graph_checks_and_runs_with_signature_shape(sig):
    model = build_layer_model(sig)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 17
    (out,) = _session(model).run(None, input_feeds(sig))
    assert out.shape == sig.output_shape
    assert np.isfinite(out).all()


def test_graph_is_seeded():
    sig = SIGS[0]
    a, b = build_layer_model(sig, seed=3), build_layer_model(sig, seed=3)
    assert a.SerializeToString() == b.SerializeToString()
    assert build_layer_model(sig, seed=4).SerializeToString() != a.SerializeToString()


def test_conv_matches_torch_reference():
    sig = LayerSignature("conv", 1, 4, 6, 6, 6, kernel=3, stride=2, padding=1, groups=2, activation="relu6")
    model = build_layer_model(sig, seed=1)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    feeds = input_feeds(sig, seed=1)
    (out,) = _session(model).run(None, feeds)
    ref = torch.nn.functional.conv2d(torch.from_numpy(feeds["x"]), torch.from_numpy(inits["weight"].copy()),
                                     torch.from_numpy(inits["bias"].copy()), stride=2, padding=1, groups=2)
    ref = torch.clamp(ref, 0.0, 6.0).numpy()
    assert out.shape == ref.shape == (1, 6, 3, 3)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    assert (out > 0).any()


def test_add_is_sum_of_inputs():
    sig = LayerSignature("add", 1, 3, 2, 2, 3)
    feeds = input_feeds(sig)
    (out,) = _session(build_layer_model(sig)).run(None, feeds)
    np.testing.assert_allclose(out, feeds["x"] + feeds["x2"], rtol=1e-6)


def test_identity_graph():
    model = build_identity_model((1, 3, 4, 4))
    onnx.checker.check_model(model)
    x = np.arange(48, dtype=np.float32).reshape(1, 3, 4, 4)
    np.testing.assert_array_equal(_session(model).run(None, {"x": x})[0], x)


def test_channel_changing_pool_rejected():
    with pytest.raises(UserError, match="keeps channels"):
        build_layer_model(LayerSignature("maxpool", 1, 8, 8, 8, 4, kernel=2, stride=2))


def test_unsupported_dtype_rejected():
    with pytest.raises(UserError, match="dtype"):
        build_layer_model(LayerSignature("add", 1, 8, 8, 8, 8, dtype="int8"))


@pytest.mark.parametrize("sig", SIGS, ids=lambda s: s.short())
def test_layer_graph_reads_back_as_its_signature(sig):
    prof = FakeProfiler()
    assert model_signatures(build_layer_model(sig), sig.input_shape).signatures == [sig]
    assert prof.measure_model(build_layer_model(sig), sig.input_shape).median == pytest.approx(
        prof.measure_layer(sig).median)
