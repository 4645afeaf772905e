"""The devices of a table: fingerprints and their row ids, which every measurement row points to."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from lut.database import Database, now
from lut.fingerprint import fingerprint_id_of
from lut.schema import DeviceRow, NodeMeasurementRow
from lut.upsert import upsert

__all__ = ["DeviceIndex", "fingerprint_of"]


def fingerprint_of(device_or_fingerprint) -> dict:
    """The fingerprint dict of a Device, or the dict itself."""
    if hasattr(device_or_fingerprint, "fingerprint"):
        return device_or_fingerprint.fingerprint()
    if isinstance(device_or_fingerprint, dict):
        return device_or_fingerprint
    raise TypeError(f"expected a Device or a fingerprint dict, got {type(device_or_fingerprint).__name__}")


class DeviceIndex:
    """Device fingerprints and their row ids (ids found in the database are cached)."""

    def __init__(self, database: Database):
        self._db = database
        self._ids: dict[str, int] = {}

    def find(self, conn, fp: dict, cache: bool = True) -> int | None:
        """The row id of a fingerprint, or None when it has none."""
        fid = fingerprint_id_of(fp)
        if fid in self._ids:
            return self._ids[fid]
        found = conn.scalar(select(DeviceRow.id).where(DeviceRow.fingerprint_id == fid))
        if found is not None and cache:
            self._ids[fid] = found
        return found

    def ensure(self, conn, fp: dict) -> int:
        """The row id of a fingerprint, inserted in the write transaction ``conn`` if missing."""
        found = self.find(conn, fp)
        if found is not None:
            return found
        upsert(conn, DeviceRow.__table__, {"fingerprint_id": fingerprint_id_of(fp)},
               {"fingerprint": json.dumps(fp, sort_keys=True),
                "name": str(fp.get("name") or fp.get("kind") or "device"), "created_at": now()})
        # Not cached: this transaction may still roll back.
        return self.find(conn, fp, cache=False)

    def resolve(self, conn, device):
        """The row id for a Device, fingerprint dict or id (an id or None is returned as it is); None when the
        device has no row."""
        if device is None or isinstance(device, int):
            return device
        return self.find(conn, fingerprint_of(device))

    def id(self, device_or_fingerprint) -> int:
        """The row id of a device (a Device or its fingerprint dict), inserting it if missing."""
        fp = fingerprint_of(device_or_fingerprint)
        with self._db.read() as conn:
            found = self.find(conn, fp)
        if found is not None:
            return found
        with self._db.write() as conn:
            return self.ensure(conn, fp)

    def all(self) -> list[tuple[int, str, dict, int]]:
        """Every device as (id, name, fingerprint, number of node measurements)."""
        if not self._db.has("node_measurements"):
            query = select(DeviceRow.id, DeviceRow.name, DeviceRow.fingerprint).order_by(DeviceRow.id)
            with self._db.read() as conn:
                return [(i, name, json.loads(fp), 0) for i, name, fp in conn.execute(query)]
        query = (select(DeviceRow.id, DeviceRow.name, DeviceRow.fingerprint, func.count(NodeMeasurementRow.id))
                 .outerjoin(NodeMeasurementRow, NodeMeasurementRow.device_id == DeviceRow.id)
                 .group_by(DeviceRow.id).order_by(DeviceRow.id))
        with self._db.read() as conn:
            return [(i, name, json.loads(fp), n) for i, name, fp, n in conn.execute(query)]
