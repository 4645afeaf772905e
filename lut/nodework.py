"""What one node computes and moves per inference, derived from its key: the quantities cost models weigh
(the fake profiler's per-MAC latency, the calibration's weight and activation traffic)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lut.nodekey import NodeKey

__all__ = ["NodeWork"]


@dataclass(frozen=True)
class NodeWork:
    """The work of one node.

    Attributes:
        macs: multiply-accumulates of a convolution or matrix product; elements touched otherwise.
        weight_count: elements of the stored float tensors the node reads per inference.
        io_elements: elements of the activations the node reads and writes.
    """

    macs: int
    weight_count: int
    io_elements: int

    @classmethod
    def of(cls, key: NodeKey) -> NodeWork:
        inputs = [t for t in key.inputs if t is not None]
        data = [t.elements for t in inputs if t.role == "data"]
        out = key.outputs[0].elements if key.outputs else 0
        w = key.weight
        if w is not None and key.is_conv:
            macs = out * math.prod(w.shape[1:])
        elif w is not None:
            macs = out * (key.channels[0] if key.channels else 1)
        elif key.op_type in ("MatMul", "FusedMatMul") and len(key.inputs) > 1 and key.inputs[0] is not None:
            macs = out * (key.inputs[0].shape[-1] if key.inputs[0].shape else 1)
        else:
            macs = max([out] + data)
        return cls(macs=macs, weight_count=sum(t.elements for t in inputs if t.role == "weight"),
                   io_elements=sum(data) + sum(t.elements for t in key.outputs))
