"""AMC: every episode meets the budget, the agent learns a planted problem, a killed search resumes."""

import json
import statistics
from pathlib import Path

import pytest
import torch

from netadapt.amc import AmcConfig, AmcSearch, GroupLatency, PruningEnv
from netadapt.checkpoint import save_checkpoint
from netadapt.models.spec import ModelSpec

TESTS = Path(__file__).resolve().parents[1]


def _planted() -> GroupLatency:
    """Two groups of 64 channels, each removing 0.01 ms per channel removed, from a 1 ms network."""
    grid = range(8, 65, 8)
    return GroupLatency(start_ms=1.0, table_ms=1.0,
                        deltas={g: {c: -0.01 * (64 - c) for c in grid} for g in ("harmless", "harmful")},
                        features={"harmless": [64, 9, 1, 1000, 1, 0], "harmful": [64, 1, 1, 100, 1, 0]})


def _reward(counts):
    return 1.0 - 2.0 * (1 - counts["harmful"] / 64)  # pruning "harmless" costs nothing


def test_every_action_is_clipped_to_the_budget():
    env = PruningEnv(_planted(), budget_ms=0.6, lowest_ratio=0.125)
    for first in (0.0, 0.5, 1.0):
        env.reset()
        env.step(first)
        env.step(1.0)  # wants to keep everything: clipped
        assert env.estimate() <= 0.6 + 1e-9
    env.reset()
    env.step(1.0)
    _, count, done = env.step(1.0)
    assert done and count == 24  # keeping all of the first leaves 40 channels to remove from the second


def test_a_keep_ratio_rounds_up_to_the_grid_and_never_below_the_lowest_ratio():
    """A 16-channel group on a step of 8: any ratio above one half keeps all 16 (rounding down would keep 8
    unless the action were exactly 1), and the lowest ratio of 0.2 keeps at least 20% of 64 channels."""
    large = {c: -0.01 * (64 - c) for c in range(8, 65, 8)}
    latency = GroupLatency(start_ms=1.0, table_ms=1.0, deltas={"small": {8: -0.1, 16: 0.0}, "large": large})
    env = PruningEnv(latency, budget_ms=1.0, lowest_ratio=0.2)  # the budget binds nothing
    for action, small in ((1.0, 16), (0.9, 16), (0.4, 16), (0.3, 8), (0.0, 8)):
        env.reset()
        _, count, _ = env.step(action)
        assert count == small, (action, count)  # ratio 0.2 + 0.8 * action of 16 channels, rounded up
    env.reset()
    env.step(1.0)
    _, count, _ = env.step(0.0)
    assert count == 16  # 0.2 x 64 = 12.8 channels -> 16, not 8 (a keep ratio of 0.125)
    env.reset()
    env.step(1.0)
    _, count, _ = env.step(0.5)
    assert count == 40  # 0.6 x 64 = 38.4 -> 40


def test_the_agent_learns_to_prune_the_harmless_group(tmp_path):
    config = AmcConfig(episodes=160, warmup_episodes=40, noise=0.3, noise_decay=0.97, lowest_ratio=0.125, seed=1)
    search = AmcSearch(config, tmp_path, progress=False, reward_fn=_reward)
    env = PruningEnv(_planted(), budget_ms=0.6, lowest_ratio=0.125)
    episodes = search.search(env, 0.6)
    assert all(e["estimate_ms"] <= 0.6 + 1e-9 for e in episodes)
    warm = statistics.mean(e["reward"] for e in episodes[:40])
    late = statistics.mean(e["reward"] for e in episodes[-30:])
    assert late > warm + 0.1, (warm, late)
    last = episodes[-30:]
    assert statistics.mean(e["ratios"]["harmful"] for e in last) > statistics.mean(e["ratios"]["harmless"]
                                                                                   for e in last)


def test_a_killed_search_resumes_with_the_same_episodes(tmp_path):
    config = AmcConfig(episodes=14, warmup_episodes=5, lowest_ratio=0.125, seed=2)
    env = PruningEnv(_planted(), budget_ms=0.6, lowest_ratio=0.125)
    whole = AmcSearch(config, tmp_path / "whole", progress=False, reward_fn=_reward)
    (tmp_path / "whole").mkdir()
    reference = whole.search(env, 0.6)

    calls = {"n": 0}

    def dies_at_nine(counts):
        calls["n"] += 1
        if calls["n"] == 9:
            raise KeyboardInterrupt
        return _reward(counts)

    (tmp_path / "killed").mkdir()
    with pytest.raises(KeyboardInterrupt):
        AmcSearch(config, tmp_path / "killed", progress=False, reward_fn=dies_at_nine).search(env, 0.6)
    assert len((tmp_path / "killed" / "episodes.jsonl").read_text().splitlines()) == 8
    resumed = AmcSearch(config, tmp_path / "killed", progress=False, reward_fn=_reward).search(env, 0.6)
    strip = lambda eps: [{k: v for k, v in e.items() if k != "seconds"} for e in eps]  # noqa: E731
    assert strip(resumed) == strip(reference)


def test_a_search_on_the_fake_device_meets_the_budget_in_every_episode(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    from usermodels import ResidualDepthwiseNet

    torch.manual_seed(0)
    spec = ModelSpec("usermodels:residual_depthwise_net", {"num_classes": 3, "in_channels": 1, "width": 32})
    ckpt = save_checkpoint(tmp_path / "base.pt", ResidualDepthwiseNet(**spec.kwargs), spec, (1, 1, 32, 32))
    config = AmcConfig(budget="70%", checkpoint=str(ckpt), model=spec.name, device="fake", batch=16,
                       data="synthetic:classes=3,size=32,n=96,channels=1,test=30", holdout=30, eval_limit=30,
                       episodes=8, warmup_episodes=4, bn_batches=2, finetune_epochs=1, batch_size=32,
                       warmup=0, repeats=1, model_repeats=1)
    final = AmcSearch(config, tmp_path / "amc", lut=str(tmp_path / "lut.db"), progress=False,
                      log=lambda *_: None).run()
    lines = [json.loads(x) for x in (tmp_path / "amc" / "episodes.jsonl").read_text().splitlines()]
    summary = json.loads((tmp_path / "amc" / "summary.json").read_text())
    assert len(lines) == 8 and all(e["estimate_ms"] <= summary["budget_ms"] + 1e-9 for e in lines)
    assert final["budget_met"] and final["measured_ms"] <= summary["budget_ms"]
    assert (tmp_path / "amc" / "final" / "model.onnx").is_file() and 0 <= final["test_accuracy"] <= 1
    again = AmcSearch(config, tmp_path / "amc", lut=str(tmp_path / "lut.db"), progress=False,
                      log=lambda *_: None).run()
    assert again == final  # a finished search is read back, not redone
    resumed = AmcSearch(config, tmp_path / "amc", lut=str(tmp_path / "lut.db"), progress=False, log=lambda *_: None)
    resumed._setup()
    start = resumed._start()
    assert list(resumed.graph.groups) == start["order"] == ["stem", "expand"]  # not sorted by name
    assert list(resumed._latency(start).deltas) == ["stem", "expand"]  # read back, walked in the same order


def test_the_report_understands_a_search_folder(tmp_path):
    from click.testing import CliRunner

    from netadapt.cli import cli

    config = AmcConfig(episodes=6, warmup_episodes=3, lowest_ratio=0.125)
    (tmp_path / "s").mkdir()
    AmcSearch(config, tmp_path / "s", progress=False, reward_fn=_reward).search(
        PruningEnv(_planted(), budget_ms=0.6, lowest_ratio=0.125), 0.6)
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "s" / "report" / "report.html").read_text()
    assert "AMC report" in html and html.count("<img") == 2 and "harmless" in html


def test_groups_are_labelled_by_the_kernel_they_feed():
    from netadapt.amc.env import group_feeds
    from netadapt.models import create_model
    from netadapt.pruning import analyze

    bottleneck = create_model("resnet29b", width_mult=0.5)
    graph = analyze(bottleneck, (1, 3, 32, 32))
    feeds = {g: group_feeds(bottleneck, group) for g, group in graph.groups.items()}
    assert feeds["layers.4.conv1.0"] == "3x3" and feeds["layers.4.conv2.0"] == "1x1"
    assert feeds["layers.3.conv3.0"] == "1x1" and feeds["layers.6.conv3.0"] == "1x1+fc"
    assert feeds["stem.0"] == "1x1"  # the first block's reduce and its projection shortcut
    assert sum(v == "3x3" for v in feeds.values()) == 9  # every block's reduce
    mobilenet = create_model("mobilenet_v1", width_mult=0.25)
    graph = analyze(mobilenet, (1, 3, 32, 32))
    kinds = {group_feeds(mobilenet, group) for group in graph.groups.values()}
    assert kinds == {"dw3x3 > 1x1", "fc"}  # the last pointwise layer feeds the classifier


def test_the_report_groups_keep_ratios_by_what_they_feed(tmp_path):
    from netadapt.report.amc import keep_by_feeds, write_amc_report

    config = AmcConfig(episodes=30, warmup_episodes=5, lowest_ratio=0.125)
    (tmp_path / "s" / "start").mkdir(parents=True)
    (tmp_path / "s" / "start" / "info.json").write_text(json.dumps({"feeds": {"harmless": "3x3", "harmful": "1x1"}}))
    episodes = AmcSearch(config, tmp_path / "s", progress=False, reward_fn=_reward).search(
        PruningEnv(_planted(), budget_ms=0.6, lowest_ratio=0.125), 0.6)
    best = max(episodes, key=lambda e: e["reward"])["ratios"]
    rows = keep_by_feeds(episodes, best, {"harmless": "3x3", "harmful": "1x1"})
    late = [e for e in episodes if not e["warmup"]][-20:]
    assert {r[0]: r[2] for r in rows} == {"3x3": best["harmless"], "1x1": best["harmful"]}
    late_by_kind = {r[0]: r[3] for r in rows}
    assert late_by_kind["3x3"] == pytest.approx(statistics.mean(e["ratios"]["harmless"] for e in late))
    assert late_by_kind["1x1"] == pytest.approx(statistics.mean(e["ratios"]["harmful"] for e in late))
    md = write_amc_report(tmp_path / "s")["report.md"].read_text()
    assert "Keep ratio by what a group feeds" in md and "| 3x3 |" in md.replace("| harmless | 3x3 |", "")
