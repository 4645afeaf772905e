import os

import pytest
from nodekeys import conv_key, gemm_key, relu_key
from sqlalchemy import text

from devices.cpu import CpuDevice
from devices.fake import FakeDevice
from lut.engine import default_lut_path
from lut.nodekey import NodeKey
from lut.stats import Stats
from lut.table import LatencyTable
from netadapt.errors import UserError

FP = FakeDevice().fingerprint()
OTHER = FakeDevice(threads=2).fingerprint()
SIG = conv_key(16, 32, activation="Relu", domain="com.microsoft")


@pytest.fixture
def table(tmp_path):
    with LatencyTable(tmp_path / "lut.db") as t:
        yield t


@pytest.fixture(params=["sqlite-upsert", "generic"])
def any_table(request, tmp_path, monkeypatch):
    t = LatencyTable(str(tmp_path / "lut.db"))
    if request.param == "generic":  # exercise the fallback used by databases without ON CONFLICT
        import lut.upsert

        monkeypatch.setattr(lut.upsert, "_statement", lambda *args: None)
    yield t
    t.close()


def _count(t):
    with t.database.engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM node_measurements"))


def test_same_signature_twice_is_one_row(any_table):
    assert any_table.record(FP, SIG, Stats.constant(1.0)) is True
    assert any_table.record(FP, SIG, Stats.constant(2.0)) is False
    assert _count(any_table) == 1
    assert any_table.lookup(FP, SIG).median == 1.0


def test_force_replaces(any_table):
    any_table.record(FP, SIG, Stats.constant(1.0))
    assert any_table.record(FP, SIG, Stats.from_samples([3.0, 4.0, 5.0]), force=True) is True
    assert any_table.lookup(FP, SIG) == Stats(4.0, 3.2, 4.8, 4.0, pytest.approx(0.8164966), 3)
    assert _count(any_table) == 1


def test_fingerprints_never_mixed(table):
    table.record(FP, SIG, Stats.constant(1.0))
    table.record(OTHER, SIG, Stats.constant(9.0))
    assert table.lookup(FP, SIG).median == 1.0
    assert table.lookup(OTHER, SIG).median == 9.0
    assert table.lookup(CpuDevice().fingerprint(), SIG) is None
    assert table.devices.id(FP) != table.devices.id(OTHER)
    assert [(name, rows) for _, name, _, rows in table.devices.all()] == [("fake", 1), ("fake", 1)]


def test_device_or_fingerprint_and_device_id_idempotent(table):
    dev = FakeDevice()
    assert table.devices.id(dev) == table.devices.id(FP) == table.devices.id(dict(FP))
    assert len(table.devices.all()) == 1
    assert table.devices.all()[0][2] == FP


def test_lookup_many_and_missing(table):
    sigs = [conv_key(c, d) for c in (4, 8, 16) for d in (4, 8)]
    extra = relu_key((1, 8, 8, 8))
    table.record_many(FP, [(s, Stats.constant(s.channels[0] + s.channels[1] / 100)) for s in sigs[:4]])
    found = table.lookup_many(FP, sigs + [extra])
    assert set(found) == set(sigs[:4])
    assert found[sigs[1]].median == pytest.approx(4.08)
    wanted = [sigs[5], extra, sigs[0], sigs[5], sigs[4]]
    assert table.missing(FP, wanted) == [sigs[5], extra, sigs[4]]
    assert table.missing(OTHER, wanted) == [sigs[5], extra, sigs[0], sigs[4]]


def test_rows_and_stats(table):
    table.record(FP, SIG, Stats.constant(1.0))
    table.record(FP, gemm_key(8, 4), Stats.constant(0.5))
    table.record(OTHER, SIG, Stats.constant(2.0))
    fid, oid = table.devices.id(FP), table.devices.id(OTHER)
    assert table.stats() == {fid: {"microsoft.Conv": 1, "Gemm": 1}, oid: {"microsoft.Conv": 1}}
    assert [r.key.op for r in table.rows(FP)] == ["Gemm", "microsoft.Conv"]
    assert [r.key for r in table.rows(FP)] == [gemm_key(8, 4), SIG]
    assert [r.stats.median for r in table.rows(op="microsoft.Conv")] == [1.0, 2.0]
    assert [r.device_id for r in table.rows(oid)] == [oid]
    assert len(table.rows(limit=2)) == 2


def test_a_key_survives_storage_exactly(table):
    key = NodeKey.make("", "Reshape", 17, {"allowzero": 0},
                       [relu_key((2, 8, 4, 4)).inputs[0],
                        NodeKey.from_json(conv_key(8, 8).text).inputs[1].__class__((2,), "int64", "value", (2, -1))],
                       [relu_key((2, 128)).outputs[0]])
    table.record(FP, key, Stats.constant(0.25))
    [row] = table.rows(FP)
    assert row.key == key and row.key.key_id == key.key_id and row.key.inputs[1].values == (2, -1)


def test_a_table_made_before_node_keys_opens_and_takes_node_rows_beside_its_old_ones(tmp_path):
    """A table keyed by layer signatures (a ``measurements`` table, no node_measurements) opens read-only with
    no rows, takes node rows once written to, and its old rows are left as they were."""
    import sqlite3

    path = tmp_path / "old.db"
    LatencyTable(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE node_measurements")
    conn.execute("CREATE TABLE measurements (id INTEGER PRIMARY KEY, device_id INTEGER, op VARCHAR(32), "
                 "median_ms FLOAT)")
    conn.execute("INSERT INTO devices (fingerprint_id, fingerprint, name, created_at) VALUES (?, ?, 'fake', "
                 "'2026-01-01 00:00:00')", (FakeDevice().fingerprint_id(), __import__("json").dumps(FP)))
    conn.execute("INSERT INTO measurements (device_id, op, median_ms) VALUES (1, 'conv', 0.5)")
    conn.commit()
    conn.close()
    ro = LatencyTable(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert ro.stats() == {} and ro.rows() == [] and ro.lookup(FP, SIG) is None
    ro.close()
    with LatencyTable(str(path)) as table:  # writable: the node table is added beside the old rows
        table.record(FP, SIG, Stats.constant(1.0))
        assert table.stats() == {1: {"microsoft.Conv": 1}}
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT op, median_ms FROM measurements").fetchall() == [("conv", 0.5)]


def test_calibration(any_table):
    table = any_table
    assert table.calibration.get(FP, "overhead_ms") is None
    table.calibration.set(FP, "overhead_ms", 0.02)
    table.calibration.set(FP, "overhead_ms", 0.03)
    table.calibration.set(OTHER, "overhead_ms", 1.0)
    assert table.calibration.get(FP, "overhead_ms") == 0.03
    assert table.calibration.get(OTHER, "overhead_ms") == 1.0


def test_sqlite_pragmas(table):
    with table.database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_corrupt_file_is_user_error_and_untouched(tmp_path):
    bad = tmp_path / "bad.db"
    payload = os.urandom(8192)
    bad.write_bytes(payload)
    with pytest.raises(UserError, match=str(bad)):
        LatencyTable(str(bad))
    with pytest.raises(UserError, match="not a SQLite database"):
        LatencyTable(f"sqlite:///{bad}")
    assert bad.read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.db"]


def test_directory_path_is_user_error(tmp_path):
    with pytest.raises(UserError, match="directory"):
        LatencyTable(str(tmp_path))


def test_path_creates_parent_and_reopens(tmp_path):
    path = tmp_path / "a" / "b" / "lut.db"
    with LatencyTable(str(path)) as t:
        t.record(FP, SIG, Stats.constant(1.5))
    with LatencyTable(f"sqlite:///{path}") as t:
        assert t.lookup(FP, SIG).median == 1.5


def test_in_memory_url():
    with LatencyTable("sqlite://") as t:
        t.record(FP, SIG, Stats.constant(1.0))
        assert t.lookup(FP, SIG).median == 1.0


def test_default_path_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NETADAPT_LUT", str(tmp_path / "env.db"))
    assert default_lut_path() == str(tmp_path / "env.db")
    with LatencyTable() as t:
        assert t.label == str(tmp_path / "env.db")
    monkeypatch.delenv("NETADAPT_LUT")
    assert default_lut_path().endswith(os.path.join(".cache", "netadapt", "lut.db"))


def test_a_read_only_table_from_before_model_measurements_still_opens(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    LatencyTable(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE model_measurements")  # as an earlier version made it
    conn.commit()
    conn.close()
    table = LatencyTable(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert table.devices.all() == []
    table.close()
    with sqlite3.connect(path) as conn:
        assert "model_measurements" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
