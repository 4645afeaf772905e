"""Profiling through a real agent: rows under the remote fingerprint, `lut check`, paired comparisons, and
faults that end in one line and exit status 2 with only complete rows stored."""

import re
import sqlite3

import pytest
import torch
from agentproc import TOKEN, Agent, free_port, in_background, wait_for_rows
from click.testing import CliRunner

from devices import get_device
from netadapt.cli import cli, main
from netadapt.errors import UserError

SMALL = ["--model", "digits_cnn", "--input-shape", "1x1x16x16", "--channel-step", "32", "--warmup", "1",
         "--repeats", "3", "--no-progress"]


def _main(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def _rows(db) -> list[tuple[int, int]]:
    """(device id, sample count) of every stored node measurement."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT device_id, count FROM node_measurements").fetchall()


def test_profile_and_lut_check_store_rows_under_the_remote_fingerprint(remote, tmp_path):
    from lut.table import LatencyTable

    lut = str(tmp_path / "lut.db")
    result = CliRunner().invoke(cli, ["profile", "--device", remote, *SMALL, "--lut", lut])
    assert result.exit_code == 0, result.output
    nodes = int(re.search(r"(\d+) nodes measured", result.output).group(1))
    assert nodes > 10
    device = get_device(remote)
    fp = device.fingerprint()
    assert fp["kind"] == "remote" and fp["provider"] == "CPUExecutionProvider" and fp["intra_op_threads"] == 1
    assert device.fingerprint_id() != get_device("cpu").fingerprint_id()
    assert get_device(remote, threads=2).fingerprint_id() != device.fingerprint_id()
    with LatencyTable(lut) as table:
        [(_, _, stored_fp, count)] = table.devices.all()
        assert stored_fp == fp and count == nodes
        assert all(row.stats.count == 3 for row in table.rows(fp))
    check = CliRunner().invoke(cli, ["lut", "check", "--device", remote, "--model", "digits_cnn", "--input-shape",
                                     "1x1x16x16", "--warmup", "1", "--repeats", "3", "--lut", lut])
    assert check.exit_code == 0, check.output
    m = re.search(r"table estimate ([\d.]+) ms \((\d+) nodes\), measured ([\d.]+) ms", check.output)
    assert m and float(m.group(1)) > 0 and float(m.group(3)) > 0, check.output
    assert "nchwc" in check.output or "FusedConv" in check.output  # the agent's optimised graph is what is keyed


def test_a_paired_comparison_runs_alternately_on_the_agent(remote, tmp_path):
    from netadapt.export import export_bytes
    from netadapt.latency.paired import PairedConfig, compare_models
    from netadapt.models import create_model

    torch.manual_seed(0)
    shape = (1, 1, 16, 16)
    big = export_bytes(create_model("digits_cnn", width_mult=1.0), shape)
    small = export_bytes(create_model("digits_cnn", width_mult=0.25), shape)
    device = get_device(remote)
    too_big = export_bytes(create_model("digits_cnn", width_mult=2.0), shape)  # 4.6 MB, over the agent's 4 MiB
    with pytest.raises(UserError, match=r"4\d{6}-byte model is over the limit of the agent"):
        compare_models(device, too_big, small, shape)
    result = compare_models(device, big, small, shape,
                            config=PairedConfig(warmup=2, min_pairs=20, max_pairs=40, max_seconds=20))
    assert 20 <= result.pairs <= 40 and len(result.ratios) == result.pairs
    assert result.ratio > 1.5 and result.a_ms > result.b_ms > 0  # about 16x the multiply-adds
    assert result.low <= result.ratio <= result.high


def test_the_paired_timers_fetch_alternated_batches():
    from profilers.remote_profiler import BATCH_PAIRS, RemoteTimer

    class Device:
        waiting_timer = None

        def __init__(self):
            self.calls = []

        def send_model_json(self, path, model, params):
            return {"id": model.decode()}

        def request_json(self, method, path, params):
            ids = params["ids"].split(",")
            self.calls.append(ids)
            return {"times_ms": [[float(i + 1)] * params["pairs"] for i, _ in enumerate(ids)]}

    device = Device()
    a, b = RemoteTimer(device, b"a", (1, 1, 4, 4)), RemoteTimer(device, b"b", (1, 1, 4, 4))
    assert a.partner is b and b.partner is a and device.waiting_timer is None
    times = [(a(), b()) if i % 2 == 0 else (b(), a())[::-1] for i in range(BATCH_PAIRS + 1)]
    assert times == [(1.0, 2.0)] * (BATCH_PAIRS + 1)
    assert device.calls == [["a", "b"], ["a", "b"]]  # one request per batch of pairs, both models in it


def test_remote_device_names_are_checked():
    with pytest.raises(UserError, match="remote:http://HOST:PORT"):
        get_device("remote:ftp://h:1")
    with pytest.raises(UserError, match="unknown setting 'colour'"):
        get_device("remote:http://127.0.0.1:1?colour=red")
    with pytest.raises(UserError, match="no option 'colour'"):
        get_device("remote:http://127.0.0.1:1", colour="red")
    dev = get_device("remote:http://127.0.0.1:1/?provider=CUDAExecutionProvider&device_id=1&timeout=5", threads=3,
                     gpu_id=0)
    assert dev.settings() == {"provider": "CUDAExecutionProvider", "threads": 3, "optimization": "all",
                              "device_id": 1}
    assert dev.base == "http://127.0.0.1:1" and dev.timeout == 5


@pytest.mark.parametrize("fault, expected", [
    ("unreachable", "is unreachable"),
    ("wrong token", "refused the token"),
    ("timeout", "did not answer within"),
])
def test_faults_give_one_line_and_exit_2(agent, tmp_path, monkeypatch, capsys, fault, expected):
    url = agent.url
    monkeypatch.setenv("NETADAPT_AGENT_TOKEN", TOKEN)
    if fault == "unreachable":
        url = f"http://127.0.0.1:{free_port()}"
    elif fault == "wrong token":
        monkeypatch.setenv("NETADAPT_AGENT_TOKEN", "not-the-token")
    else:
        url += "?timeout=0.000001"
    lut = tmp_path / "lut.db"
    code, _, err = _main(["profile", "--device", f"remote:{url}", *SMALL, "--lut", str(lut)], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("Error: ") and expected in err, err
    assert not lut.exists() or _rows(lut) == []


def test_an_agent_killed_mid_run_gives_one_line_and_a_rerun_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NETADAPT_AGENT_TOKEN", TOKEN)
    lut = tmp_path / "lut.db"
    agent = Agent(tmp_path / "first")
    argv = ["profile", *SMALL, "--repeats", "20", "--lut", str(lut)]
    try:
        worker, outcome = in_background(["profile", "--device", f"remote:{agent.url}", *argv[1:]])
        wait_for_rows(lut, 3, worker, 60)
        agent.stop()
        worker.join(60)
    finally:
        agent.stop()
    err = capsys.readouterr().err
    assert outcome.get("code") == 2, err
    assert err.strip().count("\n") == 0 and f"the agent at {agent.url}" in err, err
    assert "dropped the connection mid-request" in err or "is unreachable" in err, err
    before = _rows(lut)
    assert len(before) >= 3 and all(count == 20 for _, count in before)  # only complete measurements
    again = Agent(tmp_path / "second")  # another port: the rows belong to the device, not its address
    try:
        code, out, err = _main(["profile", "--device", f"remote:{again.url}", *argv[1:]], capsys)
    finally:
        again.stop()
    assert code == 0, err
    measured = int(re.search(r"(\d+) nodes measured", out).group(1))
    after = _rows(lut)
    assert len(after) == len(before) + measured and measured > 0
    assert {d for d, _ in after} == {d for d, _ in before}  # one device
