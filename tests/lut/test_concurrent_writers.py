import multiprocessing as mp

from sqlalchemy import text

from lut.table import LatencyTable


def _writer(path: str, worker: int, n: int, barrier) -> None:
    from nodekeys import conv_key

    from devices.fake import FakeDevice
    from lut.stats import Stats

    fp = FakeDevice().fingerprint()
    barrier.wait(timeout=60)  # both create the schema and write at the same moment
    table = LatencyTable(path)
    for i in range(n):
        sig = conv_key(1 + worker * 1000 + i, 8)
        assert table.record(fp, sig, Stats.constant(float(i)))
    table.close()


def test_two_processes_write_concurrently(tmp_path):
    path = str(tmp_path / "shared.db")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(path, w, 200, barrier)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    table = LatencyTable(path)
    with table.database.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM node_measurements")) == 400
        assert conn.scalar(text("SELECT count(*) FROM devices")) == 1
    table.close()
