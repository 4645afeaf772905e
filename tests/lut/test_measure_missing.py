import pytest

from devices.cpu import CpuDevice
from lut.measure import measure_missing
from lut.nodework import NodeWork
from lut.table import LatencyTable
from profilers import ProfileConfig
from profilers.fake import FakeProfiler
from profilers.ort_profiler import OrtProfiler

from nodekeys import conv_key

SIGS = [conv_key(c, 16) for c in (4, 8, 12)]


@pytest.fixture
def table(tmp_path):
    with LatencyTable(str(tmp_path / "lut.db")) as t:
        yield t


def test_measures_only_missing(table):
    prof = FakeProfiler()
    fp = prof.device.fingerprint()
    first = measure_missing(table, prof, SIGS[:2] + SIGS[:1], progress=False)
    assert (first.measured, first.skipped) == (2, 0)
    second = measure_missing(table, prof, SIGS, progress=False)
    assert (second.measured, second.skipped) == (1, 2)
    assert table.lookup(fp, SIGS[2]).median == pytest.approx(0.01 + 0.02 * NodeWork.of(SIGS[2]).macs / 1e6)
    forced = measure_missing(table, FakeProfiler(ms_per_mmac=1.0), SIGS, force=True, progress=False)
    assert (forced.measured, forced.skipped) == (3, 0)
    assert table.lookup(fp, SIGS[0]).median == pytest.approx(0.01 + NodeWork.of(SIGS[0]).macs / 1e6)


class _Crashing(FakeProfiler):
    def measure_node(self, key):
        if key == SIGS[2]:
            raise KeyboardInterrupt
        return super().measure_node(key)


def test_interrupted_run_keeps_measured_rows(table):
    prof = _Crashing()
    with pytest.raises(KeyboardInterrupt):
        measure_missing(table, prof, SIGS, progress=False)
    assert table.missing(prof.device, SIGS) == [SIGS[2]]


def test_real_profiler_fills_table(table):
    prof = OrtProfiler(CpuDevice(threads=1), ProfileConfig(warmup=1, repeats=5))
    summary = measure_missing(table, prof, SIGS[:2], progress=False)
    assert summary.measured == 2 and summary.skipped == 0
    assert 0 < summary.timed_seconds <= summary.seconds
    rows = table.rows(CpuDevice(threads=1))
    assert [r.key for r in rows] == SIGS[:2] and all(r.stats.count == 5 for r in rows)


def test_progress_bar_goes_to_stderr(table, capsys):
    measure_missing(table, FakeProfiler(), SIGS, progress=True)
    err = capsys.readouterr().err
    assert "profiling on fake" in err and "3/3" in err
