"""Feature-map reconstruction after a cut: the layers that lost input channels refit by least squares.

After channels of a group are removed, every layer that read them (the group's consumers) computes its
output from fewer inputs. Channel pruning (He et al., ICCV 2017) and ThiNet (Luo et al., ICCV 2017) refit
such a layer's remaining weights in closed form so that, on sampled activations, its output matches the
unpruned network's: with X the layer's inputs in the pruned network (im2col patches for a convolution) and
Y the unpruned layer's outputs on the same images (at the output channels it keeps), the new weights
minimise ``|X W - Y|^2 + ridge |W|^2``. Layers are refit in execution order, each on inputs that already
carry the refits before it. Convolutions with ``groups == 1`` and linear layers are refit; grouped and
depthwise convolutions are left as they are. Batch-norm after a refit layer is left as it is: it sees
outputs close to the ones its statistics were gathered on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from netadapt.pruning.graph import NetworkGraph


@dataclass
class LayerFit:
    """One refit layer: its relative squared output error on the sampled activations (``|Y' - Y|^2 /
    |Y|^2``) with the pruned weights (``before``) and after the refit (``after``), from ``rows`` samples."""

    layer: str
    before: float
    after: float
    rows: int


def refit_layers(graph: NetworkGraph, keep: dict[str, Sequence[int]]) -> dict[str, list[int] | None]:
    """The layers a cut of ``keep`` (group -> kept indices, as given to ``keep_channels`` on ``graph``) makes
    refittable: every consumer of a cut group, with the indices of its output channels that stay (None: all
    of them)."""
    layers: dict[str, list[int] | None] = {}
    for name in keep:
        for consumer in graph.groups[name].consumers:
            layers[consumer] = None
    for name, kept in keep.items():
        for producer in graph.groups[name].producers:
            if producer in layers:
                layers[producer] = sorted(int(i) for i in kept)
    return layers


def _refittable(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and module.groups == 1)


def _capture(model: nn.Module, name: str, inputs, want_input: bool) -> torch.Tensor:
    """The input (or output) of ``model``'s layer ``name`` on ``inputs``, in eval mode."""
    module = model.get_submodule(name)
    got = {}

    def hook(_, args, output):
        got["x"] = (args[0] if want_input else output).detach()
        raise _Stop

    handle = module.register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs) if isinstance(inputs, tuple) else model(inputs)
    except _Stop:
        pass
    finally:
        handle.remove()
        model.train(was_training)
    if "x" not in got:
        raise RuntimeError(f"layer {name} did not run on the sampled inputs")
    return got["x"]


class _Stop(Exception):
    """Ends a forward pass once the hooked layer has run."""


def _order(model: nn.Module, names: list[str], inputs) -> list[str]:
    """``names`` in the order the layers run."""
    seen: list[str] = []
    handles = [model.get_submodule(n).register_forward_hook(lambda m, a, o, n=n: seen.append(n)) for n in names]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs) if isinstance(inputs, tuple) else model(inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return list(dict.fromkeys(seen)) + [n for n in names if n not in seen]


def _rows(layer: nn.Module, x: torch.Tensor, y: torch.Tensor, per_image: int, generator) -> tuple:
    """(X, Y) rows: a convolution's im2col patches and outputs at ``per_image`` random positions of each
    image; a linear layer's inputs and outputs (every leading dimension flattened)."""
    if isinstance(layer, nn.Linear):
        return x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
    patches = F.unfold(x, layer.kernel_size, dilation=layer.dilation, padding=layer.padding, stride=layer.stride)
    n, features, positions = patches.shape
    take = min(per_image, positions)
    index = torch.stack([torch.randperm(positions, generator=generator)[:take] for _ in range(n)])
    xs = patches.gather(2, index.unsqueeze(1).expand(n, features, take)).permute(0, 2, 1).reshape(-1, features)
    ys = y.reshape(n, y.shape[1], -1)
    ys = ys.gather(2, index.unsqueeze(1).expand(n, y.shape[1], take)).permute(0, 2, 1).reshape(-1, y.shape[1])
    return xs, ys


def _weights(layer: nn.Module) -> torch.Tensor:
    """The layer's weights as a (features, outputs) matrix matching ``_rows``' X."""
    return layer.weight.detach().reshape(layer.weight.shape[0], -1).t()


def refit(layer: nn.Module, x: torch.Tensor, y: torch.Tensor, ridge: float = 1e-3, per_image: int = 16,
          seed: int = 0) -> tuple[float, float, int]:
    """Refit ``layer``'s weights (and bias, if it has one) so that its output on inputs ``x`` matches ``y``.

    Args:
        layer: a ``Conv2d`` with ``groups == 1`` or a ``Linear``, changed in place.
        x: the layer's inputs (the batch as it receives them).
        y: the outputs wanted, as the layer's own output is shaped.
        ridge: the penalty on the weights, relative to the mean of the inputs' squared norms per feature.
        per_image: positions sampled per image for a convolution.

    Returns:
        (relative squared error before, after, rows fitted on).
    """
    generator = torch.Generator().manual_seed(seed)
    xs, ys = _rows(layer, x.double(), y.double(), per_image, generator)
    bias = layer.bias is not None
    if bias:
        xs = torch.cat([xs, torch.ones(len(xs), 1, dtype=xs.dtype)], dim=1)
    current = _weights(layer).double()
    if bias:
        current = torch.cat([current, layer.bias.detach().double().unsqueeze(0)], dim=0)
    norm = float((ys ** 2).sum()) or 1.0
    before = float(((xs @ current - ys) ** 2).sum()) / norm
    gram = xs.t() @ xs
    penalty = ridge * float(gram.diagonal().mean()) or ridge
    solved = torch.linalg.solve(gram + penalty * torch.eye(len(gram), dtype=gram.dtype), xs.t() @ ys)
    after = float(((xs @ solved - ys) ** 2).sum()) / norm
    if after >= before:  # the pruned weights fit as well: nothing to gain
        return before, before, len(xs)
    with torch.no_grad():
        w = solved[:-1] if bias else solved
        layer.weight.copy_(w.t().reshape(layer.weight.shape).to(layer.weight.dtype))
        if bias:
            layer.bias.copy_(solved[-1].to(layer.bias.dtype))
    return before, after, len(xs)


def reconstruct(original: nn.Module, pruned: nn.Module, layers: dict[str, list[int] | None], inputs,
                ridge: float = 1e-3, per_image: int = 16, seed: int = 0) -> list[LayerFit]:
    """Refit the ``layers`` of ``pruned`` (name -> the indices of the original's output channels it kept, None
    for all: ``refit_layers``) so that each matches ``original``'s same layer on ``inputs`` (a batch of a few
    hundred samples, or a tuple of inputs), in the order they run. Layers that are not a ``Conv2d`` with
    ``groups == 1`` or a ``Linear`` are skipped.

    Returns:
        One ``LayerFit`` per refit layer, in the order refit.
    """
    names = [n for n in layers if _refittable(pruned.get_submodule(n))]
    fits = []
    for name in _order(pruned, names, inputs):
        y = _capture(original, name, inputs, want_input=False)
        kept = layers[name]
        if kept is not None:
            y = y[:, kept] if y.dim() > 2 else y[..., kept]
        x = _capture(pruned, name, inputs, want_input=True)
        before, after, rows = refit(pruned.get_submodule(name), x, y, ridge=ridge, per_image=per_image, seed=seed)
        fits.append(LayerFit(name, before, after, rows))
    return fits
