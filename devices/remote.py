"""A device on another machine, reached through its netadapt agent (``netadapt agent``).

Named ``remote:http://HOST:PORT`` wherever a device name is taken. Settings ride in the URL's query:
``provider`` (default CPUExecutionProvider), ``optimization`` (all), ``device_id`` (a GPU index for the
provider), ``timeout`` (seconds one request may take, default 600); the intra-op threads come from
``--threads``. The token is read from $NETADAPT_AGENT_TOKEN. Only the Python standard library talks
HTTP here; ``https://`` works when TLS sits in front of the agent.

Every failure to reach the agent (refused connection, wrong token, timeout, a connection broken
mid-request) is a ``DeviceUnavailable`` with one line, so the CLI exits 2; the lookup table stores a
row only once its measurement came back, so running the command again resumes.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from devices.base import Device
from devices.errors import DeviceUnavailable
from lut.errors import UserError

TOKEN_ENV = "NETADAPT_AGENT_TOKEN"
PREFIX = "remote:"
_QUERY = ("provider", "optimization", "device_id", "timeout")
_OPT_LEVELS = ("disable", "basic", "extended", "all")


class RemoteRunError(RuntimeError):
    """The agent's ONNX Runtime could not load or run a graph (as a local ONNX Runtime error would)."""


class UnknownSession(LookupError):
    """The agent no longer holds a model loaded for paired runs."""


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


class RemoteDevice(Device):
    """ONNX Runtime on the machine an agent runs on.

    Args:
        url: ``remote:http://HOST:PORT[?provider=...&optimization=...&device_id=...&timeout=...]`` (the
            ``remote:`` prefix may be left out).
        threads: intra-op threads of the agent's sessions.
    """

    name = "remote"
    profiler_kind = "remote"

    def __init__(self, url: str, threads: int = 1):
        text = url.removeprefix(PREFIX)
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"malformed remote device {url!r}: expected remote:http://HOST:PORT")
        try:
            parts.port  # noqa: B018 (parsing the port is the check)
        except ValueError as exc:
            raise UserError(f"malformed remote device {url!r}: {exc}") from exc
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(query) - set(_QUERY))
        if unknown:
            raise UserError(f"remote device {url!r}: unknown setting {unknown[0]!r}; valid: {', '.join(_QUERY)}")
        if int(threads) < 1:
            raise UserError(f"threads must be >= 1 for a remote device (got {threads})")
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.provider = query.get("provider", "CPUExecutionProvider")
        self.optimization = query.get("optimization", "all")
        if self.optimization not in _OPT_LEVELS:
            raise UserError(f"remote device {url!r}: unknown optimization {self.optimization!r}; "
                            f"valid: {', '.join(_OPT_LEVELS)}")
        try:
            self.device_id = int(query["device_id"]) if "device_id" in query else None
            self.timeout = float(query.get("timeout", 600))
        except ValueError as exc:
            raise UserError(f"remote device {url!r}: device_id and timeout must be numbers") from exc
        if self.timeout <= 0:
            raise UserError(f"remote device {url!r}: timeout must be > 0")
        self.threads = int(threads)
        self._info: dict | None = None
        self.waiting_timer = None  # a paired-run timer waiting for its partner (profilers.remote_profiler)

    # ---- HTTP ----

    def settings(self) -> dict:
        """The query parameters every request carries."""
        params = {"provider": self.provider, "threads": self.threads, "optimization": self.optimization}
        if self.device_id is not None:
            params["device_id"] = self.device_id
        return params

    def request(self, method: str, path: str, params: dict | None = None, body: bytes | None = None) -> bytes:
        """One request to the agent; the reply's body.

        Raises:
            DeviceUnavailable: the agent cannot be reached, refuses the token, times out or drops the
                connection.
            UserError: the agent refuses the request (bad model, too large).
            RemoteRunError: the agent's ONNX Runtime cannot run the graph.
            UnknownSession: a paired-run model is no longer loaded there.
        """
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise DeviceUnavailable(f"device {self.name!r} needs the agent's token in ${TOKEN_ENV}")
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, data=body, method=method, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"})
        where = f"the agent at {self.base}"
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as reply:
                return reply.read()
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code in (401, 403):
                raise DeviceUnavailable(f"{where} refused the token (HTTP {exc.code}): set ${TOKEN_ENV} to the "
                                        "token the agent was started with") from None
            if exc.code == 413:
                raise UserError(f"{where} refused a {len(body or b'')}-byte request: {detail}") from None
            if exc.code == 400:
                raise UserError(f"{where} refused the request: {detail}") from None
            if exc.code == 422:
                raise RemoteRunError(f"{where}: {detail}") from None
            if exc.code == 404 and path == "/alternate":
                raise UnknownSession(detail) from None
            raise DeviceUnavailable(f"{where} failed (HTTP {exc.code}): {detail}") from None
        except TimeoutError:
            raise DeviceUnavailable(f"{where} did not answer within {self.timeout:g} s (raise it with "
                                    "?timeout=SECONDS in the device URL)") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise DeviceUnavailable(f"{where} did not answer within {self.timeout:g} s") from None
            raise DeviceUnavailable(f"{where} is unreachable: {_one_line(exc.reason)}") from None
        except (OSError, http.client.HTTPException) as exc:
            why = _one_line(exc) or type(exc).__name__
            raise DeviceUnavailable(f"{where} dropped the connection mid-request ({why}); is it still running? "
                                    "Re-run the command to resume") from None

    def request_json(self, method: str, path: str, params: dict | None = None, body: bytes | None = None) -> dict:
        return self._json(self.request(method, path, params, body), path)

    def _json(self, data: bytes, path: str) -> dict:
        try:
            return json.loads(data)
        except ValueError:
            raise DeviceUnavailable(f"the agent at {self.base} answered {path} with something other than "
                                    "JSON: is it a netadapt agent?") from None

    def send_model(self, path: str, model: bytes, params: dict | None = None) -> bytes:
        """POST a serialized model with the device's settings (and ``params``); refused locally when it
        is larger than the agent accepts."""
        limit = self.info().get("max_bytes")
        if limit is not None and len(model) > int(limit):
            raise UserError(f"a {len(model)}-byte model is over the limit of the agent at {self.base} "
                            f"({limit} bytes; raise its --max-bytes)")
        return self.request("POST", path, {**self.settings(), **(params or {})}, bytes(model))

    def send_model_json(self, path: str, model: bytes, params: dict | None = None) -> dict:
        """``send_model`` for a JSON reply."""
        return self._json(self.send_model(path, model, params), path)

    def info(self) -> dict:
        """The agent's ``/info`` for this device's settings (asked once)."""
        if self._info is None:
            info = self.request_json("GET", "/info", self.settings())
            if info.get("agent") != "netadapt":
                raise DeviceUnavailable(f"{self.base} is not a netadapt agent")
            self._info = info
        return self._info

    # ---- Device ----

    def available(self) -> tuple[bool, str]:
        try:
            info = self.info()
        except UserError as exc:
            return False, str(exc)
        if info.get("fingerprint") is None:
            return False, info.get("reason") or f"{self.provider} is not available on the agent"
        return True, ""

    def fingerprint(self) -> dict[str, str | int]:
        """The agent's ONNX Runtime device fingerprint (hardware, provider, threads, version), marked
        remote; the URL is left out, so a board keeps its rows whatever tunnel reaches it."""
        ok, why = self.available()
        if not ok:
            raise DeviceUnavailable(f"device {self.base} is not available: {why}")
        fp = dict(self.info()["fingerprint"])
        fp.update(kind="remote", name="remote")
        return fp

    def create_session(self, model: bytes | str, optimization: str | None = None):
        raise DeviceUnavailable("a remote device runs models on its agent; time them with its profiler")

    def optimize(self, model: bytes, weights: bool = True):
        """The agent's optimised graph, always with its weights (an inspection of it runs on the agent)."""
        import onnx

        return onnx.load_model_from_string(self.send_model("/optimize", bytes(model)))

    def inspection_session(self, model: bytes):
        """A stand-in for a session over an optimised graph: it is run on the agent, since the graph may
        hold kernels (layouts, providers) that only the agent's machine runs."""
        return RemoteInspection(self, bytes(model))

    def __repr__(self) -> str:
        return f"RemoteDevice({self.base!r}, provider={self.provider!r}, threads={self.threads})"


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read() or b"{}")
        detail = data.get("detail") if isinstance(data, dict) else None
    except (ValueError, OSError, http.client.HTTPException):
        detail = None
    return _one_line(detail if isinstance(detail, str) else exc.reason or f"HTTP {exc.code}")


# ONNX element types of a model input, as ONNX Runtime names them (profilers.sessions times these three).
_INPUT_TYPES = {1: "tensor(float)", 10: "tensor(float16)", 11: "tensor(double)"}


class _Arg:
    def __init__(self, name: str, shape: list, type_: str):
        self.name, self.shape, self.type = name, shape, type_


class RemoteInspection:
    """What ``profilers.units.graph_units`` uses of an ONNX Runtime session (``get_inputs``,
    ``get_outputs``, ``run``), answered by the agent: the outputs come back as their shapes and element
    types, with the values of small integer tensors (floats are keyed by shape only)."""

    def __init__(self, device: RemoteDevice, model: bytes):
        import onnx

        self.device, self.model = device, model
        proto = onnx.load_model_from_string(model)
        stored = {i.name for i in proto.graph.initializer}
        self._inputs = []
        for value in proto.graph.input:
            if value.name in stored:
                continue
            tensor = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim]
            self._inputs.append(_Arg(value.name, dims, _INPUT_TYPES.get(tensor.elem_type, "tensor(other)")))
        self._outputs = [_Arg(o.name, [], "") for o in proto.graph.output]

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def run(self, output_names, feeds: dict):
        import numpy as np

        if len(feeds) != 1:
            raise UserError(f"a remote device inspects models with one input, not {len(feeds)}")
        (array,) = feeds.values()
        shape = "x".join(str(int(d)) for d in array.shape)
        reply = self.device.send_model_json("/inspect", self.model, {"input_shape": shape})
        arrays = {}
        for out in reply["outputs"]:
            dtype = np.dtype(out["dtype"])
            if "values" in out:
                arrays[out["name"]] = np.asarray(out["values"], dtype=dtype).reshape(out["shape"])
            else:  # only the shape and type are read: a zero-stride view costs no memory
                arrays[out["name"]] = np.broadcast_to(np.zeros((), dtype=dtype), tuple(out["shape"]))
        return [arrays[o.name] for o in self._outputs]
