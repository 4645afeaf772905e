"""Insert-if-missing and insert-or-replace: one ON CONFLICT statement where the database has it.

SQLite and PostgreSQL get a native upsert, built once per table and mode, with rows bound at execution.
Other databases get a select, then an insert inside a savepoint that tolerates a concurrent writer.
"""

from __future__ import annotations

import functools

from sqlalchemy import Table, and_, select, update
from sqlalchemy.exc import IntegrityError


def native_insert(dialect: str, table: Table):
    """The dialect's INSERT supporting ON CONFLICT, or None."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    return insert(table)


@functools.lru_cache(maxsize=32)
def _statement(dialect: str, table: Table, key_columns: tuple[str, ...], replace: bool):
    stmt = native_insert(dialect, table)
    if stmt is None:
        return None
    if not replace:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key_columns))
    else:
        changed = [c.name for c in table.columns if c.name not in key_columns and not c.primary_key]
        stmt = stmt.on_conflict_do_update(index_elements=list(key_columns),
                                          set_={name: stmt.excluded[name] for name in changed})
    if dialect == "postgresql":  # psycopg reports no row count for INSERT ... ON CONFLICT: ask for the rows
        stmt = stmt.returning(*table.primary_key.columns)
    return stmt


def upsert(conn, table: Table, key: dict, values: dict, replace: bool = False) -> bool:
    """Insert a row identified by ``key`` (the columns of a unique constraint) unless it exists.

    Args:
        conn: a connection inside a transaction.
        table: the table.
        key: unique-key column values.
        values: the other column values.
        replace: overwrite ``values`` of an existing row instead of keeping it.

    Returns:
        True if a row was written.
    """
    stmt = _statement(conn.dialect.name, table, tuple(key), replace)
    if stmt is not None:
        result = conn.execute(stmt, {**key, **values})
        if conn.dialect.name == "postgresql":
            return len(result.fetchall()) > 0
        return result.rowcount > 0
    where = and_(*(table.c[name] == value for name, value in key.items()))
    if conn.scalar(select(table.c[next(iter(table.primary_key)).name]).where(where)) is None:
        try:
            with conn.begin_nested():
                conn.execute(table.insert(), {**key, **values})
            return True
        except IntegrityError:
            pass  # a concurrent writer inserted it first
    if replace:
        conn.execute(update(table).where(where).values(**values))
    return replace
