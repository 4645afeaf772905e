from click.testing import CliRunner
from nodekeys import conv_key, relu_key

from devices.cpu import CpuDevice
from lut.stats import Stats
from lut.table import LatencyTable
from netadapt.cli import cli


def test_lut_retake_times_unsteady_rows_again_and_keeps_the_faster_take(tmp_path):
    db = str(tmp_path / "t.db")
    device = CpuDevice(threads=1)
    unsteady, steady = conv_key(8, 8, hw=16), relu_key((1, 4, 4, 4))
    # a take made while other work ran: half its runs 500 ms slow
    loaded = Stats.from_samples([0.05] * 10 + [500.0] * 20)
    table = LatencyTable(db)
    table.record(device, unsteady, loaded)
    table.record(device, steady, Stats.constant(123.0))  # steady, however wrong: left alone
    table.record({"kind": "fake"}, unsteady, loaded)  # another device's row: not this machine's to mend
    table.close()

    listed = CliRunner().invoke(cli, ["lut", "retake", "--lut", db, "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert "1 of 2 rows of this device" in listed.output and "500.0000" in listed.output
    table = LatencyTable(db)
    assert table.lookup(device, unsteady).median == loaded.median  # a dry run times nothing
    table.close()

    mended = CliRunner().invoke(cli, ["lut", "retake", "--lut", db, "--repeats", "10", "--warmup", "2"])
    assert mended.exit_code == 0, mended.output
    assert "1 of 1 rows replaced by a faster take" in mended.output
    table = LatencyTable(db)
    again = table.lookup(device, unsteady)
    assert again.count == 10 and again.median < 50  # a 16x16 conv of 8 channels: far under 500 ms
    assert table.lookup(device, steady).median == 123.0
    assert table.lookup({"kind": "fake"}, unsteady).median == loaded.median
    table.close()

    nothing = CliRunner().invoke(cli, ["lut", "retake", "--lut", db, "--max-spread", "1000"])
    assert nothing.exit_code == 0 and "0 of 2 rows" in nothing.output
