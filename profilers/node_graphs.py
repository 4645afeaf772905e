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


def _array(spec: TensorSpec, rng: np.random.Generator) -> np.ndarray:
    dtype = np.dtype(spec.dtype)
    if spec.role == "value":
        return np.asarray(spec.values, dtype=dtype).reshape(spec.shape)
    if spec.role == "zeros" or dtype.kind not in "fc":
        return np.zeros(spec.shape, dtype=dtype)
    # small values in (-0.1, 0.1), far from denormals (which slow some CPUs down) and from overflow; drawn
    # in single precision, several times faster than normal draws for the largest weights
    values = rng.random(spec.shape, dtype=np.float32) - np.float32(0.5)
    return (values * np.float32(0.2)).astype(dtype, copy=False)


def build_node_model(key: NodeKey, seed: int = 0) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The model and its feeds (input name -> array)."""
    rng = np.random.default_rng(seed)
    inputs, inits, feeds, names = [], [], {}, []
    for i, spec in enumerate(key.inputs):
        if spec is None:
            names.append("")
            continue
        name = f"in{i}"
        names.append(name)
        value = _array(spec, rng)
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
