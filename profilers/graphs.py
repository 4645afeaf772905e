"""Tiny ONNX graphs, one per layer signature, built directly with onnx.helper.

Each graph is what the layer looks like after export of an inference model: convolution with batch-norm
folded into a bias and its activation as the following node, a residual addition of two inputs, pooling,
flattening. Weights come from a seeded generator, scaled by 1/sqrt(fan-in) so values stay far from
denormals (which would slow some CPUs down).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lut.signature import LayerSignature
from netadapt.errors import UserError

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; every onnxruntime since 1.13 loads it

_DTYPES = {"float32": (TensorProto.FLOAT, np.float32), "float16": (TensorProto.FLOAT16, np.float16)}
_SAME_CHANNELS = ("add", "maxpool", "avgpool", "global_avgpool", "flatten")


def _dtype(name: str) -> tuple[int, type]:
    if name not in _DTYPES:
        raise UserError(f"unsupported dtype {name!r} for layer graphs; valid: {', '.join(_DTYPES)}")
    return _DTYPES[name]


def _activation(kind: str, src: str, dst: str, np_type) -> tuple[list, list]:
    """Nodes and initializers that apply ``kind`` from ``src`` to ``dst``."""
    if kind == "relu":
        return [helper.make_node("Relu", [src], [dst])], []
    if kind == "relu6":
        lo = numpy_helper.from_array(np.array(0.0, dtype=np_type), "clip_min")
        hi = numpy_helper.from_array(np.array(6.0, dtype=np_type), "clip_max")
        return [helper.make_node("Clip", [src, "clip_min", "clip_max"], [dst])], [lo, hi]
    if kind == "hardswish":
        return [helper.make_node("HardSwish", [src], [dst])], []
    if kind == "sigmoid":
        return [helper.make_node("Sigmoid", [src], [dst])], []
    raise ValueError(f"no activation node for {kind!r}")


def _weights(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, np_type) -> np.ndarray:
    return (rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))).astype(np_type)


def _model(nodes, inputs, outputs, inits, name: str) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="netadapt")
    model.ir_version = IR_VERSION
    return model


def build_layer_model(sig: LayerSignature, seed: int = 0) -> onnx.ModelProto:
    """An ONNX model computing one layer; inputs ``x`` (and ``x2`` for ``add``), output ``y``.

    Raises:
        UserError: the signature cannot be built (unsupported dtype, channel count changed by an op
            that keeps channels).
    """
    elem, np_type = _dtype(sig.dtype)
    if sig.op in _SAME_CHANNELS and sig.cout != sig.cin:
        raise UserError(f"{sig.op} keeps channels but the signature has cin={sig.cin}, cout={sig.cout}")
    rng = np.random.default_rng(seed)
    x = helper.make_tensor_value_info("x", elem, list(sig.input_shape))
    inputs, inits, nodes = [x], [], []
    raw = "y" if sig.activation == "none" else "pre_act"
    k, s, p = sig.kernel, sig.stride, sig.padding
    if sig.op == "conv":
        fan_in = sig.cin // sig.groups * k * k
        inits.append(numpy_helper.from_array(
            _weights(rng, (sig.cout, sig.cin // sig.groups, k, k), fan_in, np_type), "weight"))
        inits.append(numpy_helper.from_array(_weights(rng, (sig.cout,), 1, np_type) * 0.1, "bias"))
        nodes.append(helper.make_node("Conv", ["x", "weight", "bias"], [raw], kernel_shape=[k, k],
                                      strides=[s, s], pads=[p, p, p, p], group=sig.groups))
    elif sig.op == "linear":
        inits.append(numpy_helper.from_array(_weights(rng, (sig.cout, sig.cin), sig.cin, np_type), "weight"))
        inits.append(numpy_helper.from_array(_weights(rng, (sig.cout,), 1, np_type) * 0.1, "bias"))
        nodes.append(helper.make_node("Gemm", ["x", "weight", "bias"], [raw], transB=1))
    elif sig.op == "add":
        inputs.append(helper.make_tensor_value_info("x2", elem, list(sig.input_shape)))
        nodes.append(helper.make_node("Add", ["x", "x2"], [raw]))
    elif sig.op == "maxpool":
        nodes.append(helper.make_node("MaxPool", ["x"], [raw], kernel_shape=[k, k], strides=[s, s],
                                      pads=[p, p, p, p]))
    elif sig.op == "avgpool":
        # count_include_pad=1 matches torch.nn.AvgPool2d's default as exported.
        nodes.append(helper.make_node("AveragePool", ["x"], [raw], kernel_shape=[k, k], strides=[s, s],
                                      pads=[p, p, p, p], count_include_pad=1))
    elif sig.op == "global_avgpool":
        nodes.append(helper.make_node("GlobalAveragePool", ["x"], [raw]))
    elif sig.op == "flatten":
        nodes.append(helper.make_node("Flatten", ["x"], [raw], axis=1))
    else:  # LayerSignature validates op, so this is a programming error
        raise ValueError(f"no graph builder for op {sig.op!r}")
    if sig.activation != "none":
        act_nodes, act_inits = _activation(sig.activation, raw, "y", np_type)
        nodes += act_nodes
        inits += act_inits
    y = helper.make_tensor_value_info("y", elem, list(sig.output_shape))
    return _model(nodes, inputs, [y], inits, f"layer_{sig.op}")


def input_feeds(sig: LayerSignature, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for ``build_layer_model(sig)``, keyed by input name."""
    _, np_type = _dtype(sig.dtype)
    rng = np.random.default_rng(seed + 1)
    feeds = {"x": rng.standard_normal(sig.input_shape).astype(np_type)}
    if sig.op == "add":
        feeds["x2"] = rng.standard_normal(sig.input_shape).astype(np_type)
    return feeds


def build_identity_model(shape: tuple[int, ...], dtype: str = "float32") -> onnx.ModelProto:
    """A one-node model ``y = Identity(x)``: timing it measures the per-call cost of a session."""
    elem, _ = _dtype(dtype)
    x = helper.make_tensor_value_info("x", elem, list(shape))
    y = helper.make_tensor_value_info("y", elem, list(shape))
    return _model([helper.make_node("Identity", ["x"], ["y"])], [x], [y], [], "identity")
