"""Whole-model measurements: a network's measured latency on a device and the features a calibration is
fitted on, one row per device and architecture."""

from __future__ import annotations

import json

from sqlalchemy import select

from lut.database import Database, now
from lut.device_index import DeviceIndex, fingerprint_of
from lut.schema import ModelMeasurementRow
from lut.upsert import upsert

__all__ = ["ModelMeasurements"]


class ModelMeasurements:
    """The whole models measured on a table's devices."""

    def __init__(self, database: Database, devices: DeviceIndex):
        self._db = database
        self._devices = devices

    def record(self, fingerprint, key: str, features: dict[str, float], measured_ms: float, source: str) -> None:
        """Store (or replace) one whole-model measurement and its calibration features.

        Args:
            fingerprint: a Device or its fingerprint dict.
            key: the architecture's identity (the same network measured again replaces its row).
            features: see ``netadapt.latency.calibration.features``.
            measured_ms: its measured latency.
            source: what measured it (``netadapt run``, ``lut check``, ``fidelity``), for inspection.
        """
        fp = fingerprint_of(fingerprint)
        with self._db.write() as conn:
            device_id = self._devices.ensure(conn, fp)
            upsert(conn, ModelMeasurementRow.__table__, {"device_id": device_id, "key": key},
                   {"features": json.dumps(features, sort_keys=True), "measured_ms": float(measured_ms),
                    "source": source, "created_at": now()}, replace=True)

    def measured_on(self, fingerprint) -> list[tuple[dict[str, float], float]]:
        """(features, measured ms) of every whole model measured on the device, oldest first."""
        fp = fingerprint_of(fingerprint)
        r = ModelMeasurementRow
        with self._db.read() as conn:
            device_id = self._devices.find(conn, fp)
            if device_id is None:
                return []
            rows = conn.execute(select(r.features, r.measured_ms).where(r.device_id == device_id)
                                .order_by(r.created_at, r.id))
            return [(json.loads(f), ms) for f, ms in rows]
