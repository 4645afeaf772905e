"""Settings of the ``netadapt lut`` commands: which table, which of its rows, and how nodes are timed again."""

from __future__ import annotations

from dataclasses import dataclass, field

from netadapt.config.device import DeviceSettings
from netadapt.config.fields import check, same_as, setting
from netadapt.config.profile import ProfileSettings
from netadapt.config.source import ModelSource
from netadapt.config.table import TableSettings


@dataclass(frozen=True)
class LutStats:
    """``netadapt lut stats``: the devices a table holds."""

    lut: str | None = same_as(TableSettings, "lut")
    as_json: bool = setting(False, "One JSON object per device.", flag="json")

    def __post_init__(self):
        check(self)


@dataclass(frozen=True)
class LutShow:
    """``netadapt lut show``: stored measurements."""

    lut: str | None = same_as(TableSettings, "lut")
    device_id: int | None = setting(None, "Only this device (ids from `netadapt lut stats`).")
    op: str | None = setting(None, "Only this node op, as `lut stats` names it (e.g. nchwc.Conv, Gemm).")
    limit: int = setting(50, "At most this many rows (0: all).", low=0)

    def __post_init__(self):
        check(self)


@dataclass(frozen=True)
class LutInversions:
    """``netadapt lut inversions``: channel counts measured slower than a larger count of the same layer."""

    lut: str | None = same_as(TableSettings, "lut")
    device_id: int | None = same_as(LutShow, "device_id", help="The device (ids from `netadapt lut stats`); needed "
                                                               "when the table holds several.")
    tolerance: float = setting(0.05, "Report counts slower than a larger one by more than this fraction.", low=0)
    limit: int = same_as(LutShow, "limit", default=20, help="Rows shown (0: all).")

    def __post_init__(self):
        check(self)


@dataclass(frozen=True)
class LutCheck:
    """``netadapt lut check``: a model's table estimate against a measurement of the whole model."""

    model: str = same_as(ProfileSettings, "model")
    model_args: dict | None = same_as(ModelSource, "model_args")
    checkpoint: str | None = same_as(ProfileSettings, "checkpoint", help="Check the (possibly pruned) model stored "
                                                                         "in this checkpoint instead.")
    input_shape: str | None = same_as(ProfileSettings, "input_shape", help="Input shape (default: the model's "
                                                                           "default input, batch 1).")
    device: DeviceSettings = field(default_factory=DeviceSettings)
    warmup: int = same_as(ProfileSettings, "warmup", default=10, help="Untimed runs before each node's, and the "
                                                                      "whole model's, timed runs.")
    repeats: int = same_as(ProfileSettings, "repeats", help="Timed runs per node (and 4x this for the whole "
                                                            "model).")
    layers: bool = setting(True, "Print the per-node breakdown.")
    as_json: bool = setting(False, "Print the result as one JSON object.", flag="json")
    lut: str | None = same_as(TableSettings, "lut")

    def __post_init__(self):
        check(self)


@dataclass(frozen=True)
class LutRetake:
    """``netadapt lut retake``: the stored nodes of this machine's device whose take was unsteady, timed again."""

    device: DeviceSettings = field(default_factory=DeviceSettings)
    max_spread: float = setting(0.1, "A row is unsteady when its median lies more than this fraction above its "
                                     "10th percentile.", low=0, low_open=True)
    warmup: int = same_as(ProfileSettings, "warmup")
    repeats: int = same_as(ProfileSettings, "repeats")
    dry_run: bool = setting(False, "List the unsteady rows; time nothing.")
    limit: int = same_as(LutShow, "limit", default=20, help="Rows listed (0: all).")
    lut: str | None = same_as(TableSettings, "lut")

    def __post_init__(self):
        check(self)
