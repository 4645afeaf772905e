"""An ONNX export as its structure and the integers a channel count may decide (``synthesis``'s raw material).

Two exports of one network that differ only in one group's count differ only in integers: tensor dimensions,
attributes such as a depthwise convolution's ``group``, and small integer constants (reshape targets).
``fields`` splits a ``normalised`` export into its structure (everything else, as bytes) and those integers
("slots", in a fixed order); ``write`` puts other integers into a graph; ``affine`` is the line a slot follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from devices import zero_weights
from profilers.units import FLOAT_TENSOR_TYPES

#: Integer tensors up to this many values are read as numbers a count may decide; larger ones must
#: stay equal between exports (they are compared as part of the structure).
MAX_INTEGER_VALUES = 64


@dataclass
class Fields:
    """An export split into its structure (everything but the integers a count may decide) and those
    integers, in a fixed order."""

    structure: bytes
    slots: list[tuple[int, ...]]


def tensor_slots(tensor: onnx.TensorProto, slots: list) -> None:
    """Move a tensor's dimensions (and a small integer tensor's values) into ``slots`` and clear them
    with its data; any other tensor (large integer, boolean, string) stays in the structure, whole."""
    slots.append(tuple(tensor.dims))
    if tensor.data_type in INTEGER_TYPES:
        array = numpy_helper.to_array(tensor)
        if array.size > MAX_INTEGER_VALUES:
            return
        slots.append(tuple(int(v) for v in array.reshape(-1)))
    elif tensor.data_type not in FLOAT_TYPES:
        return
    del tensor.dims[:]
    for name in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data",
                 "raw_data", "data_location", "external_data"):  # a zero reference reads as the same tensor
        tensor.ClearField(name)


def normalised(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of an export in a form two exports of one network can be compared in: shape annotations
    dropped, initializers shared through ``Identity`` nodes given back as copies, initializers sorted.

    The exporter merges initializers with equal values into one, read by the others through ``Identity``
    nodes; which ones are equal depends on the weights and their shapes, so which names survive differs
    between two cuts of a network that are otherwise the same.
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    graph = m.graph
    strip_shapes(graph)
    inits = {i.name: i for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    kept = []
    copies = []
    for node in graph.node:
        if (node.op_type == "Identity" and not node.domain and len(node.input) == 1 and node.input[0] in inits
                and node.output[0] not in outputs):
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            copies.append(copy)
        else:
            kept.append(node)
    if copies:
        del graph.node[:]
        graph.node.extend(kept)
    every = sorted([*graph.initializer, *copies], key=lambda t: t.name)
    ordered = [onnx.TensorProto() for _ in every]
    for target, source in zip(ordered, every):
        target.CopyFrom(source)
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    return m


def fields(model: onnx.ModelProto) -> Fields:
    """The structure and integer slots of a ``normalised`` export."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    slots: list[tuple[int, ...]] = []
    for init in m.graph.initializer:
        tensor_slots(init, slots)
    for node in m.graph.node:
        node.name = ""  # the exporter's running count, which a cut can shift (VGG: "Constant_268" or "_267")
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.INT:
                slots.append((attr.i,))
                attr.i = 0
            elif attr.type == onnx.AttributeProto.INTS:
                slots.append(tuple(attr.ints))
                del attr.ints[:]
            elif attr.type == onnx.AttributeProto.TENSOR:
                tensor_slots(attr.t, slots)
    return Fields(m.SerializeToString(deterministic=True), slots)


def strip_shapes(graph: onnx.GraphProto) -> None:
    """Drop the shape annotations of intermediate values and outputs (the device infers them again)."""
    graph.ClearField("value_info")
    for out in graph.output:
        if out.type.HasField("tensor_type") and out.type.tensor_type.HasField("shape"):
            for i, dim in enumerate(out.type.tensor_type.shape.dim):
                dim.dim_param = f"{out.name}_{i}"  # unknown, rank kept


def affine(v0: tuple, v1: tuple, s0: int, s1: int, count: int) -> tuple | None:
    """Each value of a slot on the line through (s0, v0) and (s1, v1), at ``count``; None when one is
    not a whole number (or the slot changed length)."""
    if v0 == v1:
        return v0
    if len(v0) != len(v1):
        return None
    out = []
    for a, b in zip(v0, v1):
        num = (b - a) * (count - s0)
        if num % (s1 - s0):
            return None
        out.append(a + num // (s1 - s0))
    return tuple(out)


def write(base: onnx.ModelProto, base_slots: list, slots: list) -> onnx.ModelProto:
    """``base`` (whose integers are ``base_slots``) with ``slots`` written in: changed float tensors
    zero-filled; large stored ones, and the base's own, are zero references (``devices.zero_weights``)."""
    m = onnx.ModelProto()
    m.CopyFrom(base)
    it = iter(zip(base_slots, slots))

    def tensor(t: onnx.TensorProto, stored: bool = False) -> None:
        old_dims, new_dims = next(it)
        array = None
        if t.data_type in INTEGER_TYPES:
            n = int(np.prod(old_dims)) if old_dims else 1
            if n <= MAX_INTEGER_VALUES:
                old_vals, new_vals = next(it)
                if old_vals == new_vals and old_dims == new_dims:
                    return
                array = np.asarray(new_vals, dtype=onnx.helper.tensor_dtype_to_np_dtype(t.data_type))
                array = array.reshape(new_dims)
            elif old_dims == new_dims:
                return
            else:
                raise ValueError("a large integer tensor changed shape")  # fields() refuses this case
        elif old_dims == new_dims:
            return
        elif stored and zero_weights.referable(t, new_dims):  # a large float initializer
            zero_weights.zero_tensor(t, new_dims)
            return
        else:  # a float tensor (any other kind keeps its dimensions in the structure)
            dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
            array = np.zeros(new_dims, dtype=dtype)
        replacement = numpy_helper.from_array(array, t.name)
        t.CopyFrom(replacement)

    for init in m.graph.initializer:
        tensor(init, stored=True)
    for node in m.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.INT:
                _, (value,) = next(it)
                attr.i = value
            elif attr.type == onnx.AttributeProto.INTS:
                _, values = next(it)
                del attr.ints[:]
                attr.ints.extend(values)
            elif attr.type == onnx.AttributeProto.TENSOR:
                tensor(attr.t)
    return m

def load(exported) -> onnx.ModelProto:
    if isinstance(exported, (bytes, bytearray)):
        return onnx.load_model_from_string(bytes(exported))
    return exported


FLOAT_TYPES = set(FLOAT_TENSOR_TYPES)
INTEGER_TYPES = {onnx.TensorProto.INT8, onnx.TensorProto.INT16, onnx.TensorProto.INT32, onnx.TensorProto.INT64,
                  onnx.TensorProto.UINT8, onnx.TensorProto.UINT16, onnx.TensorProto.UINT32,
                  onnx.TensorProto.UINT64}
