"""torch-pruning's dependency graph, built the way netadapt needs it, and what its groups hold.

The graph is traced through autograd, so it follows any functional call (``torch.cat``, ``chunk``,
``x.mean``, ``F.adaptive_avg_pool2d``, ``x * scale``) without a list of supported operations. Concatenation,
split and flattening into a linear layer carry index mappings; every other operation is taken to keep
channels one to one, which ``netadapt.pruning.validate`` checks for each group.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import torch
import torch.nn as nn
import torch_pruning as tp

from netadapt.errors import UserError, first_line
from netadapt.inputs import shape_text, trace_args
from netadapt.pruning.tracing import BoundedGroup, Graph



def main_output(out):
    """The tensor a classifier's loss and accuracy use: the output itself, a named tuple's ``logits``
    (GoogLeNet and Inception return their auxiliary outputs beside it in training mode), the first
    element of a tuple, or the ``out``/first value of a dict."""
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "logits"):
        return out.logits
    if isinstance(out, (tuple, list)) and out:
        return main_output(out[0])
    if isinstance(out, dict) and out:
        return main_output(out.get("out", next(iter(out.values()))))
    raise UserError(f"the model returned {type(out).__name__}, not a tensor of class scores")


@contextlib.contextmanager
def buffers_kept(model: nn.Module):
    """Run forward passes in training mode without changing the model: batch-norm statistics (and any
    other buffer) are restored afterwards, as are the training/eval mode and the global RNG."""
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        model.train(was_training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                if name in saved and b.shape == saved[name].shape:
                    b.copy_(saved[name])


def build_graph(model: nn.Module, input_shape) -> tp.DependencyGraph:
    """Trace ``model`` at ``input_shape`` (a shape, or ``netadapt.inputs.ExampleInputs``) into a dependency
    graph.

    The trace runs in training mode, so branches that only run while training (GoogLeNet's auxiliary
    classifiers) are part of the graph and pruned with the channels they read; the model's weights,
    buffers and mode are left as they were.

    Raises:
        UserError: the model does not run on that shape.
    """
    grads = {n: p.requires_grad for n, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(True)
    BoundedGroup.MAX_INDICES = max([4096] + [2 * d for p in model.parameters() for d in p.shape])

    def forward(net, args):
        net.train()
        return net(*args)

    try:
        with torch.enable_grad(), warnings.catch_warnings(), buffers_kept(model):
            warnings.simplefilter("ignore")
            return Graph().build_dependency(model, example_inputs=trace_args(input_shape), forward_fn=forward,
                                            verbose=False)
    except UserError:
        raise
    except Exception as exc:  # tracing runs the user's forward: any error means it does not run here
        raise UserError(f"model does not run on input shape {shape_text(input_shape)}: {first_line(exc)}") from exc
    finally:
        for n, p in model.named_parameters():
            p.requires_grad_(grads.get(n, True))


def output_tensors(out) -> list[torch.Tensor]:
    """Every tensor of a model's output (a tensor, or tuples, lists and dicts of them), in the order the ONNX
    exporter flattens them."""
    return _tensors(out)


def _tensors(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return []


def execution_order(model: nn.Module, input_shape) -> tuple[dict[nn.Module, int], set]:
    """Each module's position in the order a forward pass first calls it, and the modules whose output
    is one of the network's outputs itself (in eval or training mode): their channels are the network's,
    not prunable."""
    order: dict[nn.Module, int] = {}
    outputs: dict[nn.Module, list] = {}  # the tensors themselves: an id is reused once one is freed

    def seen(module, _inputs, out):  # returns None: a hook's return value would replace the output
        order.setdefault(module, len(order))
        outputs.setdefault(module, []).extend(_tensors(out))

    hooks = [m.register_forward_hook(seen) for m in model.modules()]
    results = []  # kept alive with the module outputs, so no id is reused within the passes
    try:
        with torch.no_grad(), buffers_kept(model):
            for training in (False, True):
                model.train(training)
                results.extend(_tensors(model(*trace_args(input_shape))))
    except Exception as exc:  # the user's forward: the reason matters, not its type
        raise UserError(f"model does not run on input shape {shape_text(input_shape)}: {first_line(exc)}") from exc
    finally:
        for h in hooks:
            h.remove()
    final = {id(t) for t in results}
    return order, {m for m, tensors in outputs.items() if final.intersection(id(t) for t in tensors)}


def is_out(dg: tp.DependencyGraph, dep) -> bool:
    """Whether a group item removes outputs (channels produced) rather than inputs (channels read)."""
    return dg.is_out_channel_pruning_fn(dep.handler)


def item_name(dg: tp.DependencyGraph, module) -> str:
    """The qualified name of a group member (a module or an unwrapped parameter)."""
    if isinstance(module, nn.Parameter):
        return dg._param_to_name.get(module, "parameter")
    return dg._module2name.get(module, type(module).__name__)


def touches_output(dg: tp.DependencyGraph, group, output_modules: set) -> bool:
    """Whether the group's channels are the network's output (directly, or through an operation)."""
    return any(isinstance(dep.target.module, tp.ops._OutputOp)
               or (dep.target.module in output_modules and is_out(dg, dep)) for dep, _ in group)


def channel_multiple(dg: tp.DependencyGraph, group) -> int:
    """Channels must leave a group in equal numbers from this many blocks: the group count of a grouped
    (not depthwise) convolution on either side, the heads of an attention layer, the parts of a ``chunk``
    (``netadapt.pruning.tracing``)."""
    multiple = 1
    chunked = getattr(dg, "chunked", {})
    for dep, _ in group:
        parts = chunked.get(dep.target.grad_fn)
        if parts:
            multiple = math.lcm(multiple, parts)
        m = dep.target.module
        if isinstance(m, nn.modules.conv._ConvNd) and m.groups > 1:
            depthwise = m.groups == m.in_channels and m.out_channels % m.in_channels == 0
            if not depthwise:
                multiple = math.lcm(multiple, m.groups)
        elif isinstance(m, nn.MultiheadAttention):
            multiple = math.lcm(multiple, m.num_heads)
    return multiple


def chunk_producers(dg: tp.DependencyGraph) -> list:
    """The convolution and linear layers whose outputs are cut by a ``chunk`` (through normalisation and
    activations), in the graph's order."""
    found = []
    for node in dg.module2node.values():
        if node.grad_fn not in getattr(dg, "chunked", {}):
            continue
        stack, seen = list(node.inputs), set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            if isinstance(n.module, (nn.modules.conv._ConvNd, nn.Linear)):
                found.append(n.module)
            elif len(n.inputs) == 1:  # one path back: normalisation, an activation
                stack.extend(n.inputs)
    return list(dict.fromkeys(found))


def all_groups(dg: tp.DependencyGraph, unmapped: dict[str, str] | None = None):
    """Every coupled group, rooted at the outputs of a convolution or linear layer, as torch-pruning's
    ``get_all_groups`` finds them, except that a root whose indices the graph cannot map (through a
    channel shuffle, say) is reported instead of ending the analysis. Layers whose outputs a ``chunk`` cuts
    root their groups first: the parts must lose the same channels, so their group starts where the whole is
    made (otherwise a layer added to one part, a residual on one half, would start a group holding only it).

    Args:
        dg: the network's dependency graph.
        unmapped: roots already known not to map, by name, with the error: reported with it and not followed
            again (such a root only fails after its group has grown to the bound: seconds on a network with
            channel shuffles). Cutting other groups leaves a root that did not map unmappable or, at most,
            keeps it frozen for the rest of a run.

    Yields:
        (root module, group or None, the error's first line or None).
    """
    visited = set()
    first = set(chunk_producers(dg))
    for module in sorted(dg.module2node, key=lambda m: m not in first):
        if not isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)) or module in visited:
            continue
        pruner = dg.get_pruner_of_module(module)
        if pruner is None or pruner.get_out_channels(module) is None:
            continue
        known = unmapped.get(item_name(dg, module)) if unmapped else None
        if known is not None:
            visited.add(module)
            yield module, None, known
            continue
        try:
            group = dg.get_pruning_group(module, pruner.prune_out_channels,
                                         list(range(pruner.get_out_channels(module))))
        except Exception as exc:  # torch-pruning's index mappings raise whatever their arithmetic does
            visited.add(module)
            text = str(exc).strip()
            yield module, None, (text.splitlines()[0] if text else type(exc).__name__)
            continue
        for dep, _ in group:
            if is_out(dg, dep):
                visited.add(dep.target.module)
        yield module, group, None
