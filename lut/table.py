"""The latency lookup table: measured node statistics per device identity, in any SQLAlchemy database."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select

from lut.calibration import CalibrationValues
from lut.database import Database, now
from lut.device_index import DeviceIndex, fingerprint_of
from lut.engine import default_lut_path
from lut.model_measurements import ModelMeasurements
from lut.nodekey import NodeKey
from lut.old_rows import OldRows
from lut.schema import NodeMeasurementRow
from lut.stats import Stats
from lut.upsert import upsert

__all__ = ["LatencyTable", "StoredRow", "default_lut_path"]

_CHUNK = 400  # keys per IN query, well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class StoredRow:
    """One node measurement as stored."""

    device_id: int
    key: NodeKey
    stats: Stats
    created_at: datetime


def _stats_of(row) -> Stats:
    return Stats(row.median_ms, row.p10_ms, row.p90_ms, row.mean_ms, row.std_ms, row.count)


def _stat_values(stats: Stats) -> dict:
    return {"median_ms": stats.median, "p10_ms": stats.p10, "p90_ms": stats.p90, "mean_ms": stats.mean,
            "std_ms": stats.std, "count": stats.count, "created_at": now()}


class LatencyTable:
    """Measured latencies keyed by device fingerprint and node key.

    The node rows are read and written here; the rest of the table is reached through its parts.

    Args:
        url_or_path: a SQLite file path (its folder is created), any SQLAlchemy URL, or None for
            ``$NETADAPT_LUT`` or ``~/.cache/netadapt/lut.db``.

    Attributes:
        label: the file path, or the URL without its password, for messages.
        url: the SQLAlchemy URL without its password.
        database: the engine, schema and transactions (``lut.database.Database``).
        devices: device fingerprints and their row ids (``lut.device_index.DeviceIndex``).
        calibration: named numbers fitted per device (``lut.calibration.CalibrationValues``).
        models: whole-model measurements (``lut.model_measurements.ModelMeasurements``).
        old_rows: the rows of a table made before node keys (``lut.old_rows.OldRows``).

    Raises:
        UserError: the path is not a readable database; an existing bad file is never modified.
    """

    def __init__(self, url_or_path: str | os.PathLike | None = None):
        self.database = Database(url_or_path)
        self.label, self.url = self.database.label, self.database.url
        self.devices = DeviceIndex(self.database)
        self.calibration = CalibrationValues(self.database, self.devices)
        self.models = ModelMeasurements(self.database, self.devices)
        self.old_rows = OldRows(self.database)

    # -- reading node rows ------------------------------------------------------------------------

    def lookup(self, fingerprint, key: NodeKey) -> Stats | None:
        """The stored statistics of one node key, or None."""
        return self.lookup_many(fingerprint, [key]).get(key)

    def lookup_many(self, fingerprint, keys: Iterable[NodeKey]) -> dict[NodeKey, Stats]:
        """Stored statistics of those keys that are measured."""
        fp = fingerprint_of(fingerprint)
        by_id = {k.key_id: k for k in keys}
        found: dict[NodeKey, Stats] = {}
        if not self.database.has("node_measurements"):
            return found
        with self.database.read() as conn:
            device_id = self.devices.find(conn, fp)
            if device_id is None:
                return found
            m = NodeMeasurementRow
            ids = list(by_id)
            for start in range(0, len(ids), _CHUNK):
                query = select(m.__table__).where(m.device_id == device_id,
                                                  m.key_id.in_(ids[start:start + _CHUNK]))
                for row in conn.execute(query):
                    found[by_id[row.key_id]] = _stats_of(row)
        return found

    def missing(self, fingerprint, keys: Iterable[NodeKey]) -> list[NodeKey]:
        """The keys not yet measured on this device, without repeats, in first-seen order."""
        unique = list(dict.fromkeys(keys))
        present = self.lookup_many(fingerprint, unique)
        return [k for k in unique if k not in present]

    def rows(self, fingerprint=None, op: str | None = None, limit: int | None = None) -> list[StoredRow]:
        """Stored node measurements, optionally of one device (Device, fingerprint dict or device id) and
        op (as ``NodeKey.op`` names it, e.g. ``nchwc.Conv``)."""
        m = NodeMeasurementRow
        if not self.database.has(m.__tablename__):
            return []
        query = select(m.__table__).order_by(m.device_id, m.op, m.id)
        if op is not None:
            query = query.where(m.op == op)
        with self.database.read() as conn:
            if fingerprint is not None:
                device_id = self.devices.resolve(conn, fingerprint)
                if device_id is None:
                    return []
                query = query.where(m.device_id == device_id)
            if limit is not None:
                query = query.limit(limit)
            return [StoredRow(r.device_id, NodeKey.from_json(r.key), _stats_of(r), r.created_at)
                    for r in conn.execute(query)]

    def stats(self) -> dict[int, dict[str, int]]:
        """Measurement counts: device id -> op -> rows."""
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        with self.database.read() as conn:
            n = NodeMeasurementRow
            if self.database.has("node_measurements"):
                for device_id, op, k in conn.execute(
                        select(n.device_id, n.op, func.count()).group_by(n.device_id, n.op)):
                    counts[device_id][op] = k
        return dict(counts)

    # -- writing node rows ------------------------------------------------------------------------

    def _record(self, conn, device_id: int, key: NodeKey, stats: Stats, force: bool) -> bool:
        return upsert(conn, NodeMeasurementRow.__table__, {"device_id": device_id, "key_id": key.key_id},
                      {"op": key.op, "key": key.text, **_stat_values(stats)}, replace=force)

    def record(self, fingerprint, key: NodeKey, stats: Stats, force: bool = False) -> bool:
        """Store one measurement in its own transaction.

        Args:
            fingerprint: a Device or its fingerprint dict.
            key: the node measured.
            stats: its statistics.
            force: replace a stored measurement instead of keeping it.

        Returns:
            True if a row was written, False if one was already there (and ``force`` was off).
        """
        fp = fingerprint_of(fingerprint)
        with self.database.write() as conn:
            return self._record(conn, self.devices.ensure(conn, fp), key, stats, force)

    def record_many(self, fingerprint, items: Iterable[tuple[NodeKey, Stats]], force: bool = False) -> int:
        """Store many measurements in one transaction; returns how many rows were written."""
        fp = fingerprint_of(fingerprint)
        with self.database.write() as conn:
            device_id = self.devices.ensure(conn, fp)
            return sum(self._record(conn, device_id, key, stats, force) for key, stats in items)

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the database connections."""
        self.database.close()

    def __enter__(self) -> "LatencyTable":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LatencyTable({self.label!r})"
