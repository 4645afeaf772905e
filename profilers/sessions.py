"""A whole model's session on a device and the inputs it is timed on (``profilers.inputs``)."""

from __future__ import annotations

import os

from profilers.inputs import input_feeds

__all__ = ["input_feeds", "model_session", "model_source"]


def model_source(model) -> bytes | str:
    """What ``create_session`` takes: a path, serialized bytes, or an ``onnx.ModelProto`` serialized."""
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    return model.SerializeToString()


def model_session(device, model, input_shape, seed: int = 0):
    """(session, feeds) for timing a whole model on ``device``."""
    session = device.create_session(model_source(model))
    return session, input_feeds(session, input_shape, seed)
