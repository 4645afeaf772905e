"""Where training runs: the CPU (default) or a GPU through PyTorch, independent of the device measured.

Latency is always measured on the target device through ONNX Runtime; the SGD steps of training and
fine-tuning can run elsewhere, e.g. on the workstation's GPU while the table describes a phone's CPU.
Models are moved to the training device for the duration of a call and back afterwards, so everything
else (pruning, export, the table) keeps working on CPU tensors.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from netadapt.errors import UserError


def training_device(name: str | torch.device | None) -> torch.device:
    """The torch device ``name`` names (``cpu``, ``cuda``, ``cuda:1``, ``mps``), checked to be usable.

    Raises:
        UserError: an unknown name, or a GPU this PyTorch cannot reach.
    """
    if name is None:
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"unknown training device {str(name)!r}; use cpu, cuda or cuda:<index>") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"training device {str(name)!r}: this PyTorch ({torch.__version__}) sees no CUDA GPU; "
                            "install a CUDA build of torch or train on cpu")
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise UserError(f"training device {str(name)!r}: only {torch.cuda.device_count()} CUDA GPU(s) here")
    elif device.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise UserError(f"training device {str(name)!r}: this PyTorch has no usable MPS backend")
    elif device.type != "cpu":
        raise UserError(f"unsupported training device {str(name)!r}; use cpu, cuda or cuda:<index>")
    return device


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model with neither)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


@contextmanager
def placed(device: torch.device | None, *models: nn.Module | None) -> Iterator[None]:
    """Move ``models`` (``None`` entries skipped) to ``device`` for the block, back to where they were after;
    a ``None`` device leaves them where they are."""
    homes = [(m, model_device(m)) for m in models if m is not None and device is not None]
    try:
        for m, _ in homes:
            m.to(device)
        yield
    finally:
        for m, home in homes:
            m.to(home)


def to_model(model: nn.Module, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``tensors`` on ``model``'s device (unchanged when already there)."""
    device = model_device(model)
    return tuple(t.to(device, non_blocking=True) for t in tensors)
