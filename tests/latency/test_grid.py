from netadapt.latency import channel_grid, visitable_signatures
from netadapt.pruning import analyze


def test_channel_grid():
    assert channel_grid(20, 8) == [8, 16, 20]
    assert channel_grid(16, 8) == [8, 16]
    assert channel_grid(5, 8) == [5]
    assert channel_grid(3, 1) == [1, 2, 3]


def test_visitable_signatures_cover_both_sides_of_each_layer(user_net):
    g = analyze(user_net, (1, 3, 8, 8))
    sigs = visitable_signatures(g, 8)
    expand = {(s.cin, s.cout) for s in sigs if s.op == "conv" and s.stride == 2}
    assert expand == {(ci, co) for ci in (8, 16) for co in (8, 16, 24, 32)}
    dw = {s.cin for s in sigs if s.op == "conv" and s.groups > 1}
    assert dw == {8, 16}
    assert len(sigs) == len(set(sigs))
