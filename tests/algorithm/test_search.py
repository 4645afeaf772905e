"""The per-group search for the largest channel count predicted to meet an iteration's target."""

import math
from types import SimpleNamespace

from netadapt.algorithm.search import largest_count_meeting
from netadapt.pruning.graph import ChannelGroup


class Estimates:
    """A stand-in for CandidateEstimates: ``predicted`` from a function of the count, probes recorded."""

    def __init__(self, size, ms_of_count, anchor_ms):
        self.graph = SimpleNamespace(groups={"g": ChannelGroup("g", size)})
        self.ms_of_count = ms_of_count
        self.anchor_ms = anchor_ms
        self.probed = []

    def predicted(self, group, count):
        self.probed.append(count)
        return self.ms_of_count(count)


def _truth(size, ms, target, step=8):
    """The largest count of the step grid below ``size`` meeting the target, by looking at every count."""
    meeting = [c for c in range(step, size, step) if ms(c) <= target]
    return max(meeting) if meeting else None


def test_linear_latency_takes_three_probes():
    est = Estimates(512, lambda c: 1.0 + c / 512, anchor_ms=2.0)
    found = largest_count_meeting(est, "g", 512, 8, target_ms=1.75)
    assert found == (384, 1.75)
    assert len(est.probed) == 3  # the next count down, the jump (exact here), the count above it


def test_a_plateau_below_the_size_costs_a_few_probes_not_a_walk():
    # Latency flat from 512 down to 440 channels (the device pads to its block), then linear: the first
    # probes save nothing, the search jumps far down, then gallops and bisects back up to 400.
    def ms(c):
        return 2.0 if c > 440 else 1.0 + c / 440

    est = Estimates(512, ms, anchor_ms=2.0)
    found = largest_count_meeting(est, "g", 512, 8, target_ms=1.0 + 400 / 440)
    assert found[0] == _truth(512, ms, 1.0 + 400 / 440) == 400
    grid = 63  # counts 8..504
    assert len(est.probed) <= 2 * math.ceil(math.log2(grid)) + 4  # not the ~50 of a walk from 8 to 400
    assert len(est.probed) == len(set(est.probed))  # no count estimated twice


def test_a_hint_far_below_the_answer_gallops_up():
    est = Estimates(1024, lambda c: 1.0 + c / 1024, anchor_ms=2.0)
    found = largest_count_meeting(est, "g", 1024, 8, target_ms=1.0 + 1000 / 1024, hint=64)
    assert found[0] == 1000
    assert len(est.probed) <= 2 * math.ceil(math.log2(127)) + 2


def test_the_hint_itself_when_the_next_count_up_misses():
    est = Estimates(512, lambda c: 1.0 + c / 512, anchor_ms=2.0)
    assert largest_count_meeting(est, "g", 512, 8, target_ms=1.0 + 200 / 512, hint=200)[0] == 200
    assert est.probed == [200, 208]


def test_nothing_meets_and_nothing_to_cut():
    est = Estimates(64, lambda c: 5.0, anchor_ms=5.0)
    assert largest_count_meeting(est, "g", 64, 8, target_ms=1.0) is None
    assert largest_count_meeting(Estimates(8, lambda c: 1.0, 1.0), "g", 8, 8, target_ms=0.5) is None


def test_a_non_monotone_latency_gives_a_meeting_count_whose_next_count_misses():
    # A bump: counts 296..336 run slower than their neighbours.
    def ms(c):
        return 1.0 + c / 512 + (0.5 if 296 <= c <= 336 else 0.0)

    target = 1.0 + 360 / 512
    est = Estimates(512, ms, anchor_ms=2.0)
    count, predicted = largest_count_meeting(est, "g", 512, 8, target_ms=target)
    assert predicted == ms(count) <= target
    assert ms(count + 8) > target
    assert count == _truth(512, ms, target) == 360


class ManyEstimates:
    """A stand-in for CandidateEstimates over several groups: each group's latency a function of its count;
    what is prefetched, and in what order the probes come, recorded."""

    def __init__(self, sizes, ms_of, anchor_ms, fails=()):
        self.graph = SimpleNamespace(groups={g: ChannelGroup(g, n) for g, n in sizes.items()})
        self.ms_of, self.anchor_ms, self.fails = ms_of, anchor_ms, set(fails)
        self.prefetched, self.probed = [], []

    def prefetch(self, many):
        self.prefetched.append(many)

    def predicted(self, group, count):
        if group in self.fails:
            raise RuntimeError(f"{group} cannot be exported")
        self.probed.append((group, count))
        return self.ms_of[group](count)


def test_searches_in_step_probe_what_each_search_alone_probes_and_prefetch_each_round_together():
    from netadapt.algorithm.search import largest_counts_meeting

    sizes = {"a": 64, "b": 128, "c": 32, "d": 96}
    ms_of = {"a": lambda c: 10 + c / 16, "b": lambda c: 10 + (c // 32) * 0.7, "c": lambda c: 14.0,
             "d": lambda c: 9 + math.sqrt(c) / 4}
    target, hints = 13.0, {"b": 64}
    alone = {}
    for g in sizes:
        est = ManyEstimates(sizes, ms_of, anchor_ms=14.0)
        alone[g] = (largest_count_meeting(est, g, sizes[g], 8, target, hint=hints.get(g)), est.probed)
    together = ManyEstimates(sizes, ms_of, anchor_ms=14.0)
    finished = []
    found = largest_counts_meeting(together, {g: (sizes[g], hints.get(g)) for g in sizes}, 8, target,
                                   done=finished.append)
    assert found == {g: result for g, (result, _) in alone.items()}
    assert found["c"] is None and found["a"] == (48, 13.0)
    for g, (_, probes) in alone.items():
        assert [(h, c) for h, c in together.probed if h == g] == probes
    assert sorted(finished) == sorted(sizes)
    assert len(together.prefetched[0]) == 4  # the first round: every group's first probe, together
    assert sum(len(r) for r in together.prefetched) == len(together.probed)
    assert len(together.prefetched) == max(len(p) for _, p in alone.values())


def test_a_search_that_fails_ends_alone_and_the_others_go_on():
    from netadapt.algorithm.search import largest_counts_meeting

    sizes = {"a": 64, "b": 64}
    est = ManyEstimates(sizes, {"a": lambda c: 10 + c / 16, "b": lambda c: 10 + c / 16}, 14.0, fails={"b"})
    found = largest_counts_meeting(est, {g: (n, None) for g, n in sizes.items()}, 8, 13.0)
    assert found["a"] == (48, 13.0)
    assert isinstance(found["b"], RuntimeError) and "cannot be exported" in str(found["b"])
