"""Unstructured masks over the weights of convolutions and linear layers.

Masks stay applied through training by masking gradients: a pruned weight starts at exactly zero and
its gradient is zeroed, so SGD's momentum and (coupled) weight decay never move it - it stays exactly
zero after every step, with no need to re-apply the mask after the optimizer.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from netadapt.errors import UserError
from netadapt.config.lottery import SCOPES


def prunable_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weights that get masks: those of every Conv2d and Linear layer (not biases, not batch-norm)."""
    return {f"{name}.weight": m.weight for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))}


def ones_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: torch.ones_like(w, dtype=torch.bool) for name, w in prunable_weights(model).items()}


def remaining_fraction(masks: dict[str, torch.Tensor]) -> float:
    """Surviving fraction of all masked weights."""
    return sum(int(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())


def _prune_smallest(weights: list[torch.Tensor], masks: list[torch.Tensor], rate: float) -> list[torch.Tensor]:
    """Remove ``round(rate * surviving)`` of the smallest surviving magnitudes, across ``weights`` jointly."""
    flat_mask = torch.cat([m.flatten() for m in masks])
    score = torch.cat([w.detach().abs().flatten() for w in weights])
    score = torch.where(flat_mask, score, torch.full_like(score, float("inf")))
    n = int(round(rate * int(flat_mask.sum())))
    new = flat_mask.clone()
    if n > 0:
        new[torch.topk(score, n, largest=False).indices] = False
    return list(torch.split(new, [m.numel() for m in masks]))


def magnitude_prune(model: nn.Module, masks: dict[str, torch.Tensor], rate: float,
                    scope: str = "global") -> dict[str, torch.Tensor]:
    """New masks with the fraction ``rate`` of the surviving weights of ``model`` removed, smallest first.

    Args:
        model: the trained network whose magnitudes decide.
        masks: the current masks (name -> bool tensor).
        rate: fraction of the surviving weights to remove, in (0, 1).
        scope: ``"global"`` (one ranking over all layers) or ``"layer"`` (each layer loses ``rate``).
    """
    if not 0 < rate < 1:
        raise UserError(f"prune rate must be in (0, 1), got {rate}")
    if scope not in SCOPES:
        raise UserError(f"unknown scope {scope!r}; valid: {', '.join(SCOPES)}")
    weights = prunable_weights(model)
    names = list(masks)
    if scope == "global":
        flat = _prune_smallest([weights[n] for n in names], [masks[n] for n in names], rate)
    else:
        flat = [_prune_smallest([weights[n]], [masks[n]], rate)[0] for n in names]
    return {n: f.view_as(masks[n]) for n, f in zip(names, flat)}


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero the pruned weights in place."""
    weights = prunable_weights(model)
    for name, mask in masks.items():
        weights[name].mul_(mask.to(weights[name].dtype))


class MaskHooks:
    """Context manager: applies ``masks`` and zeroes the gradients of pruned weights until it exits."""

    def __init__(self, model: nn.Module, masks: dict[str, torch.Tensor] | None):
        self.model = model
        self.masks = masks or {}
        self.handles = []

    def __enter__(self):
        apply_masks(self.model, self.masks)
        weights = prunable_weights(self.model)
        for name, mask in self.masks.items():
            keep = mask.to(weights[name].dtype)
            self.handles.append(weights[name].register_hook(lambda grad, keep=keep: grad * keep))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles.clear()
        return False
