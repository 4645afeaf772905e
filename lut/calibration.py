"""Calibration values: named numbers fitted for a device (e.g. a per-call overhead or a whole-model
correction), one row per device and name."""

from __future__ import annotations

from sqlalchemy import select

from lut.database import Database, now
from lut.device_index import DeviceIndex, fingerprint_of
from lut.schema import CalibrationRow
from lut.upsert import upsert

__all__ = ["CalibrationValues"]


class CalibrationValues:
    """The calibration values of a table's devices."""

    def __init__(self, database: Database, devices: DeviceIndex):
        self._db = database
        self._devices = devices

    def set(self, fingerprint, key: str, value: float) -> None:
        """Store (or replace) one named number for a device (a Device or its fingerprint dict)."""
        fp = fingerprint_of(fingerprint)
        with self._db.write() as conn:
            device_id = self._devices.ensure(conn, fp)
            upsert(conn, CalibrationRow.__table__, {"device_id": device_id, "key": key},
                   {"value": float(value), "updated_at": now()}, replace=True)

    def get(self, fingerprint, key: str) -> float | None:
        """A stored named number, or None."""
        fp = fingerprint_of(fingerprint)
        with self._db.read() as conn:
            device_id = self._devices.find(conn, fp)
            if device_id is None:
                return None
            c = CalibrationRow
            return conn.scalar(select(c.value).where(c.device_id == device_id, c.key == key))
