"""Read an ONNX model as a list of layer signatures, the way the layer graphs time them.

Each Conv, Gemm (or MatMul with a constant weight), residual Add, pooling and Flatten node becomes one
``LayerSignature``; a batch-norm right after a convolution and an activation right after any of them is
folded into it, as the layer graphs do. Every other node is reported by type so a caller can charge it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, numpy_helper, shape_inference

from lut.signature import LayerSignature
from netadapt.errors import UserError

_ACTIVATIONS = {"Relu": "relu", "Clip": "relu6", "HardSwish": "hardswish", "Sigmoid": "sigmoid"}
_DTYPES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16"}
_FREE = {"Constant"}  # folded into initializers when the session is created


@dataclass
class ModelLayers:
    """The layers found in a model.

    Attributes:
        signatures: one per timed unit, in graph order.
        other_nodes: op types of the nodes that map to no signature.
    """

    signatures: list[LayerSignature] = field(default_factory=list)
    other_nodes: list[str] = field(default_factory=list)


def load_model(model) -> onnx.ModelProto:
    """A ModelProto from a ModelProto, serialized bytes or a file path.

    Raises:
        UserError: the file is missing or is not an ONNX model.
    """
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (bytes, bytearray)):
        label, load = "<bytes>", lambda: onnx.load_model_from_string(bytes(model))
    else:
        label = os.fspath(model)
        if not os.path.isfile(label):
            raise UserError(f"ONNX model file not found: {label}")
        load = lambda: onnx.load(label)  # noqa: E731 - also loads external data beside the file
    try:
        return load()
    except DecodeError as exc:
        raise UserError(f"not an ONNX model: {label}") from exc


def _with_input_shape(model: onnx.ModelProto, input_shape) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    inits = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in inits]
    if input_shape is not None and graph_inputs:
        dims = graph_inputs[0].type.tensor_type.shape.dim
        if len(dims) != len(input_shape):
            raise UserError(f"input shape {tuple(input_shape)} has {len(input_shape)} dimensions but the "
                            f"model's input {graph_inputs[0].name!r} has {len(dims)}")
        for dim, size in zip(dims, input_shape):
            if dim.HasField("dim_value") and dim.dim_value != size:
                raise UserError(f"input shape {tuple(input_shape)} does not match the model's fixed input "
                                f"shape {tuple(d.dim_value for d in dims)}")
            dim.Clear()
            dim.dim_value = int(size)
    return shape_inference.infer_shapes(model, data_prop=True)


def _tensor_shapes(model: onnx.ModelProto) -> dict[str, tuple[tuple[int, ...], int]]:
    shapes = {}
    g = model.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in tt.shape.dim)
        if tt.HasField("shape") and all(d > 0 for d in dims):
            shapes[vi.name] = (dims, tt.elem_type)
    for init in g.initializer:
        shapes[init.name] = (tuple(init.dims), init.data_type)
    return shapes


def _constants(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(attr.t)
    return consts


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Reader:
    def __init__(self, model: onnx.ModelProto):
        self.shapes = _tensor_shapes(model)
        self.consts = _constants(model)
        self.outputs = {o.name for o in model.graph.output}
        self.nodes = list(model.graph.node)
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for name in node.input:
                self.consumers.setdefault(name, []).append(i)

    def shape(self, name):
        return self.shapes.get(name, (None, None))[0]

    def dtype(self, name) -> str | None:
        return _DTYPES.get(self.shapes.get(name, (None, None))[1])

    def sole_consumer(self, name):
        users = self.consumers.get(name, [])
        if len(users) != 1 or name in self.outputs:
            return None
        return users[0]

    def is_relu6(self, node) -> bool:
        attrs = _attrs(node)
        lo, hi = attrs.get("min"), attrs.get("max")
        if len(node.input) > 1 and node.input[1]:
            lo = self.consts.get(node.input[1])
        if len(node.input) > 2 and node.input[2]:
            hi = self.consts.get(node.input[2])
        return lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0

    def signature(self, node) -> LayerSignature | None:
        op = node.op_type
        x = self.shape(node.input[0]) if node.input else None
        dtype = self.dtype(node.input[0]) if node.input else None
        if x is None or dtype is None:
            return None
        a = _attrs(node)
        if op == "Conv" and len(x) == 4:
            w = self.shape(node.input[1])
            k = list(a.get("kernel_shape", w[2:] if w else []))
            if not w or len(k) != 2 or k[0] != k[1] or a.get("dilations", [1, 1]) != [1, 1]:
                return None
            return self._spatial("conv", x, dtype, w[0], k[0], a, groups=int(a.get("group", 1)))
        if op in ("MaxPool", "AveragePool") and len(x) == 4:
            k = list(a.get("kernel_shape", []))
            if len(k) != 2 or k[0] != k[1]:
                return None
            return self._spatial("maxpool" if op == "MaxPool" else "avgpool", x, dtype, x[1], k[0], a)
        if op == "Gemm" and len(x) == 2 and not a.get("transA", 0):
            w = self.shape(node.input[1])
            if w is None:
                return None
            cout = w[0] if a.get("transB", 0) else w[1]
            return LayerSignature("linear", x[0], x[1], 1, 1, cout, dtype=dtype)
        if op == "MatMul" and len(x) == 2 and node.input[1] in self.consts:
            w = self.shape(node.input[1])
            return LayerSignature("linear", x[0], x[1], 1, 1, w[1], dtype=dtype) if len(w) == 2 else None
        if op == "Add" and not any(n in self.consts for n in node.input):
            if self.shape(node.input[1]) != x or len(x) not in (2, 4):
                return None
            h, w = (x[2], x[3]) if len(x) == 4 else (1, 1)
            return LayerSignature("add", x[0], x[1], h, w, x[1], dtype=dtype)
        if op == "GlobalAveragePool" and len(x) == 4:
            return LayerSignature("global_avgpool", x[0], x[1], x[2], x[3], x[1], dtype=dtype)
        if op == "Flatten" and a.get("axis", 1) == 1 and len(x) in (2, 4):
            h, w = (x[2], x[3]) if len(x) == 4 else (1, 1)
            return LayerSignature("flatten", x[0], x[1], h, w, x[1], dtype=dtype)
        return None

    def _spatial(self, op, x, dtype, cout, k, a, groups=1) -> LayerSignature | None:
        s = list(a.get("strides", [1, 1]))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = [(k - 1) // 2] * 4
        if s[0] != s[1] or len(set(pads)) != 1:
            return None
        return LayerSignature(op, x[0], x[1], x[2], x[3], cout, kernel=k, stride=s[0], padding=pads[0],
                              groups=groups, dtype=dtype)


def model_signatures(model, input_shape: tuple[int, ...] | None = None) -> ModelLayers:
    """The layer signatures of a model (path, bytes or ModelProto) at one input shape.

    Raises:
        UserError: unreadable model, or an input shape that contradicts the model's fixed one.
    """
    reader = _Reader(_with_input_shape(load_model(model), input_shape))
    found = ModelLayers()
    used: set[int] = set()
    for i, node in enumerate(reader.nodes):
        if i in used:
            continue
        sig = reader.signature(node)
        if sig is None:
            if node.op_type not in _FREE:
                found.other_nodes.append(node.op_type)
            continue
        out = node.output[0]
        nxt = reader.sole_consumer(out)
        if sig.op == "conv" and nxt is not None and reader.nodes[nxt].op_type == "BatchNormalization":
            used.add(nxt)
            out = reader.nodes[nxt].output[0]
            nxt = reader.sole_consumer(out)
        if sig.op == "linear" and node.op_type == "MatMul" and nxt is not None:
            bias = reader.nodes[nxt]
            if bias.op_type == "Add" and any(n in reader.consts for n in bias.input):
                used.add(nxt)
                out = bias.output[0]
                nxt = reader.sole_consumer(out)
        if nxt is not None and reader.nodes[nxt].op_type in _ACTIVATIONS:
            act = reader.nodes[nxt]
            if act.op_type != "Clip" or reader.is_relu6(act):
                used.add(nxt)
                sig = LayerSignature(**{**sig.to_dict(), "activation": _ACTIVATIONS[act.op_type]})
        found.signatures.append(sig)
    return found
