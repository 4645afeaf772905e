"""The abstract device: where a model runs, and a stable identity for what was measured there."""

from __future__ import annotations

import abc
import hashlib
import json


def fingerprint_id_of(fingerprint: dict) -> str:
    """A short, stable id for a fingerprint: the first 16 hex digits of sha256 over its sorted JSON."""
    text = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Device(abc.ABC):
    """A place to run ONNX models, e.g. the host CPU through ONNX Runtime with one thread.

    Attributes:
        name: the registry name (``cpu``, ``cuda``, ``fake``, ...).
    """

    name: str = "device"

    # The profiler kind that times this device (see profilers.registry).
    profiler_kind: str = "ort"

    @abc.abstractmethod
    def available(self) -> tuple[bool, str]:
        """Whether the device can run here, and if not, why (empty reason when available)."""

    @abc.abstractmethod
    def fingerprint(self) -> dict[str, str | int]:
        """Everything that changes latency on this device, as a JSON-serialisable flat dict.

        Measurements from two devices with different fingerprints are never mixed.
        """

    def fingerprint_id(self) -> str:
        """A short hash of ``fingerprint()``."""
        return fingerprint_id_of(self.fingerprint())

    @abc.abstractmethod
    def create_session(self, model: bytes | str):
        """An ``onnxruntime.InferenceSession`` for a serialized model or a model file path.

        Raises:
            DeviceUnavailable: the device cannot run on this machine.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
