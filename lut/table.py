"""The latency lookup table: measured node statistics per device identity, in any SQLAlchemy database."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DatabaseError, OperationalError

from lut.engine import default_lut_path, open_engine
from lut.errors import UserError
from lut.fingerprint import fingerprint_id_of
from lut.nodekey import NodeKey
from lut.schema import Base, CalibrationRow, DeviceRow, ModelMeasurementRow, NodeMeasurementRow
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


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _fingerprint(device_or_fingerprint) -> dict:
    if hasattr(device_or_fingerprint, "fingerprint"):
        return device_or_fingerprint.fingerprint()
    if isinstance(device_or_fingerprint, dict):
        return device_or_fingerprint
    raise TypeError(f"expected a Device or a fingerprint dict, got {type(device_or_fingerprint).__name__}")


def _stats_of(row) -> Stats:
    return Stats(row.median_ms, row.p10_ms, row.p90_ms, row.mean_ms, row.std_ms, row.count)


def _stat_values(stats: Stats) -> dict:
    return {"median_ms": stats.median, "p10_ms": stats.p10, "p90_ms": stats.p90, "mean_ms": stats.mean,
            "std_ms": stats.std, "count": stats.count, "created_at": _now()}


class LatencyTable:
    """Measured latencies keyed by device fingerprint and node key.

    Args:
        url_or_path: a SQLite file path (its folder is created), any SQLAlchemy URL, or None for
            ``$NETADAPT_LUT`` or ``~/.cache/netadapt/lut.db``.

    Attributes:
        label: the file path, or the URL without its password, for messages.
        url: the SQLAlchemy URL without its password.

    Raises:
        UserError: the path is not a readable database; an existing bad file is never modified.
    """

    def __init__(self, url_or_path: str | os.PathLike | None = None):
        self._engine, self.label = open_engine(url_or_path)
        self.url = self._engine.url.render_as_string(hide_password=True)
        self._device_ids: dict[str, int] = {}
        try:
            self._create_schema()
        except DatabaseError as exc:
            self._engine.dispose()
            raise UserError(f"cannot open lookup table {self.label}: {exc.orig}") from exc

    # -- plumbing -------------------------------------------------------------------------------

    def _create_schema(self) -> None:
        with self._engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
        self._tables = present
        if present >= set(Base.metadata.tables):
            return  # nothing to write: a read-only table stays usable
        try:
            with self._engine.connect() as conn:
                conn.execution_options(write=True)  # several processes may create it at once
                with conn.begin():
                    Base.metadata.create_all(conn)
            self._tables = present | set(Base.metadata.tables)
        except OperationalError as exc:
            # A read-only table made by an earlier version lacks a newer table: it stays readable.
            if "readonly" not in str(exc.orig).replace("-", "") or not present:
                raise

    def _has(self, table_name: str) -> bool:
        return table_name in self._tables

    # -- tables made before node keys -------------------------------------------------------------

    #: Where a table made before node keys kept its layer-signature rows; they cannot be used (a layer
    #: signature does not say which nodes a device runs) and are not read.
    OLD_ROWS = "measurements"

    def old_rows(self) -> int:
        """How many layer-signature rows of a table made before node keys this one still holds (0: none)."""
        if not self._has(self.OLD_ROWS):
            return 0
        with self._read() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {self.OLD_ROWS}")).scalar())

    def drop_old_rows(self) -> int:
        """Remove the layer-signature rows of a table made before node keys (``netadapt lut migrate``); node
        rows, devices and calibrations stay. Returns how many rows went."""
        n = self.old_rows()
        if self._has(self.OLD_ROWS):
            with self._write() as conn:
                conn.execute(text(f"DROP TABLE {self.OLD_ROWS}"))
            self._tables.discard(self.OLD_ROWS)
        return n

    @contextmanager
    def _write(self):
        """One write transaction (BEGIN IMMEDIATE on SQLite)."""
        try:
            with self._engine.connect() as conn:
                conn.execution_options(write=True)
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise UserError(f"cannot write lookup table {self.label}: {exc.orig}") from exc
        except DatabaseError as exc:  # e.g. a corrupt page met mid-file
            raise UserError(f"lookup table {self.label} is corrupt ({exc.orig}); "
                            "check it with: sqlite3 <file> 'PRAGMA integrity_check'") from exc

    @contextmanager
    def _read(self):
        try:
            with self._engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise UserError(f"cannot read lookup table {self.label}: {exc.orig}") from exc
        except DatabaseError as exc:
            raise UserError(f"lookup table {self.label} is corrupt ({exc.orig}); "
                            "check it with: sqlite3 <file> 'PRAGMA integrity_check'") from exc

    def _find_device(self, conn, fp: dict, cache: bool = True) -> int | None:
        fid = fingerprint_id_of(fp)
        if fid in self._device_ids:
            return self._device_ids[fid]
        found = conn.scalar(select(DeviceRow.id).where(DeviceRow.fingerprint_id == fid))
        if found is not None and cache:
            self._device_ids[fid] = found
        return found

    def _ensure_device(self, conn, fp: dict) -> int:
        found = self._find_device(conn, fp)
        if found is not None:
            return found
        upsert(conn, DeviceRow.__table__, {"fingerprint_id": fingerprint_id_of(fp)},
               {"fingerprint": json.dumps(fp, sort_keys=True),
                "name": str(fp.get("name") or fp.get("kind") or "device"), "created_at": _now()})
        # Not cached: this transaction may still roll back.
        return self._find_device(conn, fp, cache=False)

    # -- devices --------------------------------------------------------------------------------

    def device_id(self, device_or_fingerprint) -> int:
        """The row id of a device (a Device or its fingerprint dict), inserting it if missing."""
        fp = _fingerprint(device_or_fingerprint)
        with self._read() as conn:
            found = self._find_device(conn, fp)
        if found is not None:
            return found
        with self._write() as conn:
            return self._ensure_device(conn, fp)

    def devices(self) -> list[tuple[int, str, dict, int]]:
        """Every device as (id, name, fingerprint, number of node measurements)."""
        if not self._has("node_measurements"):
            query = select(DeviceRow.id, DeviceRow.name, DeviceRow.fingerprint).order_by(DeviceRow.id)
            with self._read() as conn:
                return [(i, name, json.loads(fp), 0) for i, name, fp in conn.execute(query)]
        query = (select(DeviceRow.id, DeviceRow.name, DeviceRow.fingerprint, func.count(NodeMeasurementRow.id))
                 .outerjoin(NodeMeasurementRow, NodeMeasurementRow.device_id == DeviceRow.id)
                 .group_by(DeviceRow.id).order_by(DeviceRow.id))
        with self._read() as conn:
            return [(i, name, json.loads(fp), n) for i, name, fp, n in conn.execute(query)]

    # -- measurements ---------------------------------------------------------------------------

    def lookup(self, fingerprint, key: NodeKey) -> Stats | None:
        """The stored statistics of one node key, or None."""
        return self.lookup_many(fingerprint, [key]).get(key)

    def lookup_many(self, fingerprint, keys: Iterable[NodeKey]) -> dict[NodeKey, Stats]:
        """Stored statistics of those keys that are measured."""
        fp = _fingerprint(fingerprint)
        by_id = {k.key_id: k for k in keys}
        found: dict[NodeKey, Stats] = {}
        if not self._has("node_measurements"):
            return found
        with self._read() as conn:
            device_id = self._find_device(conn, fp)
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
        fp = _fingerprint(fingerprint)
        with self._write() as conn:
            return self._record(conn, self._ensure_device(conn, fp), key, stats, force)

    def record_many(self, fingerprint, items: Iterable[tuple[NodeKey, Stats]], force: bool = False) -> int:
        """Store many measurements in one transaction; returns how many rows were written."""
        fp = _fingerprint(fingerprint)
        with self._write() as conn:
            device_id = self._ensure_device(conn, fp)
            return sum(self._record(conn, device_id, key, stats, force) for key, stats in items)

    def _device_filter(self, conn, fingerprint):
        """The device id for a Device, fingerprint dict or id; None when it has no rows at all."""
        if fingerprint is None or isinstance(fingerprint, int):
            return fingerprint
        return self._find_device(conn, _fingerprint(fingerprint))

    def _select(self, model, query, fingerprint, limit, make):
        """``make(row)`` for each row of ``query`` on ``model``'s table, of one device when ``fingerprint``
        is given; [] when the table or the device has no rows."""
        if not self._has(model.__tablename__):
            return []
        with self._read() as conn:
            if fingerprint is not None:
                device_id = self._device_filter(conn, fingerprint)
                if device_id is None:
                    return []
                query = query.where(model.device_id == device_id)
            if limit is not None:
                query = query.limit(limit)
            return [make(r) for r in conn.execute(query)]

    def rows(self, fingerprint=None, op: str | None = None, limit: int | None = None) -> list[StoredRow]:
        """Stored node measurements, optionally of one device (Device, fingerprint dict or device id) and
        op (as ``NodeKey.op`` names it, e.g. ``nchwc.Conv``)."""
        m = NodeMeasurementRow
        query = select(m.__table__).order_by(m.device_id, m.op, m.id)
        if op is not None:
            query = query.where(m.op == op)
        return self._select(m, query, fingerprint, limit,
                            lambda r: StoredRow(r.device_id, NodeKey.from_json(r.key), _stats_of(r), r.created_at))

    def stats(self) -> dict[int, dict[str, int]]:
        """Measurement counts: device id -> op -> rows."""
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        with self._read() as conn:
            n = NodeMeasurementRow
            if self._has("node_measurements"):
                for device_id, op, k in conn.execute(
                        select(n.device_id, n.op, func.count()).group_by(n.device_id, n.op)):
                    counts[device_id][op] = k
        return dict(counts)

    # -- calibration ----------------------------------------------------------------------------

    def set_calibration(self, fingerprint, key: str, value: float) -> None:
        """Store (or replace) one named number for a device."""
        fp = _fingerprint(fingerprint)
        with self._write() as conn:
            device_id = self._ensure_device(conn, fp)
            upsert(conn, CalibrationRow.__table__, {"device_id": device_id, "key": key},
                   {"value": float(value), "updated_at": _now()}, replace=True)

    def get_calibration(self, fingerprint, key: str) -> float | None:
        """A stored named number, or None."""
        fp = _fingerprint(fingerprint)
        with self._read() as conn:
            device_id = self._find_device(conn, fp)
            if device_id is None:
                return None
            c = CalibrationRow
            return conn.scalar(select(c.value).where(c.device_id == device_id, c.key == key))

    # -- whole-model measurements ------------------------------------------------------------------

    def record_model(self, fingerprint, key: str, features: dict[str, float], measured_ms: float,
                     source: str) -> None:
        """Store (or replace) one whole-model measurement and its calibration features.

        Args:
            key: the architecture's identity (the same network measured again replaces its row).
            features: see ``netadapt.latency.calibration.features``.
            source: what measured it (``netadapt run``, ``lut check``, ``fidelity``), for inspection.
        """
        fp = _fingerprint(fingerprint)
        with self._write() as conn:
            device_id = self._ensure_device(conn, fp)
            upsert(conn, ModelMeasurementRow.__table__, {"device_id": device_id, "key": key},
                   {"features": json.dumps(features, sort_keys=True), "measured_ms": float(measured_ms),
                    "source": source, "created_at": _now()}, replace=True)

    def model_measurements(self, fingerprint) -> list[tuple[dict[str, float], float]]:
        """(features, measured ms) of every whole model measured on the device, oldest first."""
        fp = _fingerprint(fingerprint)
        r = ModelMeasurementRow
        with self._read() as conn:
            device_id = self._find_device(conn, fp)
            if device_id is None:
                return []
            rows = conn.execute(select(r.features, r.measured_ms).where(r.device_id == device_id)
                                .order_by(r.created_at, r.id))
            return [(json.loads(f), ms) for f, ms in rows]

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> "LatencyTable":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LatencyTable({self.label!r})"
