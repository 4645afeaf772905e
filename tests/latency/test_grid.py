from netadapt.latency import channel_grid, group_grid, visitable_configs
from netadapt.pruning import analyze
from netadapt.pruning.graph import ChannelGroup


def test_channel_grid():
    assert channel_grid(20, 8) == [8, 16, 20]
    assert channel_grid(16, 8) == [8, 16]
    assert channel_grid(5, 8) == [5]
    assert channel_grid(3, 1) == [1, 2, 3]


def test_blocks_and_smallest_sizes_shape_the_grid():
    assert channel_grid(64, 8, multiple=16) == [16, 32, 48, 64]
    assert channel_grid(32, 8, multiple=16) == [16, 32]  # lcm leaves 16 itself
    assert channel_grid(24, 8, multiple=12) == [12, 24]  # no multiple of 24 below 24: multiples of 12
    assert channel_grid(16, 1, minimum=2) == list(range(2, 17))
    depthwise = ChannelGroup("g", 16, depthwise=["dw"])
    assert group_grid(depthwise, 16, 1)[0] == 2 and depthwise.min_size == 2


def test_visitable_configs_move_one_group_at_a_time(user_net):
    g = analyze(user_net, (1, 3, 8, 8))
    configs = visitable_configs(g, 8)
    assert {tuple(c) for c in configs} == {(name,) for name in g.groups}
    assert sorted(c["stem"] for c in configs if "stem" in c) == [8]
    assert len(configs) == sum(len(channel_grid(grp.size, 8)) - 1 for grp in g.groups.values())
