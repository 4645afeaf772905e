"""The rows of a table made before node keys: counted, and removed by ``netadapt lut migrate``."""

from __future__ import annotations

from sqlalchemy import text

from lut.database import Database

__all__ = ["OldRows"]


class OldRows:
    """The layer-signature rows a table made before node keys still holds. They cannot be used (a layer
    signature does not say which nodes a device runs) and are never read."""

    #: The table they are kept in.
    TABLE = "measurements"

    def __init__(self, database: Database):
        self._db = database

    def count(self) -> int:
        """How many there are (0: none, or no such table)."""
        if not self._db.has(self.TABLE):
            return 0
        with self._db.read() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {self.TABLE}")).scalar())

    def drop(self) -> int:
        """Remove them (node rows, devices and calibrations stay); returns how many went."""
        n = self.count()
        if self._db.has(self.TABLE):
            with self._db.write() as conn:
                conn.execute(text(f"DROP TABLE {self.TABLE}"))
            self._db.dropped(self.TABLE)
        return n
