"""Learning-rate rewinding (Renda et al., 2020): keep the pruned weights, replay the schedule from iteration k.

The learning rate the original training had at iteration k comes from ``rewind_<k>.pt`` (written by
``netadapt train --rewind-iteration k``). NetAdapt's short fine-tune has far fewer iterations than the
rest of the original run, so the replay is compressed into it: the fine-tune starts at the rate of
iteration k and decays to zero by cosine (or stays constant if the original schedule was constant).
"""

from __future__ import annotations

from pathlib import Path

import torch

from netadapt.errors import UserError
from netadapt.rewinding.base import Rewinder

REWIND_GLOB = "rewind_*.pt"


def find_rewind_file(rewind=None, config=None, **_context) -> Path:
    """The ``rewind_<k>.pt`` to use: ``rewind`` if given, else the only one beside the checkpoint.

    Looked for in the checkpoint's folder and its ``train/`` sub-folder.

    Raises:
        UserError: none found, or several (which one is meant is then ambiguous).
    """
    if rewind is not None:
        path = Path(rewind)
        if not path.is_file():
            raise UserError(f"rewind file {path} does not exist")
        return path
    checkpoint = getattr(config, "checkpoint", None)
    if not checkpoint:
        raise UserError("rewinding needs the weights saved by `netadapt train --rewind-iteration k`; "
                        "start from a --checkpoint whose folder holds rewind_<k>.pt")
    folder = Path(checkpoint).parent
    found = sorted({*folder.glob(REWIND_GLOB), *(folder / "train").glob(REWIND_GLOB)})
    if len(found) != 1:
        where = f"{folder} or {folder / 'train'}"
        if not found:
            raise UserError(f"no rewind_<k>.pt in {where}; train with `netadapt train --rewind-iteration k`")
        raise UserError(f"several rewind files in {where} ({', '.join(p.name for p in found)}); keep one")
    return found[0]


def read_rewind(path: Path) -> dict:
    """The content of a rewind file (see ``netadapt.training.load_rewind``), checked."""
    from netadapt.training import load_rewind

    try:
        saved = load_rewind(path)
    except Exception as exc:  # torch.load raises many types for a damaged file
        raise UserError(f"cannot read rewind file {path} ({type(exc).__name__})") from exc
    if not isinstance(saved, dict) or "state_dict" not in saved or "lr" not in saved:
        raise UserError(f"{path} is not a rewind file written by `netadapt train --rewind-iteration k`")
    return saved


def original_schedule(path: Path) -> str:
    """The schedule of the training run that wrote ``path`` (from its ``last.pt``), as a fine-tune schedule."""
    last = path.parent / "last.pt"
    if last.is_file():
        config = torch.load(last, map_location="cpu", weights_only=True).get("config", {})
        if config.get("schedule") == "constant":
            return "constant"
    return "cosine"


def replay_overrides(path: Path, saved: dict) -> dict:
    """Fine-tune overrides that replay the original schedule from the rewind point."""
    return {"lr": float(saved["lr"]), "schedule": original_schedule(path)}


class LrRewinder(Rewinder):
    """Keep the weights; fine-tune from the learning rate of iteration k with the original schedule's shape."""

    name = "lr_rewind"

    def __init__(self, rewind=None, config=None, **context):
        self.path = find_rewind_file(rewind, config)
        saved = read_rewind(self.path)
        self.iteration = int(saved.get("iteration", -1))
        self.overrides = replay_overrides(self.path, saved)

    def apply(self, candidate, origin):
        return dict(self.overrides)
