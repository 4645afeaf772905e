import re

import pytest

from click.testing import CliRunner

from netadapt.cli import cli


def test_lut_check_on_the_fake_device(tmp_path):
    db = tmp_path / "t.db"
    result = CliRunner().invoke(cli, ["lut", "check", "--device", "fake", "--model", "resnet20",
                                      "--input-shape", "1x3x16x16", "--lut", str(db)])
    assert result.exit_code == 0, result.output
    m = re.search(r"table estimate ([\d.]+) ms \((\d+) nodes\), measured ([\d.]+) ms: error ([+-][\d.]+)%",
                  result.output)
    assert m, result.output
    table_ms, nodes, measured = float(m.group(1)), int(m.group(2)), float(m.group(3))
    # the nodes the fake device runs: 21 convolutions (10 with their ReLU fused), 9 additions with their
    # ReLU, pooling, flatten and the classifier
    assert nodes == 42
    assert float(m.group(4)) == pytest.approx(100 * (table_ms / measured - 1), abs=0.1)
    per_node = [float(x) for x in re.findall(r"^\S+\s+.+?\s+([\d.]+)\s+[\d.]+%$", result.output, re.M)]
    assert len(per_node) == 42 and "FusedConv" in result.output
    assert sum(per_node) == pytest.approx(table_ms, abs=1e-3)
    # the fake device's whole model is the sum of its nodes
    assert table_ms == pytest.approx(measured, abs=1e-3)


def test_lut_check_shows_the_stored_calibration(tmp_path):
    from devices import get_device
    from lut.table import LatencyTable
    from netadapt.latency.calibration import Calibration

    db = tmp_path / "t.db"
    table = LatencyTable(str(db))
    Calibration({"table_ms": 2.0, "units": 0.0, "one": 0.5}, 12).save(table, get_device("fake").fingerprint())
    table.close()
    result = CliRunner().invoke(cli, ["lut", "check", "--device", "fake", "--model", "resnet20", "--no-layers",
                                      "--input-shape", "1x3x16x16", "--lut", str(db)])
    assert result.exit_code == 0, result.output
    table_ms = float(re.search(r"table estimate ([\d.]+) ms", result.output).group(1))
    calibrated = float(re.search(r"calibrated estimate ([\d.]+) ms", result.output).group(1))
    assert calibrated == pytest.approx(2.0 * table_ms + 0.5, abs=2e-4)
    assert "calibration fitted on 12 models before this one: table_ms +2" in result.output
    # the check's own measurement is stored and the calibration refitted on it alone
    assert "refitted on 1 whole models" in result.output
    table = LatencyTable(str(db))
    fp = get_device("fake").fingerprint()
    [(feats, measured)] = table.models.measured_on(fp)
    assert feats["table_ms"] == pytest.approx(table_ms, abs=2e-4) and feats["units"] == 42
    assert Calibration.load(table, fp).models == 1
    table.close()
