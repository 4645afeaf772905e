"""Settings of the device latency is measured on (``--device``, ``--threads``, ``--gpu-id``), shared by the
commands that measure; a run's settings declare them, and store them in its folder."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, same_as, setting
from netadapt.config.run import RunConfig


@dataclass(frozen=True)
class DeviceSettings:
    """The device and its session options, as ``netadapt run`` declares them."""

    device: str = same_as(RunConfig, "device")
    threads: int = same_as(RunConfig, "threads")
    gpu_id: int = same_as(RunConfig, "gpu_id")

    def __post_init__(self):
        check(self)

    def usable(self):
        """The device (``devices.usable_device``); one error line when it cannot run here."""
        from devices import usable_device

        return usable_device(self.device, threads=self.threads, gpu_id=self.gpu_id)


@dataclass(frozen=True)
class DeviceListing:
    """``netadapt devices``: the session options each device's fingerprint is computed for, and the format."""

    threads: int = same_as(DeviceSettings, "threads", help="Intra-op threads the fingerprints are computed for "
                                                            "(CPU devices).")
    gpu_id: int = same_as(DeviceSettings, "gpu_id", help="GPU index the fingerprints are computed for (CUDA "
                                                         "devices).")
    as_json: bool = setting(False, "Print one JSON object per device instead.", flag="json")

    def __post_init__(self):
        check(self)
