"""ONNX export: a verified file, written atomically, and a loud failure when outputs differ."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from netadapt.export import OnnxMismatchError, export_onnx, verify_onnx
from netadapt.models import create_model

_ORIGINAL_POOL = F.adaptive_avg_pool2d


def test_export_writes_a_valid_model_with_the_given_shape(tmp_path):
    model = create_model("digits_cnn", width_mult=0.25)
    model.train()
    path = export_onnx(model, tmp_path / "sub" / "m.onnx", (2, 1, 32, 32))
    assert path == tmp_path / "sub" / "m.onnx"
    assert model.training, "the model's mode is restored"
    graph = onnx.load(str(path)).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 1, 32, 32]
    # batch norms are folded into the convolutions
    assert not [n for n in graph.node if n.op_type == "BatchNormalization"]
    assert verify_onnx(model, path, (2, 1, 32, 32)) < 1e-4


def test_export_output_equals_pytorch_on_a_given_input(tmp_path):
    model = create_model("resnet20", width_mult=0.25).eval()
    path = export_onnx(model, tmp_path / "r.onnx", (1, 3, 32, 32))
    x = torch.randn(1, 3, 32, 32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(out, model(x).detach().numpy(), atol=1e-4, rtol=1e-3)


def test_verify_reports_the_difference_when_weights_change(tmp_path):
    model = create_model("digits_cnn", width_mult=0.25).eval()
    path = export_onnx(model, tmp_path / "m.onnx", (1, 1, 32, 32))
    with torch.no_grad():
        model.classifier.bias += 0.5
    with pytest.raises(OnnxMismatchError, match=r"differ by up to 0\.5"):
        verify_onnx(model, path, (1, 1, 32, 32))


def test_export_over_an_existing_file_replaces_it(tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    export_onnx(create_model("digits_cnn", width_mult=0.25), target, (1, 1, 32, 32), verify=False)
    assert onnx.load(str(target)).graph.node
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


@pytest.mark.parametrize("size_in,size_out", [(2, 7), (5, 3), (14, 7), (1, 1)])
def test_adaptive_pooling_to_a_size_that_does_not_divide_the_input_exports(tmp_path, size_in, size_out):
    """torchvision's VGG at 64x64: 2x2 features pooled to (7, 7), which the exporter alone refuses."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d((size_out, size_out)), nn.Flatten(),
                          nn.Linear(4 * size_out * size_out, 5))
    path = export_onnx(model, tmp_path / "m.onnx", (2, 3, size_in, size_in))  # verifies against PyTorch
    assert path.exists()
    assert F.adaptive_avg_pool2d is _ORIGINAL_POOL  # restored after the export


def test_the_averaging_matrix_is_adaptive_average_pooling():
    from netadapt.export import averaging_matrix

    x = torch.randn(2, 3, 5, 9)
    expected = F.adaptive_avg_pool2d(x, (7, 4))
    got = averaging_matrix(5, 7) @ x @ averaging_matrix(9, 4).t()
    assert torch.allclose(got, expected, atol=1e-6)
