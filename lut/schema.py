"""The lookup table's schema: devices, their measured nodes, whole-model measurements and calibration
values. (Tables made before node keys also hold a ``measurements`` table of layer signatures; it is left as
it is and not read.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STAT_COLUMNS = ("median_ms", "p10_ms", "p90_ms", "mean_ms", "std_ms", "count")


class Base(DeclarativeBase):
    pass


class DeviceRow(Base):
    """One device identity; its fingerprint JSON is what its measurements are valid for."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint_id: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class _MeasuredOnDevice:
    """The columns every per-device latency row has: its device and the statistics of its timed runs
    (``STAT_COLUMNS``, in milliseconds). The id and device come first in the table, the statistics last."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-2)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), sort_order=-1)
    median_ms: Mapped[float] = mapped_column(Float)
    p10_ms: Mapped[float] = mapped_column(Float)
    p90_ms: Mapped[float] = mapped_column(Float)
    mean_ms: Mapped[float] = mapped_column(Float)
    std_ms: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class NodeMeasurementRow(_MeasuredOnDevice, Base):
    """The latency statistics of one node key (``lut.nodekey``) on one device, in milliseconds."""

    __tablename__ = "node_measurements"

    key_id: Mapped[str] = mapped_column(String(32))
    op: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("device_id", "key_id", name="uq_node_measurement_key"),
                      Index("ix_node_measurement_op", "device_id", "op"))


class CalibrationRow(Base):
    """A named number fitted for one device (e.g. a per-call overhead or a whole-model correction)."""

    __tablename__ = "calibration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("device_id", "key", name="uq_calibration_key"),)


class ModelMeasurementRow(Base):
    """One whole model measured on a device, with the features a calibration is fitted on.

    ``key`` identifies the model's architecture (a hash of its node keys in order), so measuring the same
    network again replaces its row instead of weighing it twice.
    """

    __tablename__ = "model_measurements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    features: Mapped[str] = mapped_column(Text)
    measured_ms: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("device_id", "key", name="uq_model_measurement_key"),)
