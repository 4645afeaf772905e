"""The timed units of a model: the nodes of the graph its device really runs, each with its key.

A model is handed to the device's own optimiser (``Device.optimize``), which returns the graph ONNX
Runtime would run. That graph is loaded as it is, with every intermediate tensor exposed as an output. ONNX
Runtime infers every output's shape as it loads the graph, contrib operators (``FusedConv``,
``com.microsoft.nchwc``) included, which ONNX's own shape inference does not know: where every output is a
float tensor of fully known shape, the keys are read from those shapes and nothing is run. Otherwise (an
integer tensor computed in the graph, whose values decide what a node does, or a shape left open) the graph
is run once and shapes and values are read from the run itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from devices import zero_weights
from lut.errors import UserError
from lut.nodekey import CONTROL_FLOAT_INPUTS, MAX_STORED_VALUES, NodeKey, TensorSpec
from profilers.sessions import input_feeds


@dataclass(frozen=True)
class Unit:
    """One node of the optimised graph: its name there and its key."""

    name: str
    key: NodeKey


def _spec(array: np.ndarray, role: str) -> TensorSpec:
    """``role`` is ``data`` (computed), ``weight`` (stored) or ``value`` (stored, steering the output)."""
    shape, dtype = tuple(int(d) for d in array.shape), str(array.dtype)
    if array.dtype.kind in "fc" and role != "value":
        return TensorSpec(shape, dtype, role)  # floats are keyed by shape
    if array.size <= MAX_STORED_VALUES:  # integers (shapes, axes, indices) decide what is computed
        return TensorSpec(shape, dtype, "value", tuple(array.reshape(-1).tolist()))
    return TensorSpec(shape, dtype, "zeros")


def _stored_spec(tensor: onnx.TensorProto, role: str) -> TensorSpec:
    """``_spec`` of an initializer, reading a float weight's shape without copying its values out (a
    tensor whose data was left out of the graph, ``_external``, is large: keyed by its shape alone)."""
    dtype = FLOAT_TENSOR_TYPES.get(tensor.data_type)
    shape = tuple(int(d) for d in tensor.dims)
    if dtype is not None and role != "value":
        return TensorSpec(shape, dtype, role)
    if _external(tensor):
        size = int(np.prod(shape)) if shape else 1
        if size <= MAX_STORED_VALUES:  # never: such tensors stay in the graph (WEIGHTLESS_MIN_BYTES)
            raise RuntimeError(f"stored tensor {tensor.name!r} was left out of the optimised graph")
        return TensorSpec(shape, str(helper.tensor_dtype_to_np_dtype(tensor.data_type)), "zeros")
    return _spec(numpy_helper.to_array(tensor), role)


#: ONNX float element types, by the NumPy name a key records them under.
FLOAT_TENSOR_TYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16",
                      onnx.TensorProto.DOUBLE: "float64"}


def _attribute(attr):
    value = helper.get_attribute_value(attr)
    if attr.type == onnx.AttributeProto.TENSOR:
        return numpy_helper.to_array(value).reshape(-1).tolist()
    if attr.type == onnx.AttributeProto.TENSORS:
        return [numpy_helper.to_array(v).reshape(-1).tolist() for v in value]
    return value


#: ONNX Runtime's element type names of float tensors -> NumPy dtype names.
ORT_FLOAT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64"}


def declared_outputs(session) -> dict[str, np.ndarray] | None:
    """Every output of ``session`` as ONNX Runtime declares it after loading the graph, each a zero-stride
    array of its shape and type (no memory), or None when one is not a float tensor of fully known shape:
    then only a run says what it holds."""
    declared = {}
    for out in session.get_outputs():
        dtype, shape = ORT_FLOAT_TYPES.get(out.type), out.shape
        if dtype is None or shape is None or not all(isinstance(d, int) and d >= 0 for d in shape):
            return None
        declared[out.name] = np.broadcast_to(np.zeros((), dtype=dtype), tuple(shape))
    return declared


def _expose_all(model: onnx.ModelProto) -> onnx.ModelProto:
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    present = {o.name for o in exposed.graph.output}
    for node in exposed.graph.node:
        for name in node.output:
            if name and name not in present:
                exposed.graph.output.append(onnx.ValueInfoProto(name=name))
                present.add(name)
    return exposed


def load_model_bytes(model) -> bytes:
    """Serialized ONNX from a ModelProto, bytes or a file path.

    Raises:
        UserError: the file is missing or is not an ONNX model.
    """
    if isinstance(model, onnx.ModelProto):
        return model.SerializeToString()
    if isinstance(model, (bytes, bytearray)):
        data, label = bytes(model), "<bytes>"
    else:
        label = os.fspath(model)
        if not os.path.isfile(label):
            raise UserError(f"ONNX model file not found: {label}")
        with open(label, "rb") as fh:
            data = fh.read()
    try:
        onnx.load_model_from_string(data)
    except DecodeError as exc:
        raise UserError(f"not an ONNX model: {label}") from exc
    return data


def model_units(model: bytes | onnx.ModelProto, device, input_shape: tuple[int, ...],
                run: bool = False, weightless: bool = True) -> list[Unit]:
    """The units of an exported model on ``device`` at ``input_shape``, in graph order (``run``: see
    ``graph_units``).

    With ``weightless``, the device optimises the model without reading its weights back where it can
    (``Device.optimize``) and the declared shapes of that graph give the keys; a graph whose shapes only a
    run tells is optimised again, with its weights, and run.

    Raises:
        UserError: the model has more than one input, or an input shape that does not fit it.
    """
    if not getattr(device, "fills_zero_weights", False):  # zeros written out for a device that reads them
        parsed = model if isinstance(model, onnx.ModelProto) else onnx.load_model_from_string(bytes(model))
        model = zero_weights.filled(parsed)
    if isinstance(model, onnx.ModelProto):
        model = model.SerializeToString()
    if weightless and not run and _takes_weights(device):
        optimized = device.optimize(bytes(model), weights=False)
        if not any(_external(t) for t in optimized.graph.initializer):
            return graph_units(optimized, device, input_shape)
        units = _declared_units(optimized, device, input_shape)
        if units is not None:
            return units
    optimized = device.optimize(bytes(model))
    return graph_units(optimized, device, input_shape, run=run)


def _takes_weights(device) -> bool:
    """Whether ``device.optimize`` takes ``weights`` (a device written before it was added may not)."""
    import inspect

    return "weights" in inspect.signature(device.optimize).parameters


def _external(tensor: onnx.TensorProto) -> bool:
    return tensor.data_location == onnx.TensorProto.EXTERNAL


class _DataInputs:
    """A session's inputs without the stored tensors given to it as inputs (for ``input_feeds``)."""

    def __init__(self, session, stored: set[str]):
        self._inputs = [i for i in session.get_inputs() if i.name not in stored]

    def get_inputs(self):
        return self._inputs


def _declared_units(optimized: onnx.ModelProto, device, input_shape: tuple[int, ...]) -> list[Unit] | None:
    """The units of an optimised graph whose large stored tensors were left out (``weights=False``), from
    the shapes ONNX Runtime declares when it loads the graph with those tensors as inputs of their shape;
    None when a shape is left open (only a run would tell)."""
    declared = declared_values(optimized, device)
    if declared is None:
        return None
    values, data_inputs = declared
    values.update(input_feeds(data_inputs, input_shape))
    return _units(optimized, values)


def declared_values(optimized: onnx.ModelProto, device) -> tuple[dict, _DataInputs] | None:
    """Every tensor an optimised graph computes, as ONNX Runtime declares it when it loads the graph with
    the large stored tensors left out (``weights=False``) given as inputs of their shape (zero-stride
    arrays), and the graph's own inputs; None when a shape is left open (only a run would tell)."""
    inspected = onnx.ModelProto()
    inspected.CopyFrom(optimized)
    graph = inspected.graph
    stored = [t for t in graph.initializer if _external(t)]
    kept = [t for t in graph.initializer if not _external(t)]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in stored)
    try:
        session = device.inspection_session(_expose_all(inspected).SerializeToString())
    except Exception:  # noqa: BLE001 - a kernel that wants a stored tensor: the graph with weights will do
        return None
    values = declared_outputs(session)
    if values is None:
        return None
    return values, _DataInputs(session, {t.name for t in stored})


def graph_units(optimized: onnx.ModelProto, device, input_shape: tuple[int, ...], run: bool = False) -> list[Unit]:
    """The units of a graph already optimised for ``device`` (see ``model_units``).

    Args:
        run: run the graph to read its tensors even where the shapes ONNX Runtime declares would do (what
            every graph took before; the benchmark compares the two).
    """
    session = device.inspection_session(_expose_all(optimized).SerializeToString())
    feeds = input_feeds(session, input_shape)
    values = None if run else declared_outputs(session)
    if values is None:
        values = dict(zip((o.name for o in session.get_outputs()), session.run(None, feeds)))
    values.update(feeds)
    return _units(optimized, values)


def _units(optimized: onnx.ModelProto, values: dict) -> list[Unit]:
    """The keys of an optimised graph's nodes, from every computed tensor's array (or zero-stride stand-in)."""
    inits = {i.name: i for i in optimized.graph.initializer}
    opsets = {o.domain: o.version for o in optimized.opset_import}
    opsets.setdefault("ai.onnx", opsets.get("", 17))
    units = []
    for index, node in enumerate(optimized.graph.node):
        inputs = []
        for position, name in enumerate(node.input):
            if not name:
                inputs.append(None)
            elif name in inits:
                control = position in CONTROL_FLOAT_INPUTS.get(node.op_type, ())
                inputs.append(_stored_spec(inits[name], "value" if control else "weight"))
            elif name in values:
                inputs.append(_spec(np.asarray(values[name]), "data"))
            else:
                raise RuntimeError(f"tensor {name!r} of node {node.name or node.op_type} was not produced "
                                   "by the inspection run")
        outputs = [TensorSpec(tuple(np.asarray(values[n]).shape), str(np.asarray(values[n]).dtype))
                   for n in node.output if n]
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise UserError(f"node {node.name or node.op_type} holds a subgraph (control flow); netadapt "
                            "times models without If/Loop/Scan")
        attrs = {a.name: _attribute(a) for a in node.attribute}
        key = NodeKey.make(node.domain, node.op_type, opsets.get(node.domain or "", 1), attrs, inputs, outputs)
        units.append(Unit(node.name or f"{node.op_type}_{index}", key))
    return units
