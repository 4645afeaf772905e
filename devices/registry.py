"""Device names -> classes: the built-ins plus plug-ins from the entry-point group ``netadapt.devices``."""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
from importlib.metadata import entry_points

from devices.base import Device
from lut.errors import UserError

_BUILTIN = {
    "cpu": "devices.cpu:CpuDevice",
    "cuda": "devices.cuda:CudaDevice",
    "fake": "devices.fake:FakeDevice",
    "openvino": "devices.openvino:OpenVinoDevice",
}

# Options every CLI command passes whatever the device; a device that does not take one ignores it.
SHARED_OPTIONS = frozenset({"threads", "gpu_id"})

# ``remote:http://HOST:PORT`` names a device reached through a netadapt agent (devices.remote); it is
# not listed, since each URL is a device of its own.
REMOTE_PREFIX = "remote:"


@functools.lru_cache(maxsize=1)
def _plugins() -> dict:
    return {ep.name: ep for ep in entry_points(group="netadapt.devices") if ep.name not in _BUILTIN}


def list_devices(pattern: str = "*") -> list[str]:
    """Sorted device names matching a glob pattern."""
    names = set(_BUILTIN) | set(_plugins())
    return sorted(n for n in names if fnmatch.fnmatch(n, pattern))


def _load(name: str) -> type:
    if name in _BUILTIN:
        module, attr = _BUILTIN[name].split(":")
        return getattr(importlib.import_module(module), attr)
    try:
        return _plugins()[name].load()
    except (ImportError, AttributeError) as exc:
        raise UserError(f"device plug-in {name!r} failed to load: {exc}") from exc


def get_device(name: str, **options) -> Device:
    """Build a device by name.

    Args:
        name: a name from ``list_devices()``, or ``remote:http://HOST:PORT[?provider=...]`` for a device
            reached through a netadapt agent (``devices.remote``; ``threads`` applies, ``gpu_id`` does not:
            give ``device_id`` in the URL); ``remote:URL1,URL2,...`` for a farm of such boards
            (``devices.farm``).
        **options: constructor arguments. ``threads`` and ``gpu_id`` are dropped silently when the device
            does not take them; any other unknown option is an error.

    Raises:
        UserError: unknown name or option.
    """
    if isinstance(name, str) and name.startswith(REMOTE_PREFIX):
        from devices.farm import FarmDevice, split_urls
        from devices.remote import RemoteDevice

        unknown = sorted(set(options) - SHARED_OPTIONS)
        if unknown:
            raise UserError(f"device 'remote' takes no option {unknown[0]!r}; valid: threads (the rest goes in "
                            "its URL)")
        urls = split_urls(name)
        if len(urls) > 1:  # remote:URL1,URL2,...: a farm of boards of one fingerprint (devices.farm)
            return FarmDevice(urls, threads=options.get("threads", 1))
        return RemoteDevice(name, threads=options.get("threads", 1))
    if name not in list_devices():
        raise UserError(f"unknown device {name!r}; valid: {', '.join(list_devices())} "
                        f"(or {REMOTE_PREFIX}http://HOST:PORT for a netadapt agent)")
    cls = _load(name)
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {}
    for key, value in options.items():
        if takes_any or key in params:
            kwargs[key] = value
        elif key not in SHARED_OPTIONS:
            valid = ", ".join(p for p in params if p != "self") or "none"
            raise UserError(f"device {name!r} takes no option {key!r}; valid: {valid}")
    device = cls(**kwargs)
    if not isinstance(device, Device):
        raise UserError(f"device plug-in {name!r} did not build a devices.Device")
    return device


def usable_device(name: str, **options) -> Device:
    """``get_device(name, **options)``, checked to run on this machine.

    Raises:
        UserError: unknown name or option.
        DeviceUnavailable: the device exists but cannot run here (no GPU, no provider, an agent that
            does not answer), with the device's own reason.
    """
    from devices.errors import DeviceUnavailable

    device = get_device(name, **options)
    ok, why = device.available()
    if not ok:
        raise DeviceUnavailable(f"device {name!r} is not available here: {why}")
    return device
