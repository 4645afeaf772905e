"""The key of one node as a device really runs it: what the lookup table is keyed by.

ONNX Runtime rewrites an exported model for its execution provider before it runs it: batch-norm is
folded into the convolution, activations and residual additions are fused into it (``FusedConv``, or
the blocked ``com.microsoft.nchwc`` kernels on CPUs with AVX2/AVX-512, with reorder nodes at the
edges). Each node of that optimised graph is one timed unit. Its key is everything that decides its
latency: domain, operator, attributes, the domain's opset, and the shape and element type of every
input and output. Integer inputs (shapes, axes, indices) are part of the key with their values, since
they decide what the node computes; float inputs are kept by shape only (their values do not change the
time a kernel takes), except for the few operators whose float inputs steer the output's shape.
Two nodes with equal keys share one measurement on a device, whatever model they came from.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property

# Float inputs (by position) whose values decide the output's shape, so they belong in the key.
CONTROL_FLOAT_INPUTS = {"Resize": (1, 2), "Upsample": (1,)}
# Integer inputs up to this many elements are stored by value; larger ones are timed as zeros.
MAX_STORED_VALUES = 4096
# Operators that carry weights: their first input is the activation, the second the weight.
_WEIGHTED = {"Conv", "FusedConv", "ConvTranspose", "Gemm", "FusedGemm", "MatMul", "FusedMatMul",
             "QLinearConv", "MatMulInteger", "ConvInteger"}
_CONV = {"Conv", "FusedConv", "QLinearConv", "ConvInteger"}
_BYTES = {"float32": 4, "float16": 2, "float64": 8, "bfloat16": 2, "int64": 8, "int32": 4, "int8": 1,
          "uint8": 1, "bool": 1}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a node.

    Attributes:
        shape: its dimensions.
        dtype: numpy name of its element type (``float32``, ``int64``, ...).
        role: ``data`` (a computed activation), ``weight`` (a stored float tensor, timed with random
            values), ``value`` (stored with ``values``) or ``zeros`` (a large integer tensor timed as zeros).
        values: the flattened values of a ``value`` tensor.
    """

    shape: tuple[int, ...]
    dtype: str
    role: str = "data"
    values: tuple | None = None

    def to_json(self) -> dict:
        d = {"shape": list(self.shape), "dtype": self.dtype, "role": self.role}
        if self.values is not None:
            d["values"] = list(self.values)
        return d

    @classmethod
    def from_json(cls, d: dict | None) -> "TensorSpec | None":
        if d is None:
            return None
        values = d.get("values")
        return cls(tuple(int(s) for s in d["shape"]), str(d["dtype"]), str(d.get("role", "data")),
                   None if values is None else tuple(values))

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.elements * _BYTES.get(self.dtype, 4)


def _clean(value):
    """Attribute values as plain JSON: bytes decoded, floats rounded so equal graphs give equal keys."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class NodeKey:
    """One node of an optimised graph, without its names.

    Attributes:
        domain: the operator's domain (``""`` for standard ONNX).
        op_type: the operator.
        opset: the domain's opset version the node was made for.
        attrs: its attributes as sorted ``(name, value)`` pairs of plain JSON values.
        inputs: one ``TensorSpec`` per input (None for an omitted optional input).
        outputs: one ``TensorSpec`` per output.
    """

    domain: str
    op_type: str
    opset: int
    attrs: tuple[tuple[str, object], ...]
    inputs: tuple[TensorSpec | None, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def make(cls, domain: str, op_type: str, opset: int, attrs: dict, inputs, outputs) -> "NodeKey":
        frozen = tuple(sorted((k, _freeze(_clean(v))) for k, v in attrs.items()))
        return cls(domain, op_type, int(opset), frozen, tuple(inputs), tuple(outputs))

    # -- identity ---------------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {"domain": self.domain, "op_type": self.op_type, "opset": self.opset,
                "attrs": {k: _thaw(v) for k, v in self.attrs},
                "inputs": [None if t is None else t.to_json() for t in self.inputs],
                "outputs": [t.to_json() for t in self.outputs]}

    @classmethod
    def from_json(cls, d: dict | str) -> "NodeKey":
        if isinstance(d, str):
            d = json.loads(d)
        return cls.make(d["domain"], d["op_type"], d["opset"], d.get("attrs", {}),
                        [TensorSpec.from_json(t) for t in d["inputs"]],
                        [TensorSpec.from_json(t) for t in d["outputs"]])

    @cached_property
    def text(self) -> str:
        """Canonical JSON: the stored form."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @cached_property
    def key_id(self) -> str:
        """A short stable hash of the key: the table's unique column."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:32]

    @property
    def op(self) -> str:
        """``op_type`` qualified by its domain's last part when not standard, e.g. ``nchwc.Conv``."""
        return self.op_type if not self.domain else f"{self.domain.rsplit('.', 1)[-1]}.{self.op_type}"

    # -- what the node is -------------------------------------------------------------------------

    def attr(self, name: str, default=None):
        for k, v in self.attrs:
            if k == name:
                return _thaw(v)
        return default

    @property
    def data(self) -> TensorSpec | None:
        """The first input (the activation, for every operator netadapt prunes around)."""
        return self.inputs[0] if self.inputs else None

    @property
    def weight(self) -> TensorSpec | None:
        """The weight of a convolution or matrix product, when it is stored in the model."""
        if self.op_type in _WEIGHTED and len(self.inputs) > 1 and self.inputs[1] is not None \
                and self.inputs[1].role == "weight":
            return self.inputs[1]
        return None

    @property
    def is_conv(self) -> bool:
        return self.op_type in _CONV and self.weight is not None and len(self.weight.shape) >= 3

    @property
    def groups(self) -> int:
        return int(self.attr("group", 1) or 1)

    @property
    def channels(self) -> tuple[int, int] | None:
        """(input channels, output channels) of a convolution or matrix product with stored weights."""
        w = self.weight
        if w is None or len(w.shape) < 2:
            return None
        if self.is_conv:
            return w.shape[1] * self.groups, w.shape[0]
        if self.op_type in ("Gemm", "FusedGemm") and self.attr("transB", 0):
            return w.shape[1], w.shape[0]
        return w.shape[-2], w.shape[-1]

    @property
    def kind(self) -> str:
        """``depthwise`` (grouped convolutions), ``dense`` (other convolutions and matrix products with
        weights) or ``other``: the split the device's calibration is fitted on."""
        if self.channels is None:
            return "other"
        return "depthwise" if self.is_conv and self.groups > 1 else "dense"

    @property
    def dtype(self) -> str:
        return self.outputs[0].dtype if self.outputs else "float32"

    def short(self) -> str:
        """A compact human-readable form, e.g. ``nchwc.Conv 3x3/s1 g1 32->64 @32x32 b32 +Relu``."""
        if self.is_conv:
            cin, cout = self.channels
            k = self.weight.shape[2:]
            s = self.attr("strides", [1] * len(k))
            act = self.attr("activation")
            extra = (f" +{act}" if act else "") + (" +sum" if len(self.inputs) > 3 and self.inputs[3] else "")
            d = self.data.shape
            hw = "x".join(map(str, d[2:4])) if d else "?"
            return (f"{self.op} {'x'.join(map(str, k))}/s{s[0] if s else 1} g{self.groups} {cin}->{cout} "
                    f"@{hw} b{d[0] if d else '?'}{extra}")
        shapes = " ".join("x".join(map(str, t.shape)) or "scalar" for t in self.inputs
                          if t is not None and t.role == "data")
        ch = self.channels
        mid = f" {ch[0]}->{ch[1]}" if ch else ""
        return f"{self.op}{mid} {shapes}".rstrip()


def _freeze(v):
    return tuple(_freeze(x) for x in v) if isinstance(v, list) else v


def _thaw(v):
    return [_thaw(x) for x in v] if isinstance(v, tuple) else v
