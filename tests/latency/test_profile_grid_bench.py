"""bench/profile_grid.py: exported and written graphs, side by side, find the same nodes."""

import importlib.util
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "profile_grid.py"


def test_the_comparison_prints_both_runs_with_the_same_nodes_and_a_ratio(capsys):
    spec = importlib.util.spec_from_file_location("profile_grid_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--model", "digits_cnn", "--input-shape", "4x1x32x32", "--device", "fake", "--scope", "grid",
                "--channel-step", "16", "--warmup", "0", "--repeats", "2", "--compare", "--rounds", "1"])
    out = capsys.readouterr().out
    rows = {m[0]: tuple(map(int, m[1:])) for m in re.findall(r"^\s*(exported|written)\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M)}
    assert rows["exported"][0] == rows["written"][0] > 10  # the same networks
    assert rows["exported"][1] == 0 < rows["written"][1]  # some written rather than exported
    assert rows["exported"][2] == rows["written"][2] > 20  # the same nodes measured into each fresh table
    assert re.search(r"median wall: exported [\d.]+ s, written [\d.]+ s: [\d.]+x the time", out)
