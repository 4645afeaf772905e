import os

import pytest
from sqlalchemy import text

from devices.cpu import CpuDevice
from devices.fake import FakeDevice
from lut.engine import default_lut_path
from lut.signature import LayerSignature
from lut.table import LatencyTable, NotInTable
from netadapt.errors import UserError
from profilers.stats import Stats

FP = FakeDevice().fingerprint()
OTHER = FakeDevice(threads=2).fingerprint()
SIG = LayerSignature("conv", 1, 16, 8, 8, 32, kernel=3, padding=1, activation="relu")


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
    with t._engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM measurements"))


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
    assert table.device_id(FP) != table.device_id(OTHER)
    assert [(name, rows) for _, name, _, rows in table.devices()] == [("fake", 1), ("fake", 1)]


def test_device_or_fingerprint_and_device_id_idempotent(table):
    dev = FakeDevice()
    assert table.device_id(dev) == table.device_id(FP) == table.device_id(dict(FP))
    assert len(table.devices()) == 1
    assert table.devices()[0][2] == FP


def test_lookup_many_and_missing(table):
    sigs = [LayerSignature("conv", 1, c, 8, 8, d, kernel=3, padding=1) for c in (4, 8, 16) for d in (4, 8)]
    extra = LayerSignature("add", 1, 8, 8, 8, 8)
    table.record_many(FP, [(s, Stats.constant(s.cin + s.cout / 100)) for s in sigs[:4]])
    found = table.lookup_many(FP, sigs + [extra])
    assert set(found) == set(sigs[:4])
    assert found[sigs[1]].median == pytest.approx(4.08)
    wanted = [sigs[5], extra, sigs[0], sigs[5], sigs[4]]
    assert table.missing(FP, wanted) == [sigs[5], extra, sigs[4]]
    assert table.missing(OTHER, wanted) == [sigs[5], extra, sigs[0], sigs[4]]


def test_rows_and_stats(table):
    table.record(FP, SIG, Stats.constant(1.0))
    table.record(FP, LayerSignature("add", 1, 8, 8, 8, 8), Stats.constant(0.5))
    table.record(OTHER, SIG, Stats.constant(2.0))
    fid, oid = table.device_id(FP), table.device_id(OTHER)
    assert table.stats() == {fid: {"conv": 1, "add": 1}, oid: {"conv": 1}}
    assert [r.sig.op for r in table.rows(FP)] == ["add", "conv"]
    assert [r.stats.median for r in table.rows(op="conv")] == [1.0, 2.0]
    assert [r.device_id for r in table.rows(oid)] == [oid]
    assert len(table.rows(limit=2)) == 2


def _grid(table, make, cins, couts, latency):
    for c in cins:
        for d in couts:
            s = make(c, d)
            table.record(FP, s, Stats.constant(latency(s)))


def test_bilinear_on_linear_grid(table):
    make = lambda c, d: LayerSignature("conv", 1, c, 8, 8, d, kernel=3, padding=1, activation="relu")
    latency = lambda s: 0.05 + 0.001 * s.cin + 0.002 * s.cout + 0.0001 * s.cin * s.cout
    _grid(table, make, (8, 16, 32), (8, 16, 32), latency)
    ms, method = table.estimate(FP, make(12, 24))
    assert ms == pytest.approx(0.05 + 0.012 + 0.048 + 0.0288)
    assert method == "bilinear(cin,cout) from 4 rows: cin 8..16, cout 16..32"
    assert table.estimate(FP, make(16, 16)) == (pytest.approx(latency(make(16, 16))), "exact")


def test_linear_in_macs_along_one_axis(table):
    make = lambda c, d: LayerSignature("conv", 1, c, 8, 8, d, kernel=3, padding=1)
    latency = lambda s: 0.03 + 1e-6 * s.macs
    _grid(table, make, (16,), (8, 32), latency)
    ms, method = table.estimate(FP, make(16, 20))
    assert ms == pytest.approx(latency(make(16, 20)))
    assert method == f"linear-macs along cout (cin=16) from 2 rows: macs {make(16, 8).macs}..{make(16, 32).macs}"
    ms, method = table.estimate(FP, make(16, 48))
    assert ms == pytest.approx(latency(make(16, 48)))
    assert "extrapolated" in method


def test_depthwise_interpolates_along_channels(table):
    make = lambda c: LayerSignature("conv", 1, c, 16, 16, c, kernel=3, padding=1, groups=c)
    for c in (16, 64):
        table.record(FP, make(c), Stats.constant(0.01 * c))
    table.record(FP, LayerSignature("conv", 1, 32, 16, 16, 32, kernel=3, padding=1), Stats.constant(99.0))
    ms, method = table.estimate(FP, make(32))
    assert ms == pytest.approx(0.32) and method.startswith("linear-macs along channels from 2 rows")


def test_nothing_comparable_raises(table):
    table.record(FP, SIG, Stats.constant(1.0))
    other_kernel = LayerSignature("conv", 1, 16, 8, 8, 16, kernel=5, padding=2, activation="relu")
    with pytest.raises(NotInTable, match="profile it first") as err:
        table.estimate(FP, other_kernel)
    assert isinstance(err.value, KeyError) and isinstance(err.value, UserError)
    with pytest.raises(NotInTable):
        table.estimate(OTHER, SIG)


def test_calibration(any_table):
    table = any_table
    assert table.get_calibration(FP, "overhead_ms") is None
    table.set_calibration(FP, "overhead_ms", 0.02)
    table.set_calibration(FP, "overhead_ms", 0.03)
    table.set_calibration(OTHER, "overhead_ms", 1.0)
    assert table.get_calibration(FP, "overhead_ms") == 0.03
    assert table.get_calibration(OTHER, "overhead_ms") == 1.0


def test_sqlite_pragmas(table):
    with table._engine.connect() as conn:
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
    assert table.devices() == []
    table.close()
    with sqlite3.connect(path) as conn:
        assert "model_measurements" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
