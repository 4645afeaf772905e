"""Export a PyTorch model to ONNX and check that ONNX Runtime computes the same outputs."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from netadapt.pruning.dependency import main_output


class OnnxMismatchError(RuntimeError):
    """ONNX Runtime's outputs differ from PyTorch's beyond the tolerance."""


def export_onnx(model: nn.Module, path: str | os.PathLike, input_shape: tuple[int, int, int, int],
                verify: bool = True, atol: float = 1e-4, rtol: float = 1e-3, opset: int = 17) -> Path:
    """Export ``model`` to ONNX at ``path`` (atomically), optionally verifying it with ONNX Runtime.

    The model is exported in eval mode with constant folding through the TorchScript exporter
    (``dynamo=False``: ten times faster here than the dynamo exporter, same ONNX Runtime speed);
    its training/eval mode is restored afterwards.

    Args:
        model: the model to export.
        path: the ``.onnx`` file to write; its folder is created if missing.
        input_shape: the (N, C, H, W) input shape, fixed in the graph.
        verify: run the file in ONNX Runtime and compare with PyTorch on a random input.
        atol: absolute tolerance of the comparison.
        rtol: relative tolerance of the comparison.
        opset: ONNX opset version.

    Returns:
        The path written.

    Raises:
        OnnxMismatchError: if ``verify`` and the outputs differ beyond tolerance.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.randn(*input_shape)
    was_training = model.training
    model.eval()
    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter
            _torch_export(model, dummy, tmp, opset)
        os.replace(tmp, path)
    finally:
        model.train(was_training)
        if os.path.exists(tmp):
            os.unlink(tmp)
    if verify:
        verify_onnx(model, path, input_shape, atol=atol, rtol=rtol)
    return path


def export_bytes(model: nn.Module, input_shape: tuple[int, ...], opset: int = 17) -> bytes:
    """The model exported to ONNX in memory (eval mode, constant folding; its mode is restored)."""
    import io

    buffer = io.BytesIO()
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _torch_export(model, torch.zeros(*input_shape), buffer, opset)
    finally:
        model.train(was_training)
    return buffer.getvalue()


def _torch_export(model: nn.Module, dummy: torch.Tensor, path, opset: int) -> None:
    kwargs = dict(input_names=["input"], output_names=["output"], opset_version=opset, do_constant_folding=True)
    with exportable_adaptive_pooling():
        try:
            torch.onnx.export(model, (dummy,), path, dynamo=False, **kwargs)
        except TypeError as exc:  # a torch without the ``dynamo`` switch (older) or without the legacy path
            if "dynamo" not in str(exc):
                raise
            torch.onnx.export(model, (dummy,), path, **kwargs)


def averaging_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """(size_out, size_in) weights of adaptive average pooling along one axis: row i averages the
    inputs from floor(i * in / out) to ceil((i + 1) * in / out)."""
    m = torch.zeros(size_out, size_in)
    for i in range(size_out):
        start, end = (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)
        m[i, start:end] = 1.0 / (end - start)
    return m


class exportable_adaptive_pooling:
    """While exporting, adaptive average pooling to a size that does not divide the input's is
    computed as two matrix products with fixed averaging weights (the same numbers).

    The TorchScript exporter refuses ``adaptive_avg_pool2d`` unless the output size divides the input
    size, so torchvision's VGG (a (7, 7) pool) cannot be exported from a 64x64 input, whose features end
    at 2x2. ``nn.AdaptiveAvgPool2d`` and functional calls both go through
    ``torch.nn.functional.adaptive_avg_pool2d``, which is replaced for the export only.
    """

    def __enter__(self):
        import torch.nn.functional as F

        self._original = original = F.adaptive_avg_pool2d

        def adaptive_avg_pool2d(input, output_size):
            h, w = int(input.shape[-2]), int(input.shape[-1])
            oh, ow = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
            oh, ow = oh or h, ow or w
            if h % oh == 0 and w % ow == 0:
                return original(input, output_size)
            ph = averaging_matrix(h, oh).to(input.dtype)
            pw = averaging_matrix(w, ow).to(input.dtype)
            return torch.matmul(torch.matmul(ph, input), pw.t())

        F.adaptive_avg_pool2d = adaptive_avg_pool2d
        return self

    def __exit__(self, *exc):
        import torch.nn.functional as F

        F.adaptive_avg_pool2d = self._original
        return False


def verify_onnx(model: nn.Module, path: str | os.PathLike, input_shape: tuple[int, int, int, int],
                atol: float = 1e-4, rtol: float = 1e-3, seed: int = 0) -> float:
    """Run the ONNX file and the model on the same random input and compare.

    Args:
        model: the PyTorch model (evaluated in eval mode; its mode is restored).
        path: the ONNX file.
        input_shape: the (N, C, H, W) input shape.
        atol: absolute tolerance.
        rtol: relative tolerance.
        seed: seed of the random input.

    Returns:
        The maximum absolute difference between the two outputs.

    Raises:
        OnnxMismatchError: if any element differs by more than ``atol + rtol * |torch output|``.
    """
    import onnxruntime as ort

    x = torch.randn(*input_shape, generator=torch.Generator().manual_seed(seed))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            expected = main_output(model(x)).numpy()
    finally:
        model.train(was_training)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    actual = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    if actual.shape != expected.shape:
        raise OnnxMismatchError(f"{path}: ONNX output shape {actual.shape} != PyTorch {expected.shape}")
    diff = np.abs(actual - expected)
    max_diff = float(diff.max()) if diff.size else 0.0
    if not np.all(diff <= atol + rtol * np.abs(expected)):
        raise OnnxMismatchError(f"{path}: ONNX Runtime and PyTorch outputs differ by up to {max_diff:.3g} "
                                f"(atol={atol}, rtol={rtol})")
    return max_diff
