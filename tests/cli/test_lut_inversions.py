import re

from click.testing import CliRunner
from nodekeys import conv_key

from lut.stats import Stats
from lut.table import LatencyTable
from netadapt.cli import cli, main


def _conv(cout):
    return conv_key(16, cout, domain="com.microsoft.nchwc")


def test_lut_inversions_lists_slower_smaller_counts(tmp_path):
    db = str(tmp_path / "t.db")
    table = LatencyTable(db)
    for cout, ms in [(8, 1.0), (16, 1.6), (24, 1.2), (32, 2.0)]:
        table.record({"kind": "fake"}, _conv(cout), Stats.constant(ms))
    table.close()
    result = CliRunner().invoke(cli, ["lut", "inversions", "--lut", db])
    assert result.exit_code == 0, result.output
    assert "1 of 3 measured channel counts are slower than a larger count" in result.output
    row = [line for line in result.output.splitlines() if line.startswith("cout")]
    assert len(row) == 1 and re.search(r"\b16\s+1\.6000\s+24\s+1\.2000\s+33\.3%", row[0]), result.output


def test_lut_inversions_asks_for_a_device_when_there_are_several(tmp_path, capsys):
    db = str(tmp_path / "t.db")
    table = LatencyTable(db)
    table.record({"kind": "fake", "n": 1}, _conv(8), Stats.constant(1.0))
    table.record({"kind": "fake", "n": 2}, _conv(8), Stats.constant(1.0))
    table.close()
    import pytest

    with pytest.raises(SystemExit) as exit_:
        main(["lut", "inversions", "--lut", db])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "choose one with --device-id" in err
    with pytest.raises(SystemExit):
        main(["lut", "inversions", "--lut", db, "--device-id", "9"])
    assert "no device 9" in capsys.readouterr().err
