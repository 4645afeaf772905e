"""bench/profile_grid.py: exported and written graphs, and graphs run or read from declared shapes, side by
side, find the same nodes."""

import re

import pytest
from benches import load_bench

ARGS = ["--model", "digits_cnn", "--input-shape", "4x1x32x32", "--scope", "grid", "--channel-step", "16",
        "--warmup", "0", "--repeats", "2", "--rounds", "1"]


def _bench():
    return load_bench("profile_grid")


def _rows(out):
    """{(graphs, inspection): (networks, written, nodes)}"""
    return {(m[0], m[1]): tuple(map(int, m[2:])) for m in re.findall(
        r"^\s*(exported|written)\s+(run|declared)\s+\w+\s+\w+\s+\d+\s+(\d+)\s+\d+\s+(\d+)\s+(\d+)", out, re.M)}


def _rule_rows(out):
    """{rules: (networks, joint exports, written, nodes)}"""
    return {m[0]: tuple(map(int, m[1:])) for m in re.findall(
        r"^\s*written\s+declared\s+(own|joint)\s+\w+\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M)}


def test_graphs_comparison_prints_both_runs_with_the_same_nodes_and_a_ratio(capsys):
    _bench().main([*ARGS, "--device", "fake", "--compare", "graphs"])
    out = capsys.readouterr().out
    rows = _rows(out)
    exported, written = rows["exported", "declared"], rows["written", "declared"]
    assert exported[0] == written[0] > 10  # the same networks
    assert exported[1] == 0 < written[1]  # some written rather than exported
    assert exported[2] == written[2] > 20  # the same nodes measured into each fresh table
    assert re.search(r"median wall: exported [\d.]+ s, written [\d.]+ s: [\d.]+x the time", out)


@pytest.mark.parametrize("device", ["fake", "cpu"])
def test_inspection_comparison_finds_the_same_nodes(device, capsys):
    _bench().main([*ARGS, "--device", device, "--compare", "inspection"])
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["written", "run"] == rows["written", "declared"]  # networks, written and nodes alike
    assert rows["written", "run"][0] > 10 and rows["written", "run"][2] > 10
    assert re.search(r"median wall: run [\d.]+ s, declared [\d.]+ s: [\d.]+x the time; "
                     r"optimise\+inspect per network \d+ and \d+ ms: [\d.]+x", out)


@pytest.mark.parametrize("device", ["fake", "cpu"])
def test_rules_comparison_writes_more_graphs_from_three_joint_cuts_and_finds_the_same_nodes(device, capsys):
    _bench().main([*ARGS, "--device", device, "--compare", "rules"])
    out = capsys.readouterr().out
    rows = _rule_rows(out)
    (own_networks, own_joint, own_written, own_nodes) = rows["own"]
    (networks, joint, written, nodes) = rows["joint"]
    assert own_joint == 0 and joint == 3  # three networks with every group cut at once
    assert networks == own_networks + 3  # the same grid, and those three
    assert written > own_written  # no group's first two cuts exported
    assert nodes == own_nodes > 20  # the same nodes measured into each fresh table
    assert re.search(r"median wall: own cuts [\d.]+ s, joint [\d.]+ s: [\d.]+x the time; .*"
                     r"overhead [\d.]+x and [\d.]+x the timed runs", out)


@pytest.mark.parametrize("device", ["fake", "cpu"])
def test_batches_comparison_finds_the_same_nodes_with_fewer_optimisations(device, capsys):
    _bench().main([*ARGS, "--device", device, "--compare", "batches"])
    out = capsys.readouterr().out
    rows = {int(m[0]): tuple(map(int, m[1:])) for m in re.findall(
        r"^\s*written\s+declared\s+joint\s+\w+\s+(\d+)\s+(\d+)\s+\d+\s+(\d+)\s+(\d+)", out, re.M)}
    assert set(rows) == {0, 16}
    assert rows[0] == rows[16]  # networks, written and nodes alike
    assert rows[16][0] > 10 and rows[16][2] > 10
    assert re.search(r"median wall: one by one [\d.]+ s, batches [\d.]+ s: [\d.]+x the time; "
                     r"optimise\+inspect per network \d+ and \d+ ms: [\d.]+x", out)
