"""A device backed by one ONNX Runtime execution provider.

Another provider (TensorRT, OpenVINO, CoreML, ...) is a small subclass: pass the provider name and its
options, and extend ``fingerprint()`` with whatever else identifies the hardware.
"""

from __future__ import annotations

import os
import threading

from devices.base import Device
from devices.errors import DeviceUnavailable
from devices.host import os_arch, processor_model
from lut.errors import UserError

_OPT_LEVELS = ("disable", "basic", "extended", "all")


class OrtDevice(Device):
    """Runs sessions on one ONNX Runtime execution provider.

    Args:
        provider: execution provider name, e.g. ``CPUExecutionProvider``.
        provider_options: options passed to that provider (e.g. ``{"device_id": 0}``).
        threads: intra-op threads.
        inter_op_threads: inter-op threads (only used by parallel execution; kept in the fingerprint).
        optimization: graph optimisation level: disable, basic, extended or all.
        name: registry name of the device.
        install_hint: what to install when the provider is missing (shown in the error).
    """

    fills_zero_weights = True  # optimize_with gives zero references one shared buffer

    def __init__(self, provider: str, provider_options: dict | None = None, *, threads: int = 1,
                 inter_op_threads: int = 1, optimization: str = "all", name: str = "ort",
                 install_hint: str = ""):
        if int(threads) < 1 or int(inter_op_threads) < 1:
            raise UserError(f"threads must be >= 1 for device {name!r} (got {threads}, {inter_op_threads})")
        if optimization not in _OPT_LEVELS:
            raise UserError(f"unknown optimisation level {optimization!r}; valid: {', '.join(_OPT_LEVELS)}")
        self.provider = provider
        self.provider_options = dict(provider_options or {})
        self.threads = int(threads)
        self.inter_op_threads = int(inter_op_threads)
        self.optimization = optimization
        self.name = name
        self.install_hint = install_hint

    def available(self) -> tuple[bool, str]:
        import onnxruntime as ort

        providers = ort.get_available_providers()
        if self.provider in providers:
            return True, ""
        reason = f"{self.provider} is not in onnxruntime's providers [{', '.join(providers)}]"
        if self.install_hint:
            reason += f"; {self.install_hint}"
        return False, reason

    def hardware(self) -> dict[str, str | int]:
        """Hardware identity; subclasses for accelerators add the accelerator's name."""
        return {"processor": processor_model()}

    def fingerprint(self) -> dict[str, str | int]:
        import onnxruntime as ort

        fp: dict[str, str | int] = {
            "kind": "ort",
            "name": self.name,
            "provider": self.provider,
            "onnxruntime": ort.__version__,
            "intra_op_threads": self.threads,
            "inter_op_threads": self.inter_op_threads,
            "execution_mode": "sequential",
            "graph_optimization": self.optimization,
            "os_arch": os_arch(),
        }
        fp.update(self.hardware())
        for key, value in sorted(self.provider_options.items()):
            fp[f"provider_option.{key}"] = value if isinstance(value, int) else str(value)
        return fp

    def session_options(self, optimization: str | None = None):
        """The ``onnxruntime.SessionOptions`` every session on this device uses (``optimization``
        overrides the graph optimisation level)."""
        import onnxruntime as ort

        levels = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = self.inter_op_threads
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = levels[optimization or self.optimization]
        opts.log_severity_level = 3  # errors only: keep warnings about unused initializers off the terminal
        return opts

    def create_session(self, model: bytes | str, optimization: str | None = None):
        import onnxruntime as ort

        ok, reason = self.available()
        if not ok:
            raise DeviceUnavailable(f"device {self.name!r} is not available here: {reason}")
        if not isinstance(model, (bytes, bytearray)):
            model = os.fspath(model)
            if not os.path.isfile(model):
                raise UserError(f"ONNX model file not found: {model}")
        session = ort.InferenceSession(
            model, sess_options=self.session_options(optimization),
            providers=[(self.provider, self.provider_options)])
        # ONNX Runtime silently falls back to the CPU when a provider fails to load its libraries.
        if session.get_providers()[0] != self.provider:
            raise DeviceUnavailable(
                f"device {self.name!r} is not available here: onnxruntime fell back from {self.provider} "
                f"to {session.get_providers()[0]} (missing libraries?)")
        return session

    def optimize(self, model: bytes, weights: bool = True):
        return optimize_with(model, self.session_options(), [(self.provider, self.provider_options)],
                             weights=weights)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(provider={self.provider!r}, threads={self.threads}, "
                f"options={self.provider_options!r})")


#: With ``weights=False``, stored tensors of at least this many bytes are left out of an optimised graph;
#: smaller ones (every integer tensor whose values a node key records among them) stay in it.
WEIGHTLESS_MIN_BYTES = 65536


def cpu_options(level):
    """Session options of one thread on the CPU at the graph optimisation ``level`` (an
    ``onnxruntime.GraphOptimizationLevel``), quiet: how a device that times nothing itself reads graphs."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = level
    opts.log_severity_level = 3
    return opts


def cpu_inspection_session(model: bytes):
    """A session of ``model`` on the CPU provider with no optimisation: its nodes as exported, for their shapes."""
    import onnxruntime as ort

    return ort.InferenceSession(bytes(model), sess_options=cpu_options(ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
                                providers=["CPUExecutionProvider"])


def optimize_with(model: bytes, options, providers, weights: bool = True):
    """Let ONNX Runtime optimise ``model`` with these session options and providers, and read back the
    graph it would run (``optimized_model_filepath``). Zero references (``devices.zero_weights``) are
    given zeros without copying them.

    Args:
        weights: read the stored tensors back too. Without them (False), every stored tensor of at least
            ``WEIGHTLESS_MIN_BYTES`` keeps its name, type and dimensions but refers to external data that
            no longer exists: ONNX Runtime writes them where nothing keeps them (``_Scratch``; a graph is
            inspected for its nodes' shapes, which do not need them; it cannot be run).
    """
    import warnings

    import onnx
    import onnxruntime as ort

    from devices import zero_weights

    scratch = _scratch()
    options.optimized_model_filepath = scratch.graph
    # kernels' weight layouts are made after the graph is written and never reach it: skip them
    options.add_session_config_entry("session.disable_prepacking", "1")
    options.log_severity_level = 3  # the NCHWc "hardware specific" warning is expected here
    if not weights:
        scratch.prepare()
        options.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                         scratch.sink_name)
        options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes",
                                         str(WEIGHTLESS_MIN_BYTES))  # read here: tests lower it
    model = bytes(model)
    names, values = zero_weights.ort_values(onnx.load_model_from_string(model))
    if names:  # zero references (a written candidate graph): one shared zero buffer stands for them all
        options.add_external_initializers(names, values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ort.InferenceSession(model, sess_options=options, providers=providers)
    return onnx.load(scratch.graph, load_external_data=weights)


class _Scratch:
    """A folder (one per thread, removed at exit) for the optimised graphs ONNX Runtime writes, with a sink
    for the weights left out of them: a link to the null device where the system allows one (writing
    MobileNetV1's 13 MB of weights to a real file adds about a quarter to each optimisation), else a file,
    overwritten each time."""

    sink_name = "weights.bin"

    def __init__(self):
        import tempfile

        self._dir = tempfile.TemporaryDirectory(prefix="netadapt-optimised-")
        self.graph = os.path.join(self._dir.name, "optimized.onnx")
        self._sink = os.path.join(self._dir.name, self.sink_name)
        self._links = True

    def prepare(self) -> None:
        """Put the link back: ONNX Runtime removes the weights file it wrote when the file reads as empty."""
        if self._links and not os.path.lexists(self._sink):
            try:
                os.symlink(os.devnull, self._sink)
            except (OSError, NotImplementedError):  # no links here (Windows without the right): a real file
                self._links = False


_SCRATCH = threading.local()


def _scratch() -> _Scratch:
    if getattr(_SCRATCH, "folder", None) is None or not os.path.isdir(os.path.dirname(_SCRATCH.folder.graph)):
        _SCRATCH.folder = _Scratch()
    return _SCRATCH.folder
