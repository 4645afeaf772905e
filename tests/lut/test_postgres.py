"""The lookup table on a real PostgreSQL server: rows, concurrent writers, and `netadapt profile` through a URL."""

import multiprocessing as mp

import pytest
from click.testing import CliRunner

import pg_server
from devices.fake import FakeDevice
from lut.stats import Stats
from lut.table import LatencyTable

from nodekeys import conv_key

pytestmark = pytest.mark.skipif(pg_server.why_not() is not None, reason=str(pg_server.why_not()))


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    url, stop = pg_server.start(tmp_path_factory.mktemp("postgres"))
    yield url
    stop()


def test_rows_round_trip_and_fingerprints_stay_apart(pg_url):
    with LatencyTable(pg_url) as table:
        key = conv_key(16, 32, activation="Relu", domain="com.microsoft.nchwc")
        assert table.record(FakeDevice(), key, Stats.constant(1.5)) is True
        assert table.record(FakeDevice(), key, Stats.constant(9.0)) is False
        assert table.lookup(FakeDevice(), key).median == 1.5
        assert table.lookup(FakeDevice(threads=2), key) is None
        assert table.rows(FakeDevice())[0].key == key
        assert "password" not in table.label


def _writer(url, worker, barrier):
    from devices.fake import FakeDevice
    from lut.table import LatencyTable
    from lut.stats import Stats

    from nodekeys import conv_key

    barrier.wait(timeout=60)
    with LatencyTable(url) as table:
        for i in range(100):
            table.record(FakeDevice(), conv_key(1 + i % 60, 1 + worker * 100 + i), Stats.constant(float(i)))
            table.record(FakeDevice(), conv_key(500 + i, 1000), Stats.constant(1.0))  # both write these


def test_two_processes_write_at_once_without_duplicates(pg_url):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(pg_url, w, barrier)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    with LatencyTable(pg_url) as table:
        keys = [r.key.key_id for r in table.rows(FakeDevice())]
        assert len(keys) == len(set(keys))
        assert sum(1 for r in table.rows(FakeDevice()) if r.key.channels[1] == 1000) == 100


def test_profile_fills_a_team_table_through_its_url(pg_url):
    from netadapt.cli import cli

    args = ["profile", "--device", "fake", "--model", "resnet20", "--input-shape", "8x3x16x16", "--no-progress",
            "--lut", pg_url]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "0 nodes measured" in again.output
