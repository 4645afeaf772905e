import json
import os

import pytest
from click.testing import CliRunner
from nodekeys import conv_key, relu_key

from devices.fake import FakeDevice
from lut.stats import Stats
from lut.table import LatencyTable
from netadapt.cli import cli, main

SIGS = [conv_key(8, 16, hw=16, activation="Relu", domain="com.microsoft.nchwc"), relu_key((1, 16, 16, 16))]


@pytest.fixture
def filled(tmp_path):
    path = str(tmp_path / "lut.db")
    with LatencyTable(path) as table:
        table.record(FakeDevice(), SIGS[0], Stats.from_samples([0.1, 0.2, 0.3]))
        table.record(FakeDevice(), SIGS[1], Stats.constant(0.05, count=50))
    return path


def test_devices_lists_every_device():
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["device", "available", "fingerprint"]
    by_name = {line.split()[0]: line for line in lines[2:]}
    assert set(by_name) >= {"cpu", "cuda", "fake"}
    assert by_name["cpu"].split()[1] == "yes"
    assert by_name["fake"].split()[2] == FakeDevice().fingerprint_id()


def test_devices_json():
    result = CliRunner().invoke(cli, ["devices", "--json", "--threads", "2"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    assert rows["cpu"]["available"] is True
    assert rows["cpu"]["fingerprint"]["intra_op_threads"] == 2
    assert rows["fake"]["fingerprint"] == FakeDevice(2).fingerprint()


def test_lut_stats(filled):
    result = CliRunner().invoke(cli, ["lut", "stats", "--lut", filled])
    assert result.exit_code == 0, result.output
    assert f"Table: {filled}" in result.output
    row = result.output.splitlines()[-1]
    assert row.split()[:3] == ["1", FakeDevice().fingerprint_id(), "fake"]
    assert row.endswith("Relu 1, nchwc.Conv 1") and " 2 " in row


def test_lut_show_columns_and_filters(filled):
    result = CliRunner().invoke(cli, ["lut", "show", "--lut", filled])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["device", "node", "median_ms", "p10_ms", "p90_ms", "count"]
    assert lines[3].split()[-4:] == ["0.2000", "0.1200", "0.2800", "3"]
    assert SIGS[0].short() in lines[3] and SIGS[1].short() in lines[2]
    only_relu = CliRunner().invoke(cli, ["lut", "show", "--lut", filled, "--op", "Relu"]).output
    assert "nchwc.Conv" not in only_relu and "0.0500" in only_relu
    assert "No rows." in CliRunner().invoke(cli, ["lut", "show", "--lut", filled, "--device-id", "9"]).output
    limited = CliRunner().invoke(cli, ["lut", "show", "--lut", filled, "--limit", "1"]).output
    assert "first 1 rows" in limited


def test_lut_empty_table(tmp_path):
    result = CliRunner().invoke(cli, ["lut", "stats", "--lut", str(tmp_path / "new.db")])
    assert result.exit_code == 0 and "No devices measured yet." in result.output


def test_corrupt_table_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.db"
    payload = os.urandom(2048)
    bad.write_bytes(payload)
    with pytest.raises(SystemExit) as exit_info:
        main(["lut", "stats", "--lut", str(bad)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: lookup table") and str(bad) in err and "\n" not in err
    assert bad.read_bytes() == payload


def test_lut_stats_json(filled):
    result = CliRunner().invoke(cli, ["lut", "stats", "--lut", filled, "--json"])
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in result.output.splitlines()]
    assert row["fingerprint_id"] == FakeDevice().fingerprint_id() and row["rows"] == 2
    assert row["per_op"] == {"Relu": 1, "nchwc.Conv": 1}


def test_lut_check_json(tmp_path):
    result = CliRunner().invoke(cli, ["lut", "check", "--device", "fake", "--model", "resnet20", "--input-shape",
                                      "1x3x16x16", "--lut", str(tmp_path / "t.db"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["table_ms"] == sum(n["ms"] for n in data["nodes"]) and len(data["nodes"]) == 42
    assert data["measured_ms"] > 0 and data["input_shape"] == [1, 3, 16, 16]
