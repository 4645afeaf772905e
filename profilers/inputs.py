"""A model's inputs as the device receives them: shape, element type, and an integer input's values.

Most models take one float tensor, described by its shape alone (``(1, 3, 32, 32)``). Others take several
inputs, or integer ones (token ids, whose values decide what an embedding reads): those are described by a
tuple of :class:`ModelInput`. Every function of the profilers that takes an ``input_shape`` takes either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lut.errors import UserError

#: ONNX Runtime's element type names -> NumPy dtype names.
ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
             "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
             "tensor(bool)": "bool"}


@dataclass(frozen=True)
class ModelInput:
    """One input of a model.

    Attributes:
        shape: its fixed shape (the batch first).
        dtype: its NumPy element type name (``float32``, ``int64``, ...).
        values: for an integer or boolean input, its values in row-major order (what the device is fed: an
            embedding's cost does not depend on them, but a mask's may); None feeds zeros. Float inputs are
            fed random normal values.
        name: the input's name in exported graphs (None: matched by position).
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    values: tuple | None = None
    name: str | None = None

    @property
    def is_float(self) -> bool:
        return np.dtype(self.dtype).kind == "f"

    def describe(self) -> str:
        shape = "x".join(map(str, self.shape))
        return shape if self.dtype == "float32" else f"{shape} {self.dtype}"


def model_inputs(input_shape) -> tuple[ModelInput, ...]:
    """The inputs an ``input_shape`` argument describes: a shape (one float input), ModelInputs, or an object
    that describes itself with ``spec()`` (``netadapt.inputs.ExampleInputs``)."""
    if hasattr(input_shape, "spec"):
        return tuple(input_shape.spec())
    items = tuple(input_shape)
    if items and all(isinstance(i, ModelInput) for i in items):
        return items
    if all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in items):
        return (ModelInput(tuple(int(d) for d in items)),)
    raise TypeError(f"an input shape is a tuple of ints or of ModelInput, not {input_shape!r}")


def single_shape(input_shape) -> tuple[int, ...] | None:
    """The shape of a model's only input when it is a float input, else None."""
    inputs = model_inputs(input_shape)
    if len(inputs) == 1 and inputs[0].is_float:
        return inputs[0].shape
    return None


def describe(input_shape) -> str:
    """``1x3x32x32``, or each input's shape and type, comma-separated."""
    return ", ".join(i.describe() for i in model_inputs(input_shape))


def feed(spec: ModelInput, dtype: str, rng: np.random.Generator) -> np.ndarray:
    """The array a device is fed for one input: random normal for floats, the stored values (or zeros)
    for integers and booleans."""
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(spec.shape).astype(dtype)
    if spec.values is None:
        return np.zeros(spec.shape, dtype=dtype)
    return np.asarray(spec.values).reshape(spec.shape).astype(dtype)


def input_feeds(session, input_shape, seed: int = 0) -> dict:
    """Inputs for a session: one array per input the session declares, in order, from ``input_shape``.

    Raises:
        UserError: the session takes another number of inputs, another shape, or an unsupported type.
    """
    specs = model_inputs(input_shape)
    inputs = session.get_inputs()
    if len(inputs) != len(specs):
        if len(specs) == 1:
            raise UserError(f"a model with {len(inputs)} inputs cannot be timed on one input of shape "
                            f"{describe(specs)}")
        raise UserError(f"the model takes {len(inputs)} inputs, not the {len(specs)} given ({describe(specs)})")
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp, spec in zip(inputs, specs):
        declared = list(inp.shape)
        if len(declared) != len(spec.shape) or any(
                isinstance(d, int) and d != s for d, s in zip(declared, spec.shape)):
            raise UserError(f"input shape {tuple(spec.shape)} does not fit the model's input "
                            f"{inp.name!r} of shape {tuple(declared)}")
        dtype = ORT_TYPES.get(inp.type)
        if dtype is None:
            raise UserError(f"unsupported model input type {inp.type}")
        if len(specs) == 1 and np.dtype(dtype).kind != "f" and spec.values is None and spec.is_float:
            raise UserError(f"unsupported model input type {inp.type}")
        feeds[inp.name] = feed(spec, dtype, rng)
    return feeds
