"""Devices: an ONNX Runtime execution provider with its options, and the identity that keys its table rows.

Heavy back ends (onnxruntime) are imported only when a session is created or a provider list is needed.
"""

from devices.base import Device, fingerprint_id_of
from devices.registry import get_device, list_devices, usable_device

__all__ = ["Device", "fingerprint_id_of", "get_device", "list_devices", "usable_device"]
