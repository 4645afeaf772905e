"""Open the table's database: a path or a SQLAlchemy URL, SQLite tuned for several writing processes."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from lut.errors import UserError

_SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30


def default_lut_path() -> str:
    """``$NETADAPT_LUT`` if set, else ``~/.cache/netadapt/lut.db``."""
    return os.environ.get("NETADAPT_LUT") or str(Path.home() / ".cache" / "netadapt" / "lut.db")


def _check_sqlite_file(path: Path) -> None:
    """Refuse an existing file that is not a readable SQLite database, without writing to it."""
    if path.is_dir():
        raise UserError(f"lookup table path is a directory: {path}")
    if not path.exists():
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise UserError(f"cannot read lookup table {path}: {exc.strerror}") from exc
    if head and head != _SQLITE_MAGIC:
        raise UserError(f"lookup table {path} is not a SQLite database (file left untouched)")
    if head:
        try:
            probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                probe.execute("SELECT count(*) FROM sqlite_master").fetchall()
                # Before the first connection switches it to WAL (a header write): about 10 ms per MB.
                verdict = probe.execute("PRAGMA quick_check(1)").fetchone()[0]
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise UserError(f"lookup table {path} is unreadable or corrupt ({exc}); file left untouched") from exc
        if verdict != "ok":
            raise UserError(f"lookup table {path} is corrupt ({verdict.splitlines()[-1].strip()}); "
                            "file left untouched")


def _enable_wal(cur) -> None:
    """Switch the file to WAL (persistent, so a no-op once done), retrying while another process holds a lock.

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is locked" at once
    instead of calling the busy handler when a second process is creating the same new file.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN, so writes can take the lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A deferred transaction that reads, then writes, fails at once with "database is locked" when
        # another process committed in between; BEGIN IMMEDIATE waits for the write lock instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


def open_engine(url_or_path: str | os.PathLike | None = None) -> tuple[Engine, str]:
    """An engine and a label for messages (the file path, or the URL without its password).

    Args:
        url_or_path: a filesystem path (becomes ``sqlite:///path``; its folder is created), any SQLAlchemy
            URL, or None for ``default_lut_path()``.

    Raises:
        UserError: malformed URL, or an existing file that is not a SQLite database.
    """
    target = os.fspath(url_or_path) if url_or_path is not None else default_lut_path()
    if "://" in target:
        try:
            url = make_url(target)
        except ArgumentError as exc:
            raise UserError(f"malformed lookup table URL {target!r}") from exc
        label = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            _check_sqlite_file(Path(url.database))
    else:
        path = Path(target).expanduser()
        _check_sqlite_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder of lookup table {path}: {exc.strerror}") from exc
        url = make_url(f"sqlite:///{path}")
        label = str(path)
    kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_S}} if url.get_backend_name() == "sqlite" else {}
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise UserError(f"cannot open lookup table {label}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine, label
