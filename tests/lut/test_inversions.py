import pytest

from lut.inversions import find_inversions
from lut.signature import LayerSignature


def conv(cin, cout, groups=1):
    return LayerSignature("conv", 1, cin, 8, 8, cout, kernel=3, padding=1, groups=groups)


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
                (LayerSignature("conv", 1, 16, 16, 16, 8, kernel=3, padding=1), 0.5)]  # another input size
    assert find_inversions(measured, tolerance=0.05)[0] == []
    assert len(find_inversions(measured, tolerance=0.01)[0]) == 1


def test_depthwise_and_elementwise_layers_vary_all_their_channels_together():
    measured = [(conv(8, 8, groups=8), 0.9), (conv(16, 16, groups=16), 0.5),
                (LayerSignature("add", 1, 8, 8, 8, 8), 0.1), (LayerSignature("add", 1, 16, 8, 8, 16), 0.2)]
    found, compared = find_inversions(measured)
    assert [(inv.axis, inv.smaller.cin, inv.larger.cin) for inv in found] == [("channels", 8, 16)]
    assert compared == 2
