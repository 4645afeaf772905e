"""Channel analysis: which channel dimensions of a network can shrink, and what runs on them.

A symbolic trace (torch.fx) with shape propagation follows every tensor's channel dimension through
the network. A convolution or linear layer creates a new dimension; batch-norm, activations, pooling
and depthwise convolutions keep it; a residual addition ties its two inputs' dimensions into one.
Each resulting dimension produced by a layer (and not the network's output) is a prunable
``ChannelGroup``. The same walk lists the ``LayerUnit``s that a device runs (a convolution with its
batch-norm folded and its activation fused, an addition with its activation, pooling, the classifier),
each tied to the groups that set its input and output channels, so the signature of every unit can be
computed for any channel configuration without touching the model.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.fx import symbolic_trace
from torch.fx.passes.shape_prop import ShapeProp

from lut.signature import LayerSignature
from netadapt.errors import UserError

_ACT_MODULES = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "hardswish", nn.Sigmoid: "sigmoid"}
_ACT_FUNCS = {F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.hardswish: "hardswish",
              torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid"}
_PASS_MODULES = (nn.Identity, nn.Dropout, nn.Dropout2d)
_ADD_TARGETS = {operator.add, operator.iadd, torch.add}
_FLATTEN_TARGETS = {torch.flatten}


@dataclass
class ChannelGroup:
    """A set of channels that must be pruned together (tied by residual additions).

    Attributes:
        name: stable name: the first layer that produces these channels.
        size: current number of channels.
        producers: conv/linear modules whose output channels are this group.
        consumers: conv/linear modules whose input channels are this group (non-depthwise).
        depthwise: depthwise convolutions running inside this group.
        norms: batch-norm modules on this group.
    """

    name: str
    size: int
    producers: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    depthwise: list[str] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)


@dataclass
class LayerUnit:
    """One timed unit, with its channel dimensions as group names (or fixed sizes).

    ``cin``/``cout`` are a group name (str) or a fixed channel count (int). ``cin_factor`` is the
    number of spatial positions folded into a linear layer's input features by a flatten.
    """

    name: str
    op: str
    cin: str | int
    cout: str | int
    batch: int
    h: int
    w: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    depthwise: bool = False
    activation: str = "none"
    cin_factor: int = 1

    def signature(self, sizes: dict[str, int]) -> LayerSignature:
        cin = sizes[self.cin] if isinstance(self.cin, str) else self.cin
        cout = sizes[self.cout] if isinstance(self.cout, str) else self.cout
        return LayerSignature(
            op=self.op, batch=self.batch, cin=cin * self.cin_factor, h=self.h, w=self.w, cout=cout,
            kernel=self.kernel, stride=self.stride, padding=self.padding,
            groups=cin if self.depthwise else 1, activation=self.activation)

    def groups(self) -> set[str]:
        return {d for d in (self.cin, self.cout) if isinstance(d, str)}


@dataclass
class NetworkGraph:
    """The prunable groups and timed units of one network at one input shape."""

    input_shape: tuple[int, ...]
    groups: dict[str, ChannelGroup]
    units: list[LayerUnit]

    def sizes(self) -> dict[str, int]:
        return {name: g.size for name, g in self.groups.items()}

    def signatures(self, sizes: dict[str, int] | None = None) -> list[LayerSignature]:
        merged = self.sizes() if sizes is None else {**self.sizes(), **sizes}
        return [u.signature(merged) for u in self.units]

    def units_touching(self, group: str) -> list[LayerUnit]:
        return [u for u in self.units if group in u.groups()]


class _Dims:
    """Union-find over channel dimensions; each root carries its facts."""

    def __init__(self):
        self.parent: dict[int, int] = {}
        self.facts: dict[int, dict] = {}

    def new(self, size: int, fixed: bool = False) -> int:
        d = len(self.parent)
        self.parent[d] = d
        self.facts[d] = {"size": size, "fixed": fixed, "producers": [], "consumers": [],
                         "depthwise": [], "norms": []}
        return d

    def find(self, d: int) -> int:
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        keep, drop = min(ra, rb), max(ra, rb)
        self.parent[drop] = keep
        fk, fd = self.facts[keep], self.facts.pop(drop)
        if fk["size"] != fd["size"]:
            raise UserError(f"residual addition of {fk['size']} and {fd['size']} channels")
        fk["fixed"] = fk["fixed"] or fd["fixed"]
        for key in ("producers", "consumers", "depthwise", "norms"):
            fk[key] += fd[key]
        return keep

    def add(self, d: int, key: str, name: str):
        self.facts[self.find(d)][key].append(name)

    def fix(self, d: int):
        self.facts[self.find(d)]["fixed"] = True


def _shape(node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _int(v) -> int:
    if isinstance(v, (tuple, list)):
        if len(set(v)) != 1:
            raise UserError(f"non-square kernel/stride/padding {tuple(v)} is not supported")
        v = v[0]
    if not isinstance(v, int):
        raise UserError(f"unsupported padding {v!r} (use integers)")
    return v


def analyze(model: nn.Module, input_shape: tuple[int, ...]) -> NetworkGraph:
    """Trace ``model`` at ``input_shape`` (N, C, H, W) and return its groups and timed units.

    Raises:
        UserError: the model cannot be traced or uses a layer netadapt cannot prune or time.
    """
    was_training = model.training
    model.eval()
    shown = "x".join(map(str, input_shape))
    try:
        with torch.no_grad():  # batch 1: cheap, and a shape that fails does so at any batch
            model(torch.zeros((1, *input_shape[1:])))
    except Exception as exc:  # any failure here means the shape does not fit the model
        model.train(was_training)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"model does not run on input shape {shown}: {first}") from exc
    try:
        gm = symbolic_trace(model)
    except Exception as exc:  # fx raises many types; the user needs the reason, not the type
        raise UserError(f"cannot trace the model with torch.fx: {exc}") from exc
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros(input_shape))
    except Exception as exc:
        raise UserError(f"model does not run on input shape {shown}: {exc}") from exc
    finally:
        model.train(was_training)
    return _walk(gm, dict(model.named_modules()), tuple(input_shape))


def _walk(gm, modules, input_shape) -> NetworkGraph:
    dims = _Dims()
    dim_of: dict = {}  # fx node -> (dim id, factor)
    units: list[dict] = []
    absorbed: set = set()
    nodes = list(gm.graph.nodes)

    def sole_user(node):
        users = list(node.users)
        return users[0] if len(users) == 1 else None

    def activation_of(node):
        user = sole_user(node)
        if user is None:
            return None, "none"
        if user.op == "call_module" and type(modules[user.target]) in _ACT_MODULES:
            return user, _ACT_MODULES[type(modules[user.target])]
        if user.op == "call_function" and user.target in _ACT_FUNCS:
            return user, _ACT_FUNCS[user.target]
        return None, "none"

    def tensor_args(node):
        return [a for a in node.args if isinstance(a, torch.fx.Node)]

    def passthrough(node, src):
        dim_of[node] = dim_of[src]

    for node in nodes:
        if node.op == "placeholder":
            shape = _shape(node)
            dim_of[node] = (dims.new(shape[1] if shape and len(shape) > 1 else 1, fixed=True), 1)
            continue
        if node.op == "output":
            for a in _flat_nodes(node.args):
                if a in dim_of:
                    dims.fix(dim_of[a][0])
            continue
        if node.op == "get_attr":
            raise UserError(f"unsupported parameter use {node.target!r} in forward")
        ins = tensor_args(node)
        in_shape = _shape(ins[0]) if ins else None
        out_shape = _shape(node)
        if node.op == "call_module":
            mod = modules[node.target]
            src = ins[0]
            d_in, factor = dim_of[src]
            if isinstance(mod, nn.Conv2d):
                _, _, h, w = in_shape
                # A depthwise convolution pruned to one channel has groups == 1; it is still depthwise
                # (its channels stay tied to its input's), or re-analysing the pruned network would
                # give it a group of its own. A 1 -> 1 convolution on a fixed dimension (the network's
                # one-channel input) is an ordinary convolution that makes its own group.
                dw = mod.groups == mod.in_channels == mod.out_channels and (
                    mod.groups > 1 or not dims.facts[dims.find(d_in)]["fixed"])
                if dw:
                    dims.add(d_in, "depthwise", node.target)
                    d_out = d_in
                elif mod.groups == 1:
                    dims.add(d_in, "consumers", node.target)
                    d_out = dims.new(mod.out_channels)
                    dims.add(d_out, "producers", node.target)
                else:
                    raise UserError(f"grouped convolution {node.target} (groups={mod.groups}) "
                                    "is not supported; depthwise and groups=1 are")
                dim_of[node] = (d_out, 1)
                last, act = node, "none"
                bn = sole_user(node)
                if bn is not None and bn.op == "call_module" and isinstance(modules[bn.target], nn.BatchNorm2d):
                    dims.add(d_out, "norms", bn.target)
                    absorbed.add(bn)
                    dim_of[bn] = (d_out, 1)
                    last = bn
                act_node, act = activation_of(last)
                if act_node is not None:
                    absorbed.add(act_node)
                    dim_of[act_node] = (d_out, 1)
                units.append(dict(name=node.target, op="conv", cin=d_in, cout=d_out,
                                  batch=in_shape[0], h=h, w=w, kernel=_int(mod.kernel_size),
                                  stride=_int(mod.stride), padding=_int(mod.padding),
                                  depthwise=dw, activation=act))
            elif isinstance(mod, nn.Linear):
                dims.add(d_in, "consumers", node.target)
                d_out = dims.new(mod.out_features)
                dims.add(d_out, "producers", node.target)
                dim_of[node] = (d_out, 1)
                act_node, act = activation_of(node)
                if act_node is not None:
                    absorbed.add(act_node)
                    dim_of[act_node] = (d_out, 1)
                if len(in_shape) != 2:
                    raise UserError(f"linear layer {node.target} on a {len(in_shape)}-d input is not supported")
                units.append(dict(name=node.target, op="linear", cin=d_in, cout=d_out,
                                  batch=in_shape[0], h=1, w=1, activation=act, cin_factor=factor))
            elif node in absorbed:
                pass
            elif isinstance(mod, nn.BatchNorm2d):
                raise UserError(f"batch-norm {node.target} does not follow a convolution; "
                                "netadapt folds batch-norm into the convolution before it")
            elif type(mod) in _ACT_MODULES:
                raise UserError(f"activation {node.target} does not follow a convolution, "
                                "linear layer or addition, which netadapt fuses it into")
            elif isinstance(mod, _PASS_MODULES):
                passthrough(node, src)
            elif isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
                if getattr(mod, "ceil_mode", False) or getattr(mod, "dilation", 1) not in (1, (1, 1)):
                    raise UserError(f"pooling {node.target}: ceil_mode/dilation is not supported")
                passthrough(node, src)
                op = "maxpool" if isinstance(mod, nn.MaxPool2d) else "avgpool"
                units.append(dict(name=node.target, op=op, cin=d_in, cout=d_in, batch=in_shape[0],
                                  h=in_shape[2], w=in_shape[3], kernel=_int(mod.kernel_size),
                                  stride=_int(mod.stride if mod.stride is not None else mod.kernel_size),
                                  padding=_int(mod.padding)))
            elif isinstance(mod, nn.AdaptiveAvgPool2d):
                passthrough(node, src)
                if tuple(out_shape[2:]) == tuple(in_shape[2:]):
                    continue
                if tuple(out_shape[2:]) != (1, 1):
                    raise UserError(f"adaptive pooling {node.target} to {tuple(out_shape[2:])} is not "
                                    "supported (only to 1x1)")
                units.append(dict(name=node.target, op="global_avgpool", cin=d_in, cout=d_in,
                                  batch=in_shape[0], h=in_shape[2], w=in_shape[3]))
            elif isinstance(mod, nn.Flatten):
                _flatten(node, src, in_shape, dim_of, units)
            else:
                raise UserError(f"layer {node.target} ({type(mod).__name__}) is not supported; "
                                "supported: Conv2d, BatchNorm2d, Linear, ReLU, ReLU6, Hardswish, Sigmoid, "
                                "MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, Dropout, Identity")
        elif node.op in ("call_function", "call_method"):
            target = node.target
            if node in absorbed:
                continue
            if target in _ADD_TARGETS or target in ("add", "add_", "__add__"):
                if len(ins) == 2 and not isinstance(node.args[0], (int, float)):
                    d = dims.union(dim_of[ins[0]][0], dim_of[ins[1]][0])
                    dim_of[node] = (d, 1)
                    act_node, act = activation_of(node)
                    if act_node is not None:
                        absorbed.add(act_node)
                        dim_of[act_node] = (d, 1)
                    units.append(dict(name=node.name, op="add", cin=d, cout=d, batch=out_shape[0],
                                      h=out_shape[2] if len(out_shape) == 4 else 1,
                                      w=out_shape[3] if len(out_shape) == 4 else 1, activation=act))
                    continue
                raise UserError(f"unsupported addition {node.name} (only tensor + tensor)")
            if target in _FLATTEN_TARGETS or target in ("flatten", "view", "reshape"):
                _flatten(node, ins[0], in_shape, dim_of, units)
                continue
            if target in _ACT_FUNCS or target in ("relu", "relu_"):
                raise UserError(f"activation {node.name} does not follow a convolution, linear layer "
                                "or addition, which netadapt fuses it into")
            if target in (getattr, "size", "dim"):
                continue
            raise UserError(f"operation {getattr(target, '__name__', target)} ({node.name}) is not supported "
                            "by netadapt's channel analysis")
    return _finish(dims, dim_of, units, input_shape)


def _flat_nodes(args):
    out = []
    torch.fx.node.map_arg(args, lambda n: out.append(n))
    return out


def _flatten(node, src, in_shape, dim_of, units):
    d, factor = dim_of[src]
    spatial = 1
    for s in in_shape[2:]:
        spatial *= s
    dim_of[node] = (d, factor * spatial)
    units.append(dict(name=node.target if node.op == "call_module" else node.name, op="flatten",
                      cin=d, cout=d, batch=in_shape[0],
                      h=in_shape[2] if len(in_shape) == 4 else 1, w=in_shape[3] if len(in_shape) == 4 else 1))


def _finish(dims: _Dims, dim_of, units, input_shape) -> NetworkGraph:
    groups: dict[str, ChannelGroup] = {}
    name_of: dict[int, str | int] = {}
    for root, facts in dims.facts.items():
        if facts["fixed"] or not facts["producers"]:
            name_of[root] = facts["size"]
            continue
        name = facts["producers"][0]
        groups[name] = ChannelGroup(name=name, size=facts["size"], producers=facts["producers"],
                                    consumers=facts["consumers"], depthwise=facts["depthwise"],
                                    norms=facts["norms"])
        name_of[root] = name
    layer_units = []
    for u in units:
        u = dict(u)
        u["cin"] = name_of[dims.find(u["cin"])]
        u["cout"] = name_of[dims.find(u["cout"])]
        layer_units.append(LayerUnit(**u))
    if not groups:
        raise UserError("the model has no prunable channels (no convolution or linear layer "
                        "whose outputs are not the network's output)")
    return NetworkGraph(input_shape=tuple(input_shape), groups=groups, units=layer_units)
