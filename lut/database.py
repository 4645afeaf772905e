"""The table's database: its engine, the schema made on first open, and read and write transactions."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import inspect
from sqlalchemy.exc import DatabaseError, OperationalError

from lut.engine import open_engine
from lut.errors import UserError
from lut.schema import Base

__all__ = ["Database", "now"]


def now() -> datetime:
    """The time stamp stored in rows: UTC, without a time zone."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Database:
    """An open lookup-table database, its schema created if missing.

    Args:
        url_or_path: as ``LatencyTable`` takes it.

    Attributes:
        engine: the SQLAlchemy engine.
        label: the file path, or the URL without its password, for messages.
        url: the SQLAlchemy URL without its password.

    Raises:
        UserError: the path is not a readable database; an existing bad file is never modified.
    """

    def __init__(self, url_or_path: str | os.PathLike | None = None):
        self.engine, self.label = open_engine(url_or_path)
        self.url = self.engine.url.render_as_string(hide_password=True)
        try:
            self._create_schema()
        except DatabaseError as exc:
            self.engine.dispose()
            raise UserError(f"cannot open lookup table {self.label}: {exc.orig}") from exc

    def _create_schema(self) -> None:
        with self.engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
        self._tables = present
        if present >= set(Base.metadata.tables):
            return  # nothing to write: a read-only table stays usable
        try:
            with self.engine.connect() as conn:
                conn.execution_options(write=True)  # several processes may create it at once
                with conn.begin():
                    Base.metadata.create_all(conn)
            self._tables = present | set(Base.metadata.tables)
        except OperationalError as exc:
            # A read-only table made by an earlier version lacks a newer table: it stays readable.
            if "readonly" not in str(exc.orig).replace("-", "") or not present:
                raise

    def has(self, table_name: str) -> bool:
        """Whether the database holds this table (one made by an earlier version, opened read-only, may not)."""
        return table_name in self._tables

    def dropped(self, table_name: str) -> None:
        """Note that a table was dropped."""
        self._tables.discard(table_name)

    @contextmanager
    def write(self):
        """One write transaction (BEGIN IMMEDIATE on SQLite)."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(write=True)
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise UserError(f"cannot write lookup table {self.label}: {exc.orig}") from exc
        except DatabaseError as exc:  # e.g. a corrupt page met mid-file
            raise UserError(f"lookup table {self.label} is corrupt ({exc.orig}); "
                            "check it with: sqlite3 <file> 'PRAGMA integrity_check'") from exc

    @contextmanager
    def read(self):
        """One connection for reading."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise UserError(f"cannot read lookup table {self.label}: {exc.orig}") from exc
        except DatabaseError as exc:
            raise UserError(f"lookup table {self.label} is corrupt ({exc.orig}); "
                            "check it with: sqlite3 <file> 'PRAGMA integrity_check'") from exc

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
