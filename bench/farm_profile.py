"""Benchmark: `netadapt profile` through one agent against a farm of two, side by side.

Starts two agents on loopback, each pinned to its own core (``taskset -c``), then runs the same
`netadapt profile` command alternately with ``--device remote:URL1`` and ``--device remote:URL1,URL2``, each into
a fresh table, ``--rounds`` times each (the order swapped every round). Prints each run's wall time (as the
command reports it, and of the whole process), each board's share of the nodes, the medians and their ratio,
and whether every table holds the same node keys (with ``--scope grid`` the networks looked at do not depend
on the measurements, so they must). Then the node timings alone: the first table's nodes timed again through
one agent and through both (``FarmProfiler.measure_many``), alternately, ``--rounds`` times each. First, what
the two cores give: a pure-Python loop pinned to the first core alone, then one on each core at once.

    python bench/farm_profile.py                                            # digits_cnn, the step-16 grid
    python bench/farm_profile.py --model mobilenet_v1 --scope first-iteration --input-shape 1x3x32x32
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_agent(core: int, folder: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """An agent pinned to ``core``, answering on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(folder / f"agent-{port}.log", "wb")
    proc = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-m", "netadapt.cli", "agent",
                             "--port", str(port)], env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    token = env["NETADAPT_AGENT_TOKEN"]
    request = urllib.request.Request(url + "/info", headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the agent on core {core} exited: {(folder / f'agent-{port}.log').read_text()}")
        try:
            with urllib.request.urlopen(request, timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the agent on core {core} did not answer within 60 s")


_SPIN = ("import time; t = time.perf_counter(); s = 0\n"
         "for i in range(10_000_000): s += i\n"
         "print(time.perf_counter() - t)")


def spin(cores: list[int]) -> list[float]:
    """Seconds of one pure-Python loop per core, all started at once."""
    procs = [subprocess.Popen(["taskset", "-c", str(c), sys.executable, "-c", _SPIN], stdout=subprocess.PIPE,
                              text=True) for c in cores]
    return [float(p.communicate()[0]) for p in procs]


def capacity(cores: list[int], rounds: int) -> float:
    """How many times one core's work the cores do at once (2.0 for two free cores), median over rounds."""
    ratios = []
    for _ in range(rounds):
        alone = spin(cores[:1])[0]
        together = spin(cores)
        ratios.append(len(cores) * alone / max(together))
    return statistics.median(ratios)


def keys_of(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {k for (k,) in conn.execute("SELECT key_id FROM node_measurements")}


def profile(device: str, args, db: Path, env: dict) -> dict:
    argv = [sys.executable, "-m", "netadapt.cli", "profile", "--device", device, "--model", args.model,
            "--scope", args.scope, "--channel-step", str(args.channel_step), "--no-progress", "--lut", str(db)]
    if args.input_shape:
        argv += ["--input-shape", args.input_shape]
    if args.repeats:
        argv += ["--repeats", str(args.repeats)]
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    process_s = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"profile failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    wall = float(re.search(r"([\d.]+) s on remote:", done.stdout).group(1))
    shares = re.search(r"Nodes by board: (.*)\.", done.stdout)
    split = re.search(r"\((overhead .*)\)\. Table", done.stdout)
    return {"wall": wall, "process": process_s, "keys": keys_of(db),
            "shares": [int(n) for n in re.findall(r" (\d+)(?:,|$)", shares.group(1))] if shares else None,
            "split": split.group(1) if split else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="digits_cnn")
    parser.add_argument("--input-shape", default=None, help="default: the command's (the model's at batch 32)")
    parser.add_argument("--scope", default="grid", choices=("grid", "first-iteration"))
    parser.add_argument("--channel-step", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per node (default: the command's)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cores", default="0,1", help="the two agents' cores")
    args = parser.parse_args()
    cores = [int(c) for c in args.cores.split(",")]
    env = {**os.environ, "NETADAPT_AGENT_TOKEN": secrets.token_urlsafe(24),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    print(f"cores {args.cores}: one loop on each at once does {capacity(cores, args.rounds):.2f}x the work of one "
          "alone", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        agents = []
        try:
            for core in cores:
                agents.append(start_agent(core, folder, env))
            urls = [url for _, url in agents]
            arms = {"one agent": f"remote:{urls[0]}", "two agents": "remote:" + ",".join(urls)}
            runs: dict[str, list[dict]] = {arm: [] for arm in arms}
            for r in range(args.rounds):
                order = list(arms) if r % 2 == 0 else list(arms)[::-1]
                for arm in order:
                    result = profile(arms[arm], args, folder / f"{arm.replace(' ', '-')}-{r}.db", env)
                    runs[arm].append(result)
                    shares = f", nodes by board {result['shares']}" if result["shares"] else ""
                    print(f"round {r + 1} {arm:>10}: {result['wall']:6.1f} s ({result['process']:.1f} s with the "
                          f"process), {len(result['keys'])} nodes{shares}; {result['split']}", flush=True)
            nodes = nodes_alone(urls, folder / "one-agent-0.db", args, env)
        finally:
            for proc, _ in agents:
                proc.kill()
                proc.wait(10)
    one = statistics.median(r["wall"] for r in runs["one agent"])
    two = statistics.median(r["wall"] for r in runs["two agents"])
    one_p = statistics.median(r["process"] for r in runs["one agent"])
    two_p = statistics.median(r["process"] for r in runs["two agents"])
    keys = [r["keys"] for arm in runs.values() for r in arm]
    print(f"median: one agent {one:.1f} s, two agents {two:.1f} s: two take {two / one:.2f}x the time "
          f"({two_p / one_p:.2f}x with the processes' start); every table the same node keys: "
          f"{all(k == keys[0] for k in keys)}")
    one, two = statistics.median(nodes["one agent"]), statistics.median(nodes["two agents"])
    print(f"node timings alone, median: one agent {one:.1f} s, two agents {two:.1f} s: two take {two / one:.2f}x "
          "the time")


def nodes_alone(urls: list[str], db: Path, args, env: dict) -> dict[str, list[float]]:
    """Seconds to time the nodes stored in ``db`` again through one agent and through both, alternately."""
    os.environ["NETADAPT_AGENT_TOKEN"] = env["NETADAPT_AGENT_TOKEN"]
    from devices import usable_device
    from lut.table import LatencyTable
    from profilers import ProfileConfig, get_profiler
    from profilers.base import NODE_WARMUP

    config = ProfileConfig(warmup=NODE_WARMUP, repeats=args.repeats or 50)
    devices = {"one agent": usable_device(f"remote:{urls[0]}"), "two agents": usable_device("remote:" + ",".join(urls))}
    with LatencyTable(f"sqlite:///{db}") as table:
        keys = [row.key for row in table.rows(devices["one agent"].fingerprint())]
    seconds: dict[str, list[float]] = {arm: [] for arm in devices}
    for r in range(args.rounds):
        for arm in (list(devices) if r % 2 == 0 else list(devices)[::-1]):
            profiler = get_profiler(devices[arm], config)
            t0 = time.perf_counter()
            if arm == "one agent":
                for key in keys:
                    profiler.measure_node(key)
            else:
                for _ in profiler.measure_many(keys):
                    pass
            seconds[arm].append(time.perf_counter() - t0)
            print(f"round {r + 1} {arm:>10}: {len(keys)} nodes timed in {seconds[arm][-1]:.1f} s", flush=True)
    return seconds


if __name__ == "__main__":
    main()
