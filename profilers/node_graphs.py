"""A one-node ONNX model for a node key, to time that node alone on its device.

Computed inputs become graph inputs fed with random values; stored float tensors become random
initializers of the same shape; integer tensors get the values stored in the key (or zeros where the key
holds only a large tensor's shape). The model is run with graph optimisation disabled, so the node stays
exactly as the device's optimiser left it (not re-fused, not re-laid-out).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from lut.nodekey import NodeKey, TensorSpec


class _RandomPool:
    """Random values in (-0.1, 0.1) drawn once per seed (single precision, grown as needed), of which every
    random tensor of a node model is a prefix: a node's timing does not depend on which random values it
    reads, and drawing a batch's activations afresh for every node cost about a tenth of a node's setup."""

    def __init__(self):
        self._values: dict[int, np.ndarray] = {}

    def take(self, size: int, seed: int) -> np.ndarray:
        values = self._values.get(seed)
        if values is None or values.size < size:
            # small values, far from denormals (which slow some CPUs down) and from overflow
            rng = np.random.default_rng(seed)
            values = (rng.random(max(size, 1 << 16), dtype=np.float32) - np.float32(0.5)) * np.float32(0.2)
            self._values[seed] = values
        return values[:size]


_POOL = _RandomPool()


def _array(spec: TensorSpec, seed: int) -> np.ndarray:
    dtype = np.dtype(spec.dtype)
    if spec.role == "value":
        return np.asarray(spec.values, dtype=dtype).reshape(spec.shape)
    if spec.role == "zeros" or dtype.kind not in "fc":
        return np.zeros(spec.shape, dtype=dtype)
    size = int(np.prod(spec.shape, dtype=np.int64))
    return _POOL.take(size, seed).reshape(spec.shape).astype(dtype, copy=False)


def _node_parts(key: NodeKey, seed: int) -> tuple[onnx.ModelProto, dict[str, np.ndarray], list]:
    """The node's model without its random stored tensors, its feeds, and those tensors as (name, array)."""
    inputs, inits, feeds, names, drawn = [], [], {}, [], []
    for i, spec in enumerate(key.inputs):
        if spec is None:
            names.append("")
            continue
        name = f"in{i}"
        names.append(name)
        value = _array(spec, seed)
        if spec.role == "data":
            inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype),
                                                        list(spec.shape)))
            feeds[name] = value
        elif spec.role in ("value", "zeros") or value.dtype.kind not in "fc":
            inits.append(numpy_helper.from_array(value, name))
        else:
            drawn.append((name, value))
    outputs = [helper.make_tensor_value_info(f"out{i}", helper.np_dtype_to_tensor_dtype(np.dtype(o.dtype)),
                                             list(o.shape)) for i, o in enumerate(key.outputs)]
    node = helper.make_node(key.op_type, names, [o.name for o in outputs], domain=key.domain or None,
                            **{k: _plain(v) for k, v in key.attrs})
    graph = helper.make_graph([node], f"node_{key.op_type}", inputs, outputs, initializer=inits)
    opsets = [helper.make_opsetid(key.domain, key.opset)]
    if key.domain:
        opsets.append(helper.make_opsetid("", 17))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="netadapt")
    model.ir_version = helper.find_min_ir_version_for(opsets, ignore_unknown=True)
    return model, feeds, drawn


def build_node_model(key: NodeKey, seed: int = 0) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The model and its feeds (input name -> array)."""
    model, feeds, drawn = _node_parts(key, seed)
    model.graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in drawn)
    return model, feeds


def node_model_bytes(key: NodeKey, seed: int = 0) -> tuple[bytes, dict[str, np.ndarray]]:
    """``build_node_model``'s model serialized, and its feeds: the same model (its random stored tensors last
    among the initializers), written with one copy of their values instead of five.

    A fully connected layer of a classifier (VGG's first, 25088 by 4096 at 64x64, 411 MB) cost about two
    seconds to build through ``onnx.helper`` (the array to bytes, into the tensor, the graph, the model, then
    serialized), more than timing it: here the model is serialized without those tensors and each is
    appended in protobuf's own encoding (a message's fields may follow in any order, and an embedded message
    is its fields' bytes behind a length), its values read from the array itself.
    """
    model, feeds, drawn = _node_parts(key, seed)
    graph = model.graph
    model.ClearField("graph")
    parts = [graph.SerializeToString()]
    for name, value in drawn:
        head = onnx.TensorProto(name=name, dims=value.shape,
                                data_type=helper.np_dtype_to_tensor_dtype(value.dtype)).SerializeToString()
        # little-endian, as ONNX stores raw data (a view where the machine is, as x86 and ARM are)
        value = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        data = memoryview(value).cast("B") if value.size else b""  # an empty one (a Resize's roi) has no view
        head += _field(_TENSOR_RAW_DATA, len(data))
        parts += [_field(_GRAPH_INITIALIZER, len(head) + len(data)), head, data]
    size = sum(len(p) for p in parts)
    return b"".join([model.SerializeToString(), _field(_MODEL_GRAPH, size), *parts]), feeds


# field numbers of onnx.proto (ModelProto.graph, GraphProto.initializer, TensorProto.raw_data), each
# length-delimited (wire type 2)
_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9


def _field(number: int, length: int) -> bytes:
    """The tag and length that open a length-delimited protobuf field of ``length`` bytes."""
    return _varint(number << 3 | 2) + _varint(length)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def build_identity_model(shape: tuple[int, ...], dtype: str = "float32") -> onnx.ModelProto:
    """A one-node model ``y = Identity(x)``: timing it measures the per-call cost of a session."""
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    x = helper.make_tensor_value_info("x", elem, list(shape))
    y = helper.make_tensor_value_info("y", elem, list(shape))
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="netadapt")
    model.ir_version = 8
    return model
