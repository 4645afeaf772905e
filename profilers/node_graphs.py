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


def build_node_model(key: NodeKey, seed: int = 0) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The model and its feeds (input name -> array)."""
    inputs, inits, feeds, names = [], [], {}, []
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
        else:
            inits.append(numpy_helper.from_array(value, name))
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
    return model, feeds


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
