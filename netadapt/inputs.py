"""A model's example inputs on the PyTorch side: what it is traced, exported and checked on.

Wherever the library takes an ``input_shape``, it takes either a shape (one float input, the (N, C, H, W) of an
image classifier) or :class:`ExampleInputs`, one batch as the device receives it: a tensor or a tuple of
tensors, integer token ids included. The functions here turn either into what each step needs: tensors to
trace and export, random tensors to compare PyTorch with ONNX Runtime, and the device's description of the
inputs (``profilers.inputs``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from netadapt.errors import UserError
from profilers.inputs import ModelInput, describe, model_inputs


@dataclass(frozen=True, eq=False)
class ExampleInputs:
    """One batch of a model's inputs, as ``model(*tensors)`` takes it.

    Attributes:
        tensors: the inputs, each with the batch first.
        names: their names in exported graphs.
    """

    tensors: tuple[torch.Tensor, ...]
    names: tuple[str, ...]

    @classmethod
    def of(cls, example, model: torch.nn.Module | None = None) -> "ExampleInputs":
        """The user's ``example_inputs`` (a tensor, or a tuple or list of tensors), named after the parameters
        of ``model.forward`` where they can be (``input`` for a lone tensor).

        Raises:
            UserError: anything else, an empty tuple, or tensors that do not share a batch size.
        """
        if isinstance(example, ExampleInputs):
            return example
        if isinstance(example, torch.Tensor):
            tensors = (example,)
        elif isinstance(example, (tuple, list)) and example and all(isinstance(t, torch.Tensor) for t in example):
            tensors = tuple(example)
        else:
            kind = type(example).__name__
            raise UserError(f"example_inputs must be a tensor or a tuple of tensors (one batch), not {kind}")
        if any(t.dim() == 0 for t in tensors):
            raise UserError("example_inputs must have a batch dimension first (a tensor of 0 dimensions was given)")
        if len({int(t.shape[0]) for t in tensors}) > 1:
            sizes = ", ".join(str(int(t.shape[0])) for t in tensors)
            raise UserError(f"example_inputs disagree on the batch size (first dimensions {sizes})")
        if any(t.is_complex() for t in tensors):
            raise UserError("example_inputs of complex type cannot be exported to ONNX")
        tensors = tuple(t.detach().cpu().clone() for t in tensors)
        return cls(tensors, _names(model, len(tensors)))

    @classmethod
    def zeros(cls, input_shape: tuple[int, ...]) -> "ExampleInputs":
        """One float input of ``input_shape``, all zeros (what a shape alone stands for)."""
        return cls((torch.zeros(tuple(input_shape)),), ("input",))

    @property
    def batch(self) -> int:
        return int(self.tensors[0].shape[0])

    def spec(self) -> tuple[ModelInput, ...]:
        """The device's description: shapes and types, integer inputs with their values."""
        return tuple(ModelInput(tuple(int(d) for d in t.shape), str(t.numpy().dtype),
                                None if t.is_floating_point() else tuple(t.reshape(-1).tolist()), name)
                     for t, name in zip(self.tensors, self.names))

    def to_dict(self) -> list[dict]:
        """Shapes and types, as a run folder records them."""
        return [{"name": n, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
                for t, n in zip(self.tensors, self.names)]

    @classmethod
    def from_dict(cls, items: list[dict]) -> "ExampleInputs":
        """Zero tensors of the recorded shapes and types (enough to trace and rebuild a network)."""
        return cls(tuple(torch.zeros(i["shape"], dtype=getattr(torch, i["dtype"])) for i in items),
                   tuple(i["name"] for i in items))


def _names(model, count: int) -> tuple[str, ...]:
    if count == 1:
        return ("input",)
    try:
        params = [p for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)] if model is not None else []
    except (TypeError, ValueError):
        params = []
    if len(params) >= count:
        return tuple(p.name for p in params[:count])
    return tuple(f"input_{i}" for i in range(count))


def as_example(inputs) -> ExampleInputs:
    """``ExampleInputs`` of an ``input_shape`` argument (a shape: one float input of zeros)."""
    if isinstance(inputs, ExampleInputs):
        return inputs
    return ExampleInputs.zeros(tuple(inputs))


def device_inputs(inputs):
    """What the device-side functions take for an ``input_shape`` argument: the shape itself, or the inputs'
    ``profilers.inputs.ModelInput`` tuple."""
    if isinstance(inputs, ExampleInputs):
        return inputs.spec()
    return tuple(inputs)


def inputs_key(inputs) -> tuple:
    """A hashable description of the inputs (for caches keyed by architecture and input)."""
    return tuple(model_inputs(device_inputs(inputs)))


def shape_text(inputs) -> str:
    """``1x3x32x32``, or each input's shape and type."""
    return describe(device_inputs(inputs))


def batch_size(inputs) -> int:
    return as_example(inputs).batch


def trace_args(inputs) -> tuple[torch.Tensor, ...]:
    """Inputs to trace a network on in training mode: batch-norm needs more than one value per channel, so a
    batch of one is repeated to two (a shape alone: two images of zeros)."""
    if not isinstance(inputs, ExampleInputs):
        return (torch.zeros((2, *tuple(inputs)[1:])),)
    if inputs.batch > 1:
        return inputs.tensors
    return tuple(torch.cat([t, t]) for t in inputs.tensors)


def random_args(inputs, seed: int = 0, batch: int | None = None) -> tuple[torch.Tensor, ...]:
    """Inputs to compare two computations on: float inputs random normal (seeded), integer inputs as given;
    ``batch`` repeats or cuts them to that many."""
    generator = torch.Generator().manual_seed(seed)
    if not isinstance(inputs, ExampleInputs):
        shape = tuple(inputs)
        return (torch.randn((batch or shape[0], *shape[1:]), generator=generator),)
    out = []
    for t in inputs.tensors:
        if batch is not None and batch != inputs.batch:
            t = t.repeat((-(-batch // inputs.batch),) + (1,) * (t.dim() - 1))[:batch]
        out.append(torch.randn(t.shape, generator=generator, dtype=t.dtype) if t.is_floating_point() else t)
    return tuple(out)


def export_args(inputs) -> tuple[torch.Tensor, ...]:
    """The tensors a network is exported on (a shape alone: zeros)."""
    return as_example(inputs).tensors


def input_names(inputs) -> list[str]:
    return list(as_example(inputs).names)


def normalized(inputs):
    """An ``input_shape`` argument as stored: ``ExampleInputs`` as they are, a shape as a tuple of ints."""
    if isinstance(inputs, ExampleInputs):
        return inputs
    return tuple(int(d) for d in inputs)
