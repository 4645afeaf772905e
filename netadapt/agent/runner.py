"""What the agent does with the ONNX bytes it is sent: check them, time them, optimise them, inspect them.

The timing is the local profiler's own (``OrtProfiler.time_runs`` on an ``OrtDevice``): same warm-up,
repeats, minimum time and garbage-collector handling. Models for paired comparisons stay loaded in a
small cache, so the client can ask for batch after batch of alternated runs.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections import OrderedDict

import numpy as np

from netadapt.errors import UserError

# Element types a node graph's inputs may have; floats are fed random values, the rest zeros.
_ORT_NUMPY = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
              "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16,
              "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16,
              "tensor(bool)": np.bool_}
OPT_LEVELS = ("disable", "basic", "extended", "all")
# Integer tensors up to this many elements are sent back by value (lut.nodekey.MAX_STORED_VALUES).
_MAX_VALUES = 4096
_SESSIONS_KEPT = 8


class BadRequest(UserError):
    """The request cannot be served as sent (HTTP 400)."""


class RunFailed(RuntimeError):
    """ONNX Runtime refused or failed to run the graph (HTTP 422)."""


def check_model(data: bytes):
    """Parse ``data`` as an ONNX model and refuse what the agent never runs.

    Refused: bytes that are not an ONNX model, a model without nodes, and tensors stored as external
    data (a path on the agent's disk that ONNX Runtime would read).

    Raises:
        BadRequest: with a one-line reason.
    """
    import onnx
    from google.protobuf.message import DecodeError

    if not data:
        raise BadRequest("empty body: send the serialized ONNX model as the request body")
    try:
        model = onnx.load_model_from_string(bytes(data))
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise BadRequest(f"the body is not an ONNX model ({_line(exc)})") from exc
    if not model.graph.node:
        raise BadRequest("the body is not an ONNX model with a graph (no nodes)")
    graphs = [model.graph] + [f for f in model.functions]
    while graphs:
        graph = graphs.pop()
        tensors = list(getattr(graph, "initializer", []))
        tensors += [s.values for s in getattr(graph, "sparse_initializer", [])]
        for node in graph.node:
            for attr in node.attribute:
                if attr.HasField("t"):
                    tensors.append(attr.t)
                tensors.extend(attr.tensors)
                if attr.HasField("g"):
                    graphs.append(attr.g)
                graphs.extend(attr.graphs)
        for tensor in tensors:
            if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
                raise BadRequest(f"tensor {tensor.name!r} refers to external data; send a self-contained model")
    return model


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:300]


def node_feeds(session, seed: int = 0) -> dict:
    """Feeds for every input of a node graph: small random floats (as ``profilers.node_graphs``), zeros
    for the other element types.

    Raises:
        BadRequest: an input has a dynamic shape or an unsupported type.
    """
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in session.get_inputs():
        if not all(isinstance(d, int) for d in inp.shape):
            raise BadRequest(f"input {inp.name!r} has a dynamic shape {tuple(inp.shape)}; node graphs need "
                             "fixed shapes")
        if inp.type not in _ORT_NUMPY:
            raise BadRequest(f"input {inp.name!r} has the unsupported type {inp.type}")
        dtype = np.dtype(_ORT_NUMPY[inp.type])
        shape = tuple(inp.shape)
        feeds[inp.name] = ((rng.standard_normal(shape) * 0.1).astype(dtype) if dtype.kind in "fc"
                           else np.zeros(shape, dtype=dtype))
    return feeds


class Runner:
    """The agent's work, one request at a time.

    Args:
        label: the operator's name for the device, added to every fingerprint.
    """

    def __init__(self, label: str = ""):
        self.label = label
        self.lock = threading.Lock()
        self._devices: dict[tuple, object] = {}
        self._sessions: OrderedDict[str, tuple] = OrderedDict()

    # ---- devices ----

    def providers(self) -> list[str]:
        import onnxruntime as ort

        return list(ort.get_available_providers())

    def device(self, provider: str, threads: int, optimization: str, device_id: int | None):
        """The ``OrtDevice`` for these settings.

        Raises:
            BadRequest: the provider is not available here or a setting is out of range.
        """
        from devices.ort import OrtDevice

        if optimization not in OPT_LEVELS:
            raise BadRequest(f"unknown optimisation level {optimization!r}; valid: {', '.join(OPT_LEVELS)}")
        if not 1 <= threads <= 256:
            raise BadRequest(f"threads must be within 1..256 (got {threads})")
        if provider not in self.providers():
            raise BadRequest(f"provider {provider} is not available on the agent; it has "
                             f"{', '.join(self.providers())}")
        key = (provider, threads, optimization, device_id)
        if key not in self._devices:
            options = {} if device_id is None else {"device_id": int(device_id)}
            self._devices[key] = OrtDevice(provider, options, threads=threads, optimization=optimization,
                                           name="remote")
        return self._devices[key]

    def info(self, provider: str, threads: int, optimization: str, device_id: int | None) -> dict:
        import onnxruntime as ort

        from netadapt.agent.identity import agent_fingerprint

        reply = {"agent": "netadapt", "protocol": 1, "onnxruntime": ort.__version__,
                 "providers": self.providers()}
        try:
            reply["fingerprint"] = agent_fingerprint(self.device(provider, threads, optimization, device_id),
                                                     self.label)
        except BadRequest as exc:
            reply["fingerprint"], reply["reason"] = None, str(exc)
        return reply

    def _session(self, device, data: bytes, optimization: str | None = None):
        try:
            return device.create_session(bytes(data), optimization=optimization)
        except UserError:
            raise
        except Exception as exc:  # onnxruntime's own error types vary by version and provider
            raise RunFailed(f"onnxruntime could not load the graph: {_line(exc)}") from exc

    # ---- timing ----

    def time_graph(self, device, data: bytes, kind: str, warmup: int, repeats: int, min_time_ms: float,
                   input_shape: tuple[int, ...] | None = None, seed: int = 0) -> list[float]:
        """Timed samples (milliseconds) of a node graph (``kind="node"``: run as it is, optimisation off)
        or of a whole model (``kind="model"``: optimised by the device, one random input)."""
        from profilers.base import ProfileConfig
        from profilers.ort_profiler import OrtProfiler
        from profilers.sessions import input_feeds

        check_model(data)
        profiler = OrtProfiler(device, ProfileConfig(warmup=warmup, repeats=repeats, min_time_ms=min_time_ms))
        if kind == "node":
            session = self._session(device, data, optimization="disable")
            feeds = node_feeds(session, seed)
        else:
            if input_shape is None:
                raise BadRequest("timing a whole model needs input_shape (e.g. 1x3x32x32)")
            session = self._session(device, data)
            feeds = input_feeds(session, input_shape, seed)
        try:
            return profiler.time_runs(session, feeds)
        except Exception as exc:  # onnxruntime's run errors
            raise RunFailed(f"onnxruntime could not run the graph: {_line(exc)}") from exc

    def optimize(self, device, data: bytes) -> bytes:
        """The graph ``device`` really runs for the model, serialized."""
        check_model(data)
        try:
            return device.optimize(bytes(data)).SerializeToString()
        except Exception as exc:
            raise RunFailed(f"onnxruntime could not optimise the model: {_line(exc)}") from exc

    def inspect(self, device, data: bytes, input_shape: tuple[int, ...], seed: int = 0) -> list[dict]:
        """Describe every output of an already optimised graph, loaded as it is: name, shape, element type,
        and the values of small non-float tensors (what ``profilers.units`` keys nodes by). The graph is run
        on one random input unless the shapes ONNX Runtime declares say everything (``declared_outputs``)."""
        from profilers.sessions import input_feeds
        from profilers.units import declared_outputs

        check_model(data)
        session = self._session(device, data, optimization="disable")
        feeds = input_feeds(session, input_shape, seed)
        declared = declared_outputs(session)  # float tensors of known shapes: nothing to run
        try:
            arrays = list(declared.values()) if declared is not None else session.run(None, feeds)
        except Exception as exc:
            raise RunFailed(f"onnxruntime could not run the graph: {_line(exc)}") from exc
        described = []
        for out, array in zip(session.get_outputs(), arrays):
            array = np.asarray(array)
            entry = {"name": out.name, "shape": [int(d) for d in array.shape], "dtype": str(array.dtype)}
            if array.dtype.kind not in "fc" and array.size <= _MAX_VALUES:
                entry["values"] = array.reshape(-1).tolist()
            described.append(entry)
        return described

    # ---- paired runs ----

    def load(self, device, data: bytes, input_shape: tuple[int, ...], seed: int = 0) -> str:
        """Keep a whole model loaded for ``alternate``; returns its id (the same bytes and settings give
        the same id)."""
        from profilers.sessions import input_feeds

        digest = hashlib.sha256(bytes(data))
        digest.update(repr((device.fingerprint(), tuple(input_shape), seed)).encode())
        sid = digest.hexdigest()[:24]
        if sid in self._sessions:
            self._sessions.move_to_end(sid)
            return sid
        check_model(data)
        session = self._session(device, data)
        self._sessions[sid] = (session, input_feeds(session, input_shape, seed))
        while len(self._sessions) > _SESSIONS_KEPT:
            self._sessions.popitem(last=False)
        return sid

    def has(self, sid: str) -> bool:
        return sid in self._sessions

    def alternate(self, ids: list[str], pairs: int, warmup: int) -> list[list[float]]:
        """Run the loaded models in turn, ``pairs`` times: A, B in even rounds and B, A in odd ones (as
        ``netadapt.latency.paired.compare_timers``); one time per model and round, in milliseconds."""
        loaded = [self._sessions[sid] for sid in ids]
        clock = time.perf_counter_ns
        times: list[list[float]] = [[] for _ in loaded]
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            for _ in range(warmup):
                for session, feeds in loaded:
                    session.run(None, feeds)
            for i in range(pairs):
                order = range(len(loaded)) if i % 2 == 0 else reversed(range(len(loaded)))
                for j in order:
                    session, feeds = loaded[j]
                    t0 = clock()
                    session.run(None, feeds)
                    times[j].append((clock() - t0) / 1e6)
        except Exception as exc:
            raise RunFailed(f"onnxruntime could not run the model: {_line(exc)}") from exc
        finally:
            if gc_enabled:
                gc.enable()
        return times
