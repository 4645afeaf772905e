"""A throwaway PostgreSQL server on loopback for tests (Debian's postgresql; initdb runs as ``postgres``)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def _bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def why_not() -> str | None:
    """Why no server can be started here, or None."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "PostgreSQL's initdb/pg_ctl are not installed (Debian package postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None and shutil.which("su") is None:
        return "running as root without runuser/su to start the server as postgres"
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *cmd] if runuser else ["su", "postgres", "-c", " ".join(cmd)]


def start(folder: Path) -> tuple[str, callable]:
    """Start a server with its data under ``folder``; returns (SQLAlchemy URL, stop)."""
    data, sockets = folder / "pgdata", folder / "pgsock"
    for d in (folder, sockets):
        d.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
        os.chmod(folder, 0o755)
        parent = folder.parent  # the server must reach its folder
        while parent != parent.parent:
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
            parent = parent.parent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres([_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]), check=True,
                   capture_output=True)
    subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "server.log"),
                                 "-o", f"-p {port} -k {sockets} -h 127.0.0.1", "start"]), check=True,
                   capture_output=True)

    def stop():
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)

    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 30
    import psycopg

    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
            return url, stop
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                stop()
                raise
            time.sleep(0.2)
