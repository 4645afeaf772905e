"""Errors of the device layer."""

from lut.errors import UserError


class DeviceUnavailable(UserError):
    """The requested device cannot run on this machine (the message says why)."""
