"""ONNX graphs of a network cut in one group, synthesised from two real exports instead of exported.

Exporting a candidate network (``torch.onnx.export``) is most of what a latency search costs: the
search looks at several channel counts of every group, and each count is a whole export. Yet two
exports of the same network that differ only in one group's count differ only in integers: tensor
dimensions, attributes such as a depthwise convolution's ``group``, and small integer constants
(reshape targets). ``CandidateGraphs`` reads those integers from the exports it is shown and, once a
group's integers are seen to follow one affine rule of the count (through the current network's
export and a first cut) and a second cut confirms the rule exactly, writes further counts of that
group itself: the current network's graph with the integers the rule gives and zero-filled weights.

Weights' values do not matter here: the graph is only optimised for the device and inspected for the
nodes it runs (the nodes themselves are timed on random inputs). The confirmation also compares the
nodes the device runs for the confirming cut, synthesised and exported. A group whose exports differ
in anything else (another structure, a rule that is not affine) is always exported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from profilers.units import FLOAT_TENSOR_TYPES

#: Integer tensors up to this many values are read as numbers a count may decide; larger ones must
#: stay equal between exports (they are compared as part of the structure).
MAX_INTEGER_VALUES = 64


@dataclass
class _Fields:
    """An export split into its structure (everything but the integers a count may decide) and those
    integers, in a fixed order."""

    structure: bytes
    slots: list[tuple[int, ...]]


def _tensor_slots(tensor: onnx.TensorProto, slots: list) -> None:
    """Move a tensor's dimensions (and a small integer tensor's values) into ``slots`` and clear them
    with its data; any other tensor (large integer, boolean, string) stays in the structure, whole."""
    slots.append(tuple(tensor.dims))
    if tensor.data_type in _INTEGER_TYPES:
        array = numpy_helper.to_array(tensor)
        if array.size > MAX_INTEGER_VALUES:
            return
        slots.append(tuple(int(v) for v in array.reshape(-1)))
    elif tensor.data_type not in _FLOAT_TYPES:
        return
    del tensor.dims[:]
    for name in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
        tensor.ClearField(name)
    tensor.ClearField("raw_data")


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
    _strip_shapes(graph)
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


def fields(model: onnx.ModelProto) -> _Fields:
    """The structure and integer slots of a ``normalised`` export."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    slots: list[tuple[int, ...]] = []
    for init in m.graph.initializer:
        _tensor_slots(init, slots)
    for node in m.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.INT:
                slots.append((attr.i,))
                attr.i = 0
            elif attr.type == onnx.AttributeProto.INTS:
                slots.append(tuple(attr.ints))
                del attr.ints[:]
            elif attr.type == onnx.AttributeProto.TENSOR:
                _tensor_slots(attr.t, slots)
    return _Fields(m.SerializeToString(deterministic=True), slots)


def _strip_shapes(graph: onnx.GraphProto) -> None:
    """Drop the shape annotations of intermediate values and outputs (the device infers them again)."""
    graph.ClearField("value_info")
    for out in graph.output:
        if out.type.HasField("tensor_type") and out.type.tensor_type.HasField("shape"):
            for i, dim in enumerate(out.type.tensor_type.shape.dim):
                dim.dim_param = f"{out.name}_{i}"  # unknown, rank kept


def _affine(v0: tuple, v1: tuple, s0: int, s1: int, count: int) -> tuple | None:
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


@dataclass
class _GroupRule:
    size: int  # the group's count in the current network
    count: int  # the first cut's count
    slots: list  # its integers
    period: int = 0  # counts written: those congruent to ``size`` modulo this (gcd of the gaps seen)
    confirmed: bool = False
    refused: bool = False


@dataclass
class CandidateGraphs:
    """Synthesises exports of ``base`` (an exported ONNX model of the current network, whose groups have
    ``sizes``) cut in one group, once two real exports of that group agree on an affine rule.

    Use: ``observe(group, count, exported)`` with each real export of a one-group cut; ``can(group)``
    says whether ``synthesise(group, count)`` may be used instead of exporting; ``confirm(group, ok)``
    records whether the device ran the same nodes for the confirming cut written and exported.
    """

    base: onnx.ModelProto
    sizes: dict[str, int]
    synthesised: int = 0
    _base: _Fields = field(init=False, repr=False)
    _rules: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.base = normalised(self.base)
        self._base = fields(self.base)

    def can(self, group: str) -> bool:
        rule = self._rules.get(group)
        return rule is not None and rule.confirmed and not rule.refused

    def observe(self, group: str, count: int, exported: bytes | onnx.ModelProto) -> onnx.ModelProto | None:
        """Learn from a real export (serialized or not) of ``group`` cut to ``count``. Returns the
        synthesised graph of the same cut when this export is the one that confirms the rule (its device
        nodes are to be compared with the export's, then ``confirm``); None otherwise."""
        rule = self._rules.get(group)
        if rule is not None and (rule.confirmed or rule.refused):
            return None
        s0 = self.sizes[group]
        if count == s0:
            return None
        if isinstance(exported, (bytes, bytearray)):
            exported = onnx.load_model_from_string(bytes(exported))
        seen = fields(normalised(exported))
        if seen.structure != self._base.structure or len(seen.slots) != len(self._base.slots):
            self._rules[group] = _GroupRule(s0, count, [], refused=True)
            return None
        if rule is None:
            self._rules[group] = _GroupRule(s0, count, seen.slots)
            return None
        if count == rule.count:
            return None
        predicted = self._slots(rule, count)
        if predicted != seen.slots:
            rule.refused = True
            return None
        rule.period = math.gcd(rule.size - rule.count, rule.count - count)
        return self._write(predicted)

    def confirm(self, group: str, same_nodes: bool) -> None:
        """Whether the confirming cut's device nodes, synthesised and exported, were the same."""
        rule = self._rules[group]
        rule.confirmed, rule.refused = same_nodes, not same_nodes

    def synthesise(self, group: str, count: int) -> onnx.ModelProto | None:
        """The graph of the current network with ``group`` cut to ``count``; None (the caller exports
        instead) when the count is off the lattice the exports were seen on (counts that differ from the
        current one by a multiple of the gaps between them: a rounding with that period is what the
        confirmation can see) or the rule gives a fraction there."""
        if not self.can(group):
            raise ValueError(f"group {group!r} has no confirmed rule")
        rule = self._rules[group]
        if (count - rule.size) % rule.period:
            return None
        slots = self._slots(rule, count)
        if slots is None:
            return None
        self.synthesised += 1
        return self._write(slots)

    def _slots(self, rule: _GroupRule, count: int) -> list | None:
        out = []
        for v0, v1 in zip(self._base.slots, rule.slots):
            v = _affine(v0, v1, rule.size, rule.count, count)
            if v is None or any(x < 0 for x in v):
                return None
            out.append(v)
        return out

    def _write(self, slots: list) -> onnx.ModelProto:
        """The base graph with ``slots`` written in (changed float tensors zero-filled)."""
        m = onnx.ModelProto()
        m.CopyFrom(self.base)
        it = iter(zip(self._base.slots, slots))

        def tensor(t: onnx.TensorProto) -> None:
            old_dims, new_dims = next(it)
            array = None
            if t.data_type in _INTEGER_TYPES:
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
            else:  # a float tensor (any other kind keeps its dimensions in the structure)
                dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
                array = np.zeros(new_dims, dtype=dtype)
            replacement = numpy_helper.from_array(array, t.name)
            t.CopyFrom(replacement)

        for init in m.graph.initializer:
            tensor(init)
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


_FLOAT_TYPES = set(FLOAT_TENSOR_TYPES)
_INTEGER_TYPES = {onnx.TensorProto.INT8, onnx.TensorProto.INT16, onnx.TensorProto.INT32, onnx.TensorProto.INT64,
                  onnx.TensorProto.UINT8, onnx.TensorProto.UINT16, onnx.TensorProto.UINT32,
                  onnx.TensorProto.UINT64}
