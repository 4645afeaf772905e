"""A real agent process on 127.0.0.1 (a free port), started with `python -m netadapt.cli agent`, and a GET."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "agent-test-token-7f3a"
MAX_BYTES = 4 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, path: str, token: str | None = TOKEN):
    """(status, body) of a GET."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Agent:
    """One agent process; ``stop()`` kills it (only this process)."""

    def __init__(self, folder: Path, port: int | None = None, *args: str):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NETADAPT_AGENT_TOKEN": TOKEN,
               "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        self.log = open(folder / f"agent-{self.port}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "netadapt.cli", "agent", "--port", str(self.port),
                                      "--max-bytes", str(MAX_BYTES), *args],
                                     cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the agent exited with {self.proc.returncode}: "
                                   f"{(folder / f'agent-{self.port}.log').read_text()}")
            try:
                if get(self.url, "/info")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the agent did not answer within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def in_background(argv: list[str]):
    """``netadapt ARGV`` started in a thread: (the thread, a dict that gets the exit status as ``code``)."""
    import threading

    from netadapt.cli import main

    outcome = {}

    def run():
        try:
            main(argv)
        except SystemExit as exc:
            outcome["code"] = exc.code

    worker = threading.Thread(target=run)
    worker.start()
    return worker, outcome


def wait_for_rows(db: Path, count: int, worker, seconds: float) -> None:
    """Until table ``db`` stores ``count`` node measurements, ``worker`` ends, or ``seconds`` pass."""
    import sqlite3

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.is_alive():
        try:
            if db.exists():
                with sqlite3.connect(db) as conn:
                    if conn.execute("SELECT COUNT(*) FROM node_measurements").fetchone()[0] >= count:
                        return
        except sqlite3.OperationalError:  # the schema is being created
            pass
        time.sleep(0.02)
