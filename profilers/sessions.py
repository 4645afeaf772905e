"""A whole model's session on a device and the one random input it is timed on."""

from __future__ import annotations

import os

import numpy as np

from netadapt.errors import UserError

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


def model_source(model) -> bytes | str:
    """What ``create_session`` takes: a path, serialized bytes, or an ``onnx.ModelProto`` serialized."""
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    return model.SerializeToString()


def input_feeds(session, input_shape, seed: int = 0) -> dict:
    """A random input of ``input_shape`` for a session with exactly one float input.

    Raises:
        UserError: the model has another number of inputs, another input shape or an unsupported type.
    """
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise UserError(f"a model with {len(inputs)} inputs cannot be timed; netadapt needs exactly one")
    inp = inputs[0]
    declared = list(inp.shape)
    if len(declared) != len(input_shape) or any(
            isinstance(d, int) and d != s for d, s in zip(declared, input_shape)):
        raise UserError(f"input shape {tuple(input_shape)} does not fit the model's input "
                        f"{inp.name!r} of shape {tuple(declared)}")
    if inp.type not in _ORT_TYPES:
        raise UserError(f"unsupported model input type {inp.type}")
    rng = np.random.default_rng(seed)
    return {inp.name: rng.standard_normal(tuple(input_shape)).astype(_ORT_TYPES[inp.type])}


def model_session(device, model, input_shape, seed: int = 0):
    """(session, feeds) for timing a whole model on ``device``."""
    session = device.create_session(model_source(model))
    return session, input_feeds(session, input_shape, seed)
