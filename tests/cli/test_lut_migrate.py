"""``netadapt lut migrate``: a table made before node keys loses its layer-signature rows, keeps the rest."""

import json
import sqlite3

from click.testing import CliRunner
from nodekeys import conv_key

from devices.fake import FakeDevice
from lut.stats import Stats
from lut.table import LatencyTable
from netadapt.cli import cli

# The layer-signature table of the schema before node keys, as those versions created it.
OLD_SCHEMA = """CREATE TABLE measurements (
    id INTEGER NOT NULL PRIMARY KEY, device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    op VARCHAR(32) NOT NULL, batch INTEGER NOT NULL, cin INTEGER NOT NULL, h INTEGER NOT NULL, w INTEGER NOT NULL,
    cout INTEGER NOT NULL, kernel INTEGER NOT NULL, stride INTEGER NOT NULL, padding INTEGER NOT NULL,
    groups INTEGER NOT NULL, activation VARCHAR(32) NOT NULL, dtype VARCHAR(16) NOT NULL, median_ms FLOAT NOT NULL,
    p10_ms FLOAT NOT NULL, p90_ms FLOAT NOT NULL, mean_ms FLOAT NOT NULL, std_ms FLOAT NOT NULL,
    count INTEGER NOT NULL, created_at DATETIME NOT NULL,
    CONSTRAINT uq_measurement_signature UNIQUE (device_id, op, batch, cin, h, w, cout, kernel, stride, padding,
                                                 groups, activation, dtype))"""


def _old_table(path):
    """A table file as versions before node keys left it: devices and layer-signature rows only."""
    fp = FakeDevice().fingerprint()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE devices (id INTEGER NOT NULL PRIMARY KEY, fingerprint_id VARCHAR(64) NOT NULL "
                     "UNIQUE, fingerprint TEXT NOT NULL, name VARCHAR(64) NOT NULL, created_at DATETIME NOT NULL)")
        conn.execute(OLD_SCHEMA)
        conn.execute("INSERT INTO devices VALUES (1, ?, ?, 'fake', '2026-01-01 00:00:00')",
                     (FakeDevice().fingerprint_id(), json.dumps(fp)))
        for cin in (8, 16):
            conn.execute("INSERT INTO measurements (device_id, op, batch, cin, h, w, cout, kernel, stride, padding, "
                         "groups, activation, dtype, median_ms, p10_ms, p90_ms, mean_ms, std_ms, count, created_at) "
                         "VALUES (1, 'conv', 1, ?, 8, 8, 32, 3, 1, 1, 1, 'relu', 'float32', 0.5, 0.4, 0.6, 0.5, "
                         "0.1, 50, '2026-01-01 00:00:00')", (cin,))


def test_an_old_table_is_hinted_at_then_migrated_keeping_its_node_rows(tmp_path):
    path = tmp_path / "old.db"
    _old_table(path)
    with LatencyTable(str(path)) as table:  # the new tables are added beside the old rows
        assert table.old_rows.count() == 2
        table.record(FakeDevice(), conv_key(16, 32), Stats.constant(1.0))
    shown = CliRunner().invoke(cli, ["lut", "stats", "--lut", str(path)])
    assert shown.exit_code == 0
    hint = [line for line in shown.output.splitlines() if "layer-signature" in line]
    assert len(hint) == 1 and "2 layer-signature rows" in hint[0] and "netadapt lut migrate" in hint[0]
    done = CliRunner().invoke(cli, ["lut", "migrate", "--lut", str(path)])
    assert done.exit_code == 0 and "removed 2 layer-signature rows" in done.output
    with LatencyTable(str(path)) as table:
        assert table.old_rows.count() == 0
        assert table.stats() == {1: {"Conv": 1}}  # the node row and its device stayed
    again = CliRunner().invoke(cli, ["lut", "migrate", "--lut", str(path)])
    assert again.exit_code == 0 and "nothing to migrate" in again.output
    assert "layer-signature" not in CliRunner().invoke(cli, ["lut", "stats", "--lut", str(path)]).output
