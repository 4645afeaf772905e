"""Checkpoints that rebuild a (pruned) model without pickled code.

A checkpoint holds the model's spec (zoo name or factory and its arguments), the input shape it
was analysed at, the channel count of every pruned group, the state dict, and free-form JSON-able
extras. Loading builds the base model, shrinks it to the stored channels, then loads the weights;
``torch.load(weights_only=True)`` refuses anything that is not plain tensors and containers.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from netadapt.errors import UserError
from netadapt.models.spec import ModelSpec

FORMAT = "netadapt-checkpoint/1"


@dataclass
class LoadedCheckpoint:
    model: nn.Module
    spec: ModelSpec
    input_shape: object
    channels: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file, then rename: a kill never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def save_checkpoint(path, model: nn.Module, spec: ModelSpec, input_shape: tuple[int, ...],
                    channels: dict[str, int] | None = None, extra: dict | None = None) -> Path:
    """Write a checkpoint that ``load_checkpoint`` rebuilds without the code that pruned it."""
    return save_state(path, model.state_dict(), spec, input_shape, channels, extra)


def _compact(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` on the CPU, copied only where it is a view of a larger storage (``torch.save`` writes a
    view's whole storage): a 400 MB layer that owns its storage is written as it is."""
    tensor = tensor.detach().cpu()
    owns = (tensor.is_contiguous() and tensor.storage_offset() == 0
            and tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size())
    return tensor if owns else tensor.clone()


def save_state(path, state: dict, spec: ModelSpec, input_shape: tuple[int, ...],
               channels: dict[str, int] | None = None, extra: dict | None = None) -> Path:
    """``save_checkpoint`` from a model's state dict (e.g. one sent back by a worker process)."""
    from netadapt.inputs import ExampleInputs

    state = {k: _compact(v) for k, v in state.items()}
    shapes = {}
    if isinstance(input_shape, ExampleInputs):  # several inputs or integer ones: each one's shape and type
        shapes["inputs"] = input_shape.to_dict()
        input_shape = input_shape.tensors[0].shape
    return atomic_save({
        "format": FORMAT,
        "spec": spec.to_dict(),
        "input_shape": [int(d) for d in input_shape],
        **shapes,
        "channels": {k: int(v) for k, v in (channels or {}).items()},
        "state_dict": state,
        "extra": dict(extra or {}),
    }, path)


def read_checkpoint(path) -> dict:
    """Read a checkpoint's raw content safely (no code is unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    if not os.access(path, os.R_OK):
        raise UserError(f"checkpoint {path} is not readable")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols: one line, not three
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):
            raise UserError(f"checkpoint {path} holds arbitrary Python objects; refused to load it "
                            "(netadapt reads only weights and plain data)") from exc
        raise UserError(f"checkpoint {path} is not a file written by torch.save (plain pickles and other "
                        "data are refused, never executed)") from exc
    except Exception as exc:  # zip/EOF/format errors from torch.load vary by version
        raise UserError(f"checkpoint {path} is not a readable PyTorch file ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path} is not a netadapt checkpoint (save models with netadapt train, "
                        "or see README: bring your own model)")
    return data


def load_weights(model: nn.Module, state: dict) -> None:
    """``model.load_state_dict(state)`` for a plain dict of tensors read back from a file.

    A state dict carries per-module version numbers (``_metadata``) that a tensor-only copy loses;
    some modules refuse to load without them (torchvision's MNASNet raises on ``version=None``).
    The model's own versions are the right ones: it was built by the same code.
    """
    from collections import OrderedDict

    state = OrderedDict(state)
    metadata = getattr(model.state_dict(), "_metadata", None)
    if metadata is not None:
        state._metadata = metadata
    model.load_state_dict(state)


def build_model(spec: ModelSpec, input_shape: tuple[int, ...], channels: dict[str, int], state: dict) -> nn.Module:
    """The model of ``spec`` shrunk to ``channels`` (groups as analysed at ``input_shape``), with ``state``
    loaded, in eval mode.

    Raises:
        RuntimeError: ``state`` does not fit the shrunk model.
    """
    from netadapt.pruning import apply_channels

    model = spec.build()
    if channels:
        apply_channels(model, input_shape, channels)
    load_weights(model, state)
    return model.eval()


def stored_inputs(data: dict):
    """The inputs a checkpoint's network was analysed at: its shape, or ``ExampleInputs`` of zeros."""
    if data.get("inputs"):
        from netadapt.inputs import ExampleInputs

        return ExampleInputs.from_dict(data["inputs"])
    return tuple(data["input_shape"])


def load_checkpoint(path, spec: ModelSpec | None = None) -> LoadedCheckpoint:
    """Rebuild the model stored at ``path``.

    Args:
        path: the checkpoint file.
        spec: if given, the architecture the caller expects; a checkpoint of another architecture
            is refused with a clear error.
    """
    data = read_checkpoint(path)
    stored = ModelSpec.from_dict(data["spec"])
    if stored.name == "task":
        raise UserError(f"{path} holds a model pruned through netadapt.prune, whose class netadapt cannot build: "
                        "rebuild it in Python with netadapt.load(run_dir, YourModel())")
    if spec is not None and (spec.name != stored.name or
                             {**stored.kwargs, **spec.kwargs} != stored.kwargs):
        raise UserError(f"checkpoint {path} is for model {stored.name} {stored.kwargs}, "
                        f"not {spec.name} {spec.kwargs}")
    input_shape = stored_inputs(data)
    channels = dict(data.get("channels") or {})
    try:
        model = build_model(stored, input_shape, channels, data["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise UserError(f"checkpoint {path} does not match architecture {stored.name}: "
                        f"{first[1].strip() if len(first) > 1 else first[0]}") from exc
    model.eval()
    return LoadedCheckpoint(model=model, spec=stored, input_shape=input_shape, channels=channels,
                            extra=dict(data.get("extra") or {}))
