"""Large stored tensors whose values do not matter, carried by reference instead of by value.

A graph handed to the device's optimiser only to read the nodes it would run (``profilers.units``) needs its
weights' types and dimensions, not their values: a weight's values never decide how ONNX Runtime rewrites
a graph, and the nodes are timed on random data of their own. A written candidate graph
(``netadapt.latency.synthesis``) therefore holds each float tensor of at least ``MIN_BYTES`` as a reference
(``zero_tensor``): its dimensions, and external data at ``LOCATION``, which names no file. A device that
``fills_zero_weights`` gives ONNX Runtime one shared zero-filled buffer for every such tensor
(``ort_values``), so neither Python nor ONNX Runtime copies megabytes per candidate; any other device is
handed a copy with the zeros written in (``filled``).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

#: Where a zero reference points (a name, not a file: nothing is read from it).
LOCATION = "netadapt:zeros"

#: Float tensors of at least this many bytes are carried by reference (smaller ones are cheap to copy).
MIN_BYTES = 65536

_FLOAT = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16,
          onnx.TensorProto.DOUBLE: np.float64}


def _nbytes(dims, data_type: int) -> int:
    return int(np.prod(dims, dtype=np.int64)) * np.dtype(_FLOAT[data_type]).itemsize


def zero_tensor(tensor: onnx.TensorProto, dims) -> None:
    """Make ``tensor`` (a float tensor) a zero reference of ``dims``, its data dropped."""
    tensor.ClearField("raw_data")
    for name in ("float_data", "double_data", "int32_data"):
        tensor.ClearField(name)
    del tensor.dims[:]
    tensor.dims.extend(int(d) for d in dims)
    tensor.data_location = onnx.TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in (("location", LOCATION), ("offset", "0"),
                       ("length", str(_nbytes(dims, tensor.data_type)))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def referable(tensor: onnx.TensorProto, dims=None) -> bool:
    """Whether ``tensor`` (at ``dims``, its own by default) is a float tensor large enough to be referred to."""
    if tensor.data_type not in _FLOAT:
        return False
    return _nbytes(tensor.dims if dims is None else dims, tensor.data_type) >= MIN_BYTES


def lighten(model: onnx.ModelProto) -> int:
    """Turn every large float initializer of ``model`` into a zero reference (in place); how many were."""
    turned = 0
    for tensor in model.graph.initializer:
        if referable(tensor) and not is_zero_reference(tensor):
            zero_tensor(tensor, tuple(tensor.dims))
            turned += 1
    return turned


def lightened(data: bytes) -> bytes:
    """A serialized model with its large float initializers made zero references (``lighten``): what an
    export is read for (its nodes and their shapes) needs no weights, and a network with hundreds of
    megabytes of them is otherwise copied by every reader. ``data`` itself when nothing is large."""
    model = onnx.load_model_from_string(bytes(data))
    return model.SerializeToString() if lighten(model) else data


def is_zero_reference(tensor: onnx.TensorProto) -> bool:
    return (tensor.data_location == onnx.TensorProto.EXTERNAL
            and any(e.key == "location" and e.value == LOCATION for e in tensor.external_data))


def references(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """The zero references among ``model``'s initializers."""
    return [t for t in model.graph.initializer if is_zero_reference(t)]


class _Zeros:
    """One zero-filled buffer, grown as needed, that every reference is a view of."""

    def __init__(self):
        self.buffer = np.zeros(0, dtype=np.uint8)

    def view(self, dims, data_type: int) -> np.ndarray:
        n = _nbytes(dims, data_type)
        if n > self.buffer.size:
            self.buffer = np.zeros(max(n, 2 * self.buffer.size), dtype=np.uint8)
        return self.buffer[:n].view(_FLOAT[data_type]).reshape(tuple(int(d) for d in dims))


_ZEROS = _Zeros()


def ort_values(model: onnx.ModelProto) -> tuple[list[str], list]:
    """Names and ``onnxruntime.OrtValue`` views of one zero buffer for ``model``'s zero references (for
    ``SessionOptions.add_external_initializers``; nothing is copied)."""
    import onnxruntime as ort

    names, values = [], []
    for tensor in references(model):
        names.append(tensor.name)
        values.append(ort.OrtValue.ortvalue_from_numpy(_ZEROS.view(tensor.dims, tensor.data_type)))
    return names, values


def filled(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` with its zero references written out as zeros (for devices that read every
    tensor from the graph itself); ``model`` itself when it has none."""
    if not references(model):
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for tensor in references(out):
        tensor.CopyFrom(helper.make_tensor(tensor.name, tensor.data_type, list(tensor.dims),
                                           _ZEROS.view(tensor.dims, tensor.data_type).tobytes(), raw=True))
    return out
