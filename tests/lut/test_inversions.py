import pytest

from lut.inversions import find_inversions

from nodekeys import conv_key, relu_key


def conv(cin, cout, groups=1, hw=8):
    return conv_key(cin, cout, hw=hw, groups=groups, domain="com.microsoft.nchwc")


def test_a_smaller_count_slower_than_a_larger_one_is_found_against_the_fastest_larger():
    measured = [(conv(16, 8), 1.0), (conv(16, 16), 1.5), (conv(16, 24), 1.2), (conv(16, 32), 2.0),
                (conv(8, 16), 3.0)]  # 8 -> 16 input channels: slower than 16 -> 16
    found, compared = find_inversions(measured, tolerance=0.05)
    pairs = {(inv.axis, inv.count(inv.smaller), inv.count(inv.larger)): inv.ratio for inv in found}
    assert pairs == {("cout", 16, 24): pytest.approx(1.25), ("cin", 8, 16): pytest.approx(2.0)}
    assert [inv.ratio for inv in found] == sorted((inv.ratio for inv in found), reverse=True)
    assert compared == 3 + 1  # cout family of 4 members, cin family of 2 (16->16 is in both)


def test_tolerance_and_families_are_respected():
    measured = [(conv(16, 8), 1.04), (conv(16, 16), 1.0),  # 4% slower: inside a 5% tolerance
                (conv(16, 8, hw=16), 0.5),  # another input size
                (conv_key(16, 8), 0.2)]  # another domain (the standard Conv kernel)
    assert find_inversions(measured, tolerance=0.05)[0] == []
    assert len(find_inversions(measured, tolerance=0.01)[0]) == 1


def test_depthwise_layers_vary_all_their_channels_together_and_other_nodes_are_skipped():
    measured = [(conv(8, 8, groups=8), 0.9), (conv(16, 16, groups=16), 0.5),
                (relu_key((1, 8, 8, 8)), 0.3), (relu_key((1, 16, 8, 8)), 0.2)]
    found, compared = find_inversions(measured)
    assert [(inv.axis, inv.count(inv.smaller), inv.count(inv.larger)) for inv in found] == [("channels", 8, 16)]
    assert compared == 1
