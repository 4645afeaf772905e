"""The abstract device: where a model runs, and a stable identity for what was measured there."""

from __future__ import annotations

import abc

from lut.fingerprint import fingerprint_id_of


class Device(abc.ABC):
    """A place to run ONNX models, e.g. the host CPU through ONNX Runtime with one thread.

    Attributes:
        name: the registry name (``cpu``, ``cuda``, ``fake``, ...).
    """

    name: str = "device"

    # The profiler kind that times this device (see profilers.registry).
    profiler_kind: str = "ort"

    # Whether the device's latencies carry no noise (a simulated device): a budget is then decided on the
    # latency itself, with no margin for measurement noise.
    exact: bool = False

    # Whether ``optimize`` takes graphs whose large weights are zero references (devices.zero_weights);
    # other devices are handed the zeros written out.
    fills_zero_weights: bool = False

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
    def create_session(self, model: bytes | str, optimization: str | None = None):
        """An ``onnxruntime.InferenceSession`` for a serialized model or a model file path.

        Args:
            model: the model.
            optimization: a graph optimisation level (disable, basic, extended, all) instead of the
                device's own; ``disable`` runs an already optimised graph as it is.

        Raises:
            DeviceUnavailable: the device cannot run on this machine.
        """

    @abc.abstractmethod
    def optimize(self, model: bytes, weights: bool = True):
        """The graph this device really runs for ``model`` (an ``onnx.ModelProto``): the exported graph
        after the device's own rewrites (batch-norm folded, activations fused, layout changes).

        ``weights=False`` lets a device leave large stored tensors' data out (their dimensions kept, their
        data marked external), where that is cheaper: the graph is then only inspected, never run."""

    def inspection_session(self, model: bytes):
        """A session that runs an optimised graph from ``optimize`` as it is, to read its tensors."""
        return self.create_session(model, optimization="disable")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
