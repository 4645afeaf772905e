"""The units of several networks from one optimisation: their graphs side by side in one model.

Optimising a network for the device costs a session, most of it the same for every network of a search
(loading the weights, the optimiser's fixed work). Networks cut from one model share most weights: put
side by side in one graph, each reading the weights it shares with the others from one stored tensor and
its own data from its own input, they are optimised in one session and inspected in one more. Each node
of the optimised graph belongs to the network whose input it reads (through the nodes before it); a node
that reads no network's input, or several, leaves the batch to be optimised one network at a time.

ONNX Runtime rewrites each node from its neighbours, so a network beside others is optimised as it is
alone; ``CandidateEstimates`` still checks one network of its first batch against its own optimisation.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from profilers.inputs import single_shape
from profilers.units import ORT_FLOAT_TYPES, Unit, _takes_weights, _units, declared_values


def merged(parts: list[onnx.ModelProto]) -> onnx.ModelProto:
    """One model holding every part, each name prefixed ``{index}/`` but those of stored tensors: each
    distinct stored tensor is held once, read by every part holding one alike (the first under its own name,
    a tensor of the same name that differs under ``{name}#{n}``). The parts are of one opset (cut from one
    model).

    Raises:
        ValueError: a part holds a subgraph, or parts differ in their opsets.
    """
    first = parts[0]
    graph = onnx.GraphProto(name="batch")
    variants: dict[str, dict[bytes, str]] = {}  # a stored tensor's name -> each distinct tensor -> its name here
    for index, part in enumerate(parts):
        if list(part.opset_import) != list(first.opset_import):
            raise ValueError("the networks of a batch differ in their opsets")
        g = part.graph
        names = {}
        for tensor in g.initializer:
            seen = variants.setdefault(tensor.name, {})
            data = tensor.SerializeToString()
            if data not in seen:
                seen[data] = tensor.name if not seen else f"{tensor.name}#{len(seen)}"
                copy = graph.initializer.add()
                copy.CopyFrom(tensor)
                copy.name = seen[data]
            names[tensor.name] = seen[data]

        def name(n: str, prefix: str = f"{index}/") -> str:
            return names.get(n) or (n and prefix + n)

        for node in g.node:
            if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
                raise ValueError("a network of the batch holds a subgraph")
            copy = graph.node.add()
            copy.CopyFrom(node)
            copy.name = name(node.name)
            copy.input[:] = [name(n) for n in node.input]
            copy.output[:] = [name(n) for n in node.output]
        for source, target in ((g.input, graph.input), (g.output, graph.output), (g.value_info, graph.value_info)):
            for item in source:
                copy = target.add()
                copy.CopyFrom(item)
                copy.name = name(item.name)
    return helper.make_model(graph, opset_imports=list(first.opset_import), ir_version=first.ir_version)


def batched_units(parts: list[onnx.ModelProto], device, input_shape: tuple[int, ...]) -> list[list[Unit]] | None:
    """Each part's units on ``device`` (as ``profilers.units.model_units`` gives them, their node names
    without the batch's prefix), from one optimisation of the ``merged`` model; None when the batch cannot
    tell them (a node of no part or of several, a shape only a run would tell, a device whose optimiser
    does not leave weights out or take zero references): then each is to be optimised alone."""
    if not _takes_weights(device) or not getattr(device, "fills_zero_weights", False):
        return None
    if any(len(part.graph.input) != 1 for part in parts):
        return None
    owner = {f"{index}/{part.graph.input[0].name}": index for index, part in enumerate(parts)}
    optimized = device.optimize(merged(parts).SerializeToString(), weights=False)
    graph = optimized.graph
    stored = {t.name for t in graph.initializer}
    nodes: list[list[int]] = [[] for _ in parts]
    for position, node in enumerate(graph.node):
        owners = {owner[n] for n in node.input if n and n not in stored and n in owner}
        if len(owners) != 1 or any(n and n not in stored and n not in owner for n in node.input):
            return None  # reads no part's data, or several parts', or a tensor nothing made before it
        (index,) = owners
        for n in node.output:
            owner[n] = index
        nodes[index].append(position)
    values = _declared_values(optimized, device, input_shape)
    if values is None:
        return None
    units = _units(optimized, values)
    out = []
    for index, positions in enumerate(nodes):
        prefix = f"{index}/"
        out.append([Unit(units[p].name[len(prefix):] if units[p].name.startswith(prefix) else units[p].name,
                         units[p].key) for p in positions])
    return out


def _declared_values(optimized: onnx.ModelProto, device, input_shape: tuple[int, ...]) -> dict | None:
    """``declared_values`` of an optimised batch, every part's input a zero-stride array of ``input_shape``;
    None when a shape is left open, an input is not of that shape, or the parts take other inputs than one
    float tensor."""
    shape = single_shape(input_shape)
    declared = declared_values(optimized, device) if shape is not None else None
    if declared is None:
        return None
    values, data_inputs = declared
    for inp in data_inputs.get_inputs():
        dtype = ORT_FLOAT_TYPES.get(inp.type)
        if dtype is None or list(inp.shape) != list(shape):
            return None
        values[inp.name] = np.broadcast_to(np.zeros((), dtype=dtype), shape)
    return values
