"""Files a training run writes: ``last.pt`` to resume from, ``rewind_<k>.pt`` for weight rewinding."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

LAST = "last.pt"


def last_path(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / LAST


def rewind_path(out_dir: str | os.PathLike, iteration: int) -> Path:
    return Path(out_dir) / f"rewind_{iteration}.pt"


def atomic_save(obj, path: Path) -> Path:
    """``torch.save`` to a temporary name in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's state dict."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def load_rewind(path: str | os.PathLike) -> dict:
    """Read a ``rewind_<k>.pt`` file: keys ``iteration``, ``state_dict``, ``optimizer``, ``scheduler``, ``lr``."""
    return torch.load(path, map_location="cpu", weights_only=True)


def atomic_write_json(data, path: Path) -> Path:
    """Write ``data`` as indented JSON through a temporary file and a rename."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path
