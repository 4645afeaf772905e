"""bench/node_warmup.py: every node of the first iteration's search timed with two warm-up settings,
alternating, and compared."""

import re

from benches import load_bench


def _bench():
    return load_bench("node_warmup")


def test_both_settings_time_the_same_nodes_and_the_fake_device_shows_no_difference(capsys):
    _bench().main(["--model", "digits_cnn", "--input-shape", "4x1x32x32", "--channel-step", "16", "--device",
                   "fake", "--repeats", "2", "--warmup-b", "0"])
    out = capsys.readouterr().out
    nodes = int(re.search(r"(\d+) nodes of the first iteration's search", out).group(1))
    assert nodes > 10
    assert re.search(r"^\s+A\s+10\s", out, re.M) and re.search(r"^\s+B\s+0\s", out, re.M)
    # the fake device's latency is a function of the node alone: no noise, no difference
    assert re.search(r"B against A: median \+0\.00%, median \|B/A - 1\| 0\.00%, p90 0\.00%; sum of the "
                     r"nodes' medians \+0\.00%", out)


def test_on_the_cpu_every_node_is_timed_twice_with_each_setting(capsys):
    _bench().main(["--model", "digits_cnn", "--input-shape", "2x1x16x16", "--channel-step", "16", "--device",
                   "cpu", "--repeats", "3", "--limit", "6"])
    out = capsys.readouterr().out
    assert "6 nodes" in out and "2 takes per setting and node" in out
    timed = [float(m) for m in re.findall(r"^\s+[AB]\s+\d+\s+[\d.]+\s+([\d.]+)\s", out, re.M)]
    assert len(timed) == 2 and all(t > 0 for t in timed)
