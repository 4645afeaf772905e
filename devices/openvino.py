"""Intel's OpenVINO on the host CPU, through ONNX Runtime's OpenVINO execution provider.

Two packages carry the provider (docs/openvino.md):

- ``onnxruntime-openvino``: a build of ONNX Runtime with the provider built in. It installs the module
  ``onnxruntime`` itself, so it goes in an environment of its own, never beside ``onnxruntime``.
- ``onnxruntime-ep-openvino`` (the ``openvino`` extra): a plug-in library beside ``onnxruntime`` 1.23 or
  newer, registered with ``onnxruntime.register_execution_provider_library``. It offers devices for Intel
  hardware only: on another vendor's CPU it loads and offers none.

OpenVINO compiles the whole graph it is given into one kernel, fusing what it can. The graph whose nodes the
lookup table keys on is therefore the exported graph after ONNX Runtime's basic, provider-independent
rewrites (constants and batch-norm folded), whose operators are all standard ONNX ones that OpenVINO runs; each
node is timed alone through OpenVINO. A sum of such nodes misses OpenVINO's fusions, so the table's estimate
of a whole model is rough here, and the budget is decided by measuring whole models, as on every device.
"""

from __future__ import annotations

import functools
import glob
import os
from importlib import metadata

from devices.errors import DeviceUnavailable
from devices.ort import OrtDevice, cpu_inspection_session, cpu_options, optimize_with
from lut.errors import UserError

PROVIDER = "OpenVINOExecutionProvider"
PLUGIN_PACKAGE = "onnxruntime-ep-openvino"
BUILTIN_PACKAGE = "onnxruntime-openvino"
INSTALL_HINT = (f"install {BUILTIN_PACKAGE} in an environment of its own (it replaces onnxruntime), or, on an "
                f"Intel CPU, {PLUGIN_PACKAGE} beside onnxruntime (pip install 'netadapt[openvino]')")
_PRECISIONS = ("FP32", "FP16", "ACCURACY")
_REGISTRATION = "netadapt-openvino"  # the name the plug-in library is registered under in this process
_registered: set[str] = set()  # plug-in libraries registered in this process (once each: a second fails)


class Route:
    """How this process reaches the provider: ``builtin`` (an ONNX Runtime built with it), ``plugin``
    (the plug-in library, with the ``onnxruntime.OrtEpDevice`` of the CPU it offers) or none, with why."""

    def __init__(self, kind: str | None, package: str = "", ep_device=None, reason: str = ""):
        self.kind = kind
        self.package = package
        self.ep_device = ep_device
        self.reason = reason


@functools.lru_cache(maxsize=1)
def route() -> Route:
    """Find the provider once per process (registering the plug-in library when that is the way)."""
    import onnxruntime as ort

    if PROVIDER in ort.get_available_providers():
        return Route("builtin", package=_package_version(BUILTIN_PACKAGE) or f"onnxruntime {ort.__version__}")
    plugin = _package_version(PLUGIN_PACKAGE)
    if not plugin:
        return Route(None, reason=f"{PROVIDER} is not in onnxruntime {ort.__version__}'s providers "
                                  f"[{', '.join(ort.get_available_providers())}]; {INSTALL_HINT}")
    return _plugin_route(ort, plugin)


def _plugin_route(ort, plugin: str) -> Route:
    if not hasattr(ort, "register_execution_provider_library"):
        return Route(None, reason=f"{plugin} needs onnxruntime 1.23 or newer to load (found {ort.__version__}); "
                                  f"{INSTALL_HINT}")
    try:
        import onnxruntime_ep_openvino

        library = onnxruntime_ep_openvino.get_library_path()
        if library not in _registered:
            ort.register_execution_provider_library(_REGISTRATION, library)
            _registered.add(library)
        offered = [d for d in ort.get_ep_devices() if d.ep_name == PROVIDER]
    except Exception as exc:  # noqa: BLE001 - a broken plug-in must read as a reason, not a traceback
        return Route(None, reason=f"{plugin} failed to load beside onnxruntime {ort.__version__}: "
                                  f"{' '.join(str(exc).split())}; {INSTALL_HINT}")
    cpus = [d for d in offered if d.ep_metadata.get("ov_device") == "CPU"]
    if cpus:
        return Route("plugin", package=plugin, ep_device=cpus[0])
    cpu_vendors = sorted({d.device.vendor or "unknown" for d in ort.get_ep_devices()
                          if d.device.type == ort.OrtHardwareDeviceType.CPU})
    return Route(None, reason=f"{plugin} loaded beside onnxruntime {ort.__version__} but offers no device for "
                              f"this CPU (vendor {', '.join(cpu_vendors) or 'unknown'}; it offers Intel devices "
                              f"only); install {BUILTIN_PACKAGE} in an environment of its own (it replaces "
                              f"onnxruntime)")


def _package_version(dist: str) -> str:
    try:
        return f"{dist} {metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        return ""


def openvino_version() -> str:
    """The OpenVINO runtime's version, read from the library the provider ships with, or ``unknown``."""
    import onnxruntime as ort

    folders = [os.path.join(os.path.dirname(ort.__file__), "capi")]
    try:
        import onnxruntime_ep_openvino

        folders.append(os.path.dirname(onnxruntime_ep_openvino.__file__))
    except ImportError:
        pass
    found = set()
    for folder in folders:
        for path in glob.glob(os.path.join(folder, "libopenvino.so.*")):
            suffix = os.path.basename(path)[len("libopenvino.so."):]
            if suffix.count(".") == 2:  # 2025.4.1 rather than the library's ABI number
                found.add(suffix)
    return ", ".join(sorted(found)) or "unknown"


class OpenVinoDevice(OrtDevice):
    """OpenVINOExecutionProvider on the host CPU.

    Args:
        threads: the threads OpenVINO runs a model on (its ``num_of_threads``; 1 gives the most stable timings).
        precision: OpenVINO's inference precision: FP32 (the exported model's numbers), FP16 or ACCURACY.
    """

    def __init__(self, threads: int = 1, precision: str = "FP32"):
        precision = str(precision).upper()
        if precision not in _PRECISIONS:
            raise UserError(f"unknown OpenVINO precision {precision!r}; valid: {', '.join(_PRECISIONS)}")
        super().__init__(PROVIDER, {"device_type": "CPU", "precision": precision, "num_of_threads": int(threads)},
                         threads=threads, name="openvino", install_hint=INSTALL_HINT)

    def available(self) -> tuple[bool, str]:
        found = route()
        return (True, "") if found.kind else (False, found.reason)

    def fingerprint(self) -> dict[str, str | int]:
        fp = super().fingerprint()
        found = route()
        fp["openvino_package"] = found.package or "none"
        fp["openvino"] = openvino_version()
        return fp

    def _options(self, optimization: str | None):
        opts = self.session_options(optimization)
        # a node OpenVINO does not take fails the session instead of running on the CPU provider unseen
        opts.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        return opts

    def create_session(self, model: bytes | str, optimization: str | None = None):
        import onnxruntime as ort

        found = route()
        if not found.kind:
            raise DeviceUnavailable(f"device {self.name!r} is not available here: {found.reason}")
        if not isinstance(model, (bytes, bytearray)):
            model = os.fspath(model)
            if not os.path.isfile(model):
                raise UserError(f"ONNX model file not found: {model}")
        opts = self._options(optimization)
        provider_options = {k: str(v) for k, v in self.provider_options.items()}
        try:
            if found.kind == "plugin":
                provider_options.pop("device_type")  # the OrtEpDevice names the device
                opts.add_provider_for_devices([found.ep_device], provider_options)
                return ort.InferenceSession(model, sess_options=opts)
            return ort.InferenceSession(model, sess_options=opts, providers=[(PROVIDER, provider_options)])
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own types
            raise UserError(f"device 'openvino' could not take the model: {' '.join(str(exc).split())}") from exc

    def optimize(self, model: bytes, weights: bool = True):
        """The exported graph after ONNX Runtime's basic rewrites on the CPU provider (constants and
        batch-norm folded): standard ONNX operators only, the nodes the table keys on. OpenVINO's own graph
        (after its fusions) is compiled inside the provider and cannot be read back."""
        import onnxruntime as ort

        return optimize_with(model, cpu_options(ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
                             ["CPUExecutionProvider"], weights=weights)

    def inspection_session(self, model: bytes):
        return cpu_inspection_session(model)

    def __repr__(self) -> str:
        return f"OpenVinoDevice(threads={self.threads}, precision={self.provider_options['precision']!r})"
