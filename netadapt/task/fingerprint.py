"""What identifies a user's model across a run's resumptions, without its code.

A run folder made by ``netadapt.prune`` records the fingerprint of the model it started from: every module's
name and type, every parameter's and buffer's name and shape, and a hash of their values. Resuming with a
model whose fingerprint differs is refused; ``netadapt.load`` accepts a fresh instance of the same class (same
structure, other weights).
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from netadapt.errors import UserError


def structure(model: nn.Module) -> dict:
    """Module names and types, tensor names and shapes."""
    return {"modules": [[name, type(m).__qualname__] for name, m in model.named_modules()],
            "tensors": [[name, list(t.shape)] for name, t in model.state_dict().items()]}


def weight_hash(model: nn.Module) -> str:
    """A hash of every tensor of the state dict (names, dtypes and values)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        t = tensor.detach().cpu().contiguous()
        digest.update(str(t.dtype).encode())
        if t.dtype == torch.bfloat16:
            t = t.float()
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()[:16]


def fingerprint(model: nn.Module) -> dict:
    return {**structure(model), "weights": weight_hash(model)}


def difference(stored: dict, current: dict) -> str | None:
    """What differs between two fingerprints, in a few words (None: the same model)."""
    for key, what in (("modules", "module"), ("tensors", "tensor")):
        before, now = [tuple(map(str, x)) for x in stored[key]], [tuple(map(str, x)) for x in current[key]]
        if before != now:
            changed = next((f"{a[0]} ({a[1]}) became {b[0]} ({b[1]})" for a, b in zip(before, now) if a != b),
                           f"{len(before)} {what}s became {len(now)}")
            return f"another architecture: {changed}"
    if stored.get("weights") != current.get("weights"):
        return "the same architecture with other weights"
    return None


def check_same(stored: dict, model: nn.Module, run_dir) -> None:
    """Refuse to resume ``run_dir`` with a model other than the one it started from.

    Raises:
        UserError: the model differs (one line saying how).
    """
    why = difference(stored, fingerprint(model))
    if why is not None:
        raise UserError(f"{run_dir} holds a run of another model ({why}); use another out folder, or the same "
                        "model to resume it")
