"""Export a PyTorch model to ONNX and check that ONNX Runtime computes the same outputs."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from netadapt.inputs import export_args, input_names, random_args
from netadapt.pruning.dependency import output_tensors


class OnnxMismatchError(RuntimeError):
    """ONNX Runtime's outputs differ from PyTorch's beyond the tolerance."""


def export_onnx(model: nn.Module, path: str | os.PathLike, input_shape,
                verify: bool = True, atol: float = 1e-4, rtol: float = 1e-3, opset: int = 17) -> Path:
    """Export ``model`` to ONNX at ``path`` (atomically), optionally verifying it with ONNX Runtime.

    The model is exported in eval mode with constant folding through the TorchScript exporter
    (``dynamo=False``: ten times faster here than the dynamo exporter, same ONNX Runtime speed);
    its training/eval mode is restored afterwards.

    Args:
        model: the model to export.
        path: the ``.onnx`` file to write; its folder is created if missing.
        input_shape: the (N, C, H, W) input shape, fixed in the graph, or ``netadapt.inputs.ExampleInputs``
            (several inputs, integer ones included). Every output is exported (tuples, lists and dicts of
            tensors flattened in order; a dict's keys name its outputs).
        verify: run the file in ONNX Runtime and compare with PyTorch on a random input, output by output.
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
    dummy = export_args(input_shape)
    was_training = model.training
    model.eval()
    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter
            _torch_export(model, dummy, tmp, opset, input_names(input_shape))
        os.replace(tmp, path)
    finally:
        model.train(was_training)
        if os.path.exists(tmp):
            os.unlink(tmp)
    if verify:
        verify_onnx(model, path, input_shape, atol=atol, rtol=rtol)
    return path


def export_bytes(model: nn.Module, input_shape, opset: int = 17) -> bytes:
    """The model exported to ONNX in memory (eval mode, constant folding; its mode is restored)."""
    import io

    buffer = io.BytesIO()
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _torch_export(model, export_args(input_shape), buffer, opset, input_names(input_shape))
    finally:
        model.train(was_training)
    return buffer.getvalue()


def output_names(out, prefix: str = "output") -> list[str]:
    """Names of a model's outputs as the exporter flattens them: ``output`` for a lone tensor, ``output_0``,
    ``output_1`` ... for a tuple or list, a dict's keys (nested ones joined with ``_``)."""
    if isinstance(out, torch.Tensor):
        return [prefix]
    if isinstance(out, dict):
        return [n for key, value in out.items() for n in output_names(value, str(key))]
    if isinstance(out, (tuple, list)):
        return [n for i, value in enumerate(out) for n in output_names(value, f"{prefix}_{i}")]
    return []


def _torch_export(model: nn.Module, args: tuple, path, opset: int, inputs: list[str]) -> None:
    with torch.no_grad():
        names = output_names(model(*args))
    kwargs = dict(input_names=inputs, output_names=names, opset_version=opset, do_constant_folding=True)
    with exportable_adaptive_pooling():
        try:
            torch.onnx.export(model, args, path, dynamo=False, **kwargs)
        except TypeError as exc:  # a torch without the ``dynamo`` switch (older) or without the legacy path
            if "dynamo" not in str(exc):
                raise
            torch.onnx.export(model, args, path, **kwargs)


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


def verify_onnx(model: nn.Module, path: str | os.PathLike, input_shape,
                atol: float = 1e-4, rtol: float = 1e-3, seed: int = 0) -> float:
    """Run the ONNX file and the model on the same random input and compare every output.

    Args:
        model: the PyTorch model (evaluated in eval mode; its mode is restored).
        path: the ONNX file.
        input_shape: the (N, C, H, W) input shape, or ``netadapt.inputs.ExampleInputs`` (float inputs are
            drawn at random, integer ones are the example's).
        atol: absolute tolerance.
        rtol: relative tolerance.
        seed: seed of the random input.

    Returns:
        The maximum absolute difference between the two computations, over all outputs.

    Raises:
        OnnxMismatchError: an output is missing, of another shape, or an element differs by more than
            ``atol + rtol * |torch output|``.
    """
    import onnxruntime as ort

    args = random_args(input_shape, seed=seed)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = model(*args)
            expected = [t.numpy() for t in output_tensors(out)]
            names = output_names(out)
    finally:
        model.train(was_training)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)}
    results = session.run(None, feeds)
    if len(results) != len(expected):
        raise OnnxMismatchError(f"{path}: ONNX gives {len(results)} outputs, PyTorch {len(expected)}")
    max_diff = 0.0
    for name, actual, wanted in zip(names, results, expected):
        if actual.shape != wanted.shape:
            raise OnnxMismatchError(f"{path}: ONNX output {name} has shape {actual.shape}, PyTorch {wanted.shape}")
        if wanted.dtype.kind not in "fc":
            if not np.array_equal(actual, wanted):
                raise OnnxMismatchError(f"{path}: ONNX Runtime and PyTorch differ in output {name}")
            continue
        diff = np.abs(actual - wanted)
        worst = float(diff.max()) if diff.size else 0.0
        max_diff = max(max_diff, worst)
        if not np.all(diff <= atol + rtol * np.abs(wanted)):
            raise OnnxMismatchError(f"{path}: ONNX Runtime and PyTorch output {name} differ by up to {worst:.3g} "
                                    f"(atol={atol}, rtol={rtol})")
    return max_diff
