"""First-order Taylor importance (Molchanov et al., 2017/2019): a data-aware criterion.

Removing channel c changes the loss by about ``a_c * dL/da_c`` summed over its positions, where ``a_c``
is the channel's activation. A channel's score is ``|sum over a few batches and all positions of
a * dL/da|``, taken on the output of each batch-norm of the group (or of each producer when the
group has none) and summed over them, so a residual group is ranked as one.

It needs data: call ``prepare(model, batches)`` before ranking, or create it with ``data=`` (a data
set it draws ``batches`` batches of ``batch_size`` from, on demand). Scores are cached per model
weights, so ranking every group of one network costs one pass over the batches.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn as nn

from netadapt.criteria.base import Criterion
from netadapt.errors import UserError
from netadapt.pruning.dependency import main_output
from netadapt.pruning.graph import ChannelGroup, analyze


def _fingerprint(model: nn.Module) -> tuple:
    """Cheap identity of a model's weights: copies of one model share it, any update changes it."""
    return tuple((n, tuple(p.shape), float(p.detach().double().sum()), float(p.detach().double().abs().sum()))
                 for n, p in model.state_dict().items() if p.is_floating_point())


def _cross_entropy(model: nn.Module, batch) -> torch.Tensor:
    images, labels = batch
    return nn.functional.cross_entropy(main_output(model(images)), labels, reduction="sum")


def taylor_scores(model: nn.Module, groups: dict[str, ChannelGroup], batches: Iterable,
                  loss: Callable[[nn.Module, object], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Taylor scores of every channel of every group, from the gradients of ``loss(model, batch)`` on
    ``batches`` (default: the summed cross-entropy of (images, labels) batches).

    The model's weights, gradients and train/eval mode are left as they were (batch-norm statistics
    are not updated: the passes run in eval mode).
    """
    loss_of = loss or _cross_entropy
    modules = dict(model.named_modules())
    taps = {g.name: (g.norms or g.producers) for g in groups.values()}
    sums = {name: torch.zeros(modules[name].weight.shape[0] if name in modules else 0, dtype=torch.float64)
            for names in taps.values() for name in names}
    outputs: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(_module, _inputs, out):
            out.retain_grad()
            outputs[name] = out
        return hook

    handles = [modules[name].register_forward_hook(keep(name)) for name in sums]
    saved_grads = {n: (None if p.grad is None else p.grad.clone()) for n, p in model.named_parameters()}
    was_training = model.training
    model.eval()
    seen = 0
    try:
        for batch in batches:
            outputs.clear()
            loss_of(model, batch).backward()
            for name, out in outputs.items():
                channel = out.dim() - 1 if isinstance(modules[name], (nn.Linear, nn.LayerNorm)) else 1
                dims = [d for d in range(out.dim()) if d != channel]
                sums[name] += (out.detach() * out.grad).sum(dim=dims).double()
            seen += 1
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        for n, p in model.named_parameters():
            p.grad = saved_grads[n]
    if seen == 0:
        raise UserError("the Taylor criterion got no batches to compute gradients on")
    return {g: sum(sums[name].abs() for name in names) for g, names in taps.items()}


class TaylorCriterion(Criterion):
    """First-order Taylor importance.

    Args:
        data: optional data set to draw batches from when scores are needed and not prepared.
        batches: how many batches to draw from ``data``.
        batch_size: images per batch.
        seed: fixes which images are drawn.
        input_shape: the (N, C, H, W) shape to analyse the model at (default: the data's image shape).
    """

    name = "taylor"

    def __init__(self, data=None, batches: int = 4, batch_size: int = 32, seed: int = 0,
                 input_shape: tuple[int, ...] | None = None):
        self.data = data
        self.batches = batches
        self.batch_size = batch_size
        self.seed = seed
        self.input_shape = input_shape
        self._key = None
        self._scores: dict[str, torch.Tensor] = {}

    def prepare(self, model: nn.Module, data_batches: Iterable, input_shape=None,
                loss: Callable[[nn.Module, object], torch.Tensor] | None = None) -> None:
        """Compute and cache the scores of every group of ``model`` from ``data_batches`` (each what ``loss``
        takes; default: (images, labels) and the cross-entropy)."""
        batches = list(data_batches)
        if not batches:
            raise UserError("the Taylor criterion got no batches to compute gradients on")
        shape = input_shape or self.input_shape or (1, *batches[0][0].shape[1:])
        graph = analyze(model, shape, validate=False)
        self._scores = taylor_scores(model, graph.groups, batches, loss=loss)
        self._key = _fingerprint(model)

    def _draw(self):
        from netadapt.data.loader import make_loader

        loader = make_loader(self.data, min(self.batch_size, len(self.data)), shuffle=True, seed=self.seed)
        for i, batch in enumerate(loader):
            if i == self.batches:
                break
            yield batch

    def scores(self, model, group):
        if self._key != _fingerprint(model):
            if self.data is None:
                raise UserError("the taylor criterion needs data: call prepare(model, batches) first, "
                                "or create it with data=<data set>")
            self.prepare(model, self._draw())
        found = self._scores.get(group.name)
        if found is None or found.shape != (group.size,):
            raise RuntimeError(f"taylor scores were prepared for another network (group {group.name})")
        return found
