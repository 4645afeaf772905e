"""ONNX graphs of a network cut in one group (or several), synthesised from real exports instead of exported.

Exporting a candidate network (``torch.onnx.export``) is most of what a latency search costs: the
search looks at several channel counts of every group, and each count is a whole export. Yet two
exports of the same network that differ only in one group's count differ only in integers: tensor
dimensions, attributes such as a depthwise convolution's ``group``, and small integer constants
(reshape targets). ``CandidateGraphs`` reads those integers from the exports it is shown and, once a
group's integers are seen to follow one affine rule of the count (through the current network's
export and a first cut) and a second cut confirms the rule exactly, writes further counts of that
group itself: the current network's graph with the integers the rule gives and zero weights (large ones
carried by reference, ``devices.zero_weights``).

Weights' values do not matter here: the graph is only optimised for the device and inspected for the
nodes it runs (the nodes themselves are timed on random inputs). The confirmation also compares the
nodes the device runs for the confirming cut, synthesised and exported. A group whose exports differ
in anything else (another structure, a rule that is not affine) is always exported.

Every group's rule can also be learnt from three networks with every group cut at once, and an
iteration's rules taken over by the next (``netadapt.latency.joint``, ``netadapt.latency.carried``: both
learn into a ``CandidateGraphs``). A rule learnt jointly moves only integers of its own group, so a network
with several such groups cut can be written too (``synthesise_many``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import onnx

from devices import zero_weights
from netadapt.latency.graph_fields import Fields, affine, fields, load, normalised, write

__all__ = ["CandidateGraphs", "GroupRule", "fields", "normalised"]


@dataclass
class GroupRule:
    """What is known of one group's integers: the current network's are ``CandidateGraphs.base_fields``,
    ``slots`` those of its cut to ``count``; a count between is written by the affine rule through both."""

    size: int  # the group's count in the current network
    count: int  # the first cut's count
    slots: list  # its integers
    period: int = 0  # counts written: those congruent to ``size`` modulo this (gcd of the gaps seen)
    confirmed: bool = False
    refused: bool = False
    joint: bool = False  # learnt from cuts of every group at once: each integer it moves is its own
    carried: bool = False  # taken over from the network before, where integers it moves moved since (unconfirmed)
    taken_over: bool = False  # from the network before: a cut it does not predict starts the group's rule afresh


@dataclass
class CandidateGraphs:
    """Synthesises exports of ``base`` (an exported ONNX model of the current network, whose groups have
    ``sizes``) cut in one group, once two real exports of that group agree on an affine rule.

    Use: ``observe(group, count, exported)`` with each real export of a one-group cut; ``can(group)``
    says whether ``synthesise(group, count)`` may be used instead of exporting; ``confirm(group, ok)``
    records whether the device ran the same nodes for the confirming cut written and exported.

    ``rules`` holds each group's ``GroupRule``; rules learnt in other ways (``netadapt.latency.joint``,
    ``netadapt.latency.carried``) are put there and written with the same ``slots``, ``moves`` and ``written``.
    """

    base: onnx.ModelProto
    sizes: dict[str, int]
    synthesised: int = 0
    base_fields: Fields = field(init=False, repr=False)
    rules: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.base = normalised(self.base)
        self.base_fields = fields(self.base)
        zero_weights.lighten(self.base)  # written graphs refer to their large weights (values never matter)

    def can(self, group: str) -> bool:
        rule = self.rules.get(group)
        return rule is not None and rule.confirmed and not rule.refused

    def observe(self, group: str, count: int, exported: bytes | onnx.ModelProto) -> onnx.ModelProto | None:
        """Learn from a real export (serialized or not) of ``group`` cut to ``count``. Returns the
        synthesised graph of the same cut when this export is the one that confirms the rule (its device
        nodes are to be compared with the export's, then ``confirm``); None otherwise."""
        rule = self.rules.get(group)
        if rule is not None and (rule.confirmed or rule.refused):
            return None
        s0 = self.sizes[group]
        if count == s0:
            return None
        seen = fields(normalised(load(exported)))
        if seen.structure != self.base_fields.structure or len(seen.slots) != len(self.base_fields.slots):
            self.rules[group] = GroupRule(s0, count, [], refused=True)
            return None
        if rule is None:
            self.rules[group] = GroupRule(s0, count, seen.slots)
            return None
        if count == rule.count:
            return None
        predicted = self.slots(rule, count)
        if predicted != seen.slots:
            if rule.taken_over:  # the rule of the network before no longer holds here: learn it again
                self.rules[group] = GroupRule(s0, count, seen.slots)
            else:
                rule.refused = True
            return None
        rule.period = math.gcd(rule.size - rule.count, rule.count - count)
        return self.written(predicted)

    def confirm(self, group: str, same_nodes: bool) -> None:
        """Whether the confirming cut's device nodes, synthesised and exported, were the same."""
        rule = self.rules[group]
        rule.confirmed, rule.refused = same_nodes, not same_nodes

    def synthesise(self, group: str, count: int) -> onnx.ModelProto | None:
        """The graph of the current network with ``group`` cut to ``count``; None (the caller exports
        instead) when the count is off the lattice the exports were seen on (counts that differ from the
        current one by a multiple of the gaps between them: a rounding with that period is what the
        confirmation can see) or the rule gives a fraction there."""
        if not self.can(group):
            raise ValueError(f"group {group!r} has no confirmed rule")
        rule = self.rules[group]
        if (count - rule.size) % rule.period:
            return None
        slots = self.slots(rule, count)
        if slots is None:
            return None
        self.synthesised += 1
        return self.written(slots)

    def synthesise_many(self, counts: dict[str, int]) -> onnx.ModelProto | None:
        """The graph of the current network with several groups cut at once, where every one of them was
        learnt jointly, no two of them move the same integer (groups of one class never do) and every count
        is on its lattice; None otherwise."""
        rules = {g: self.rules.get(g) for g in counts}
        if not all(r is not None and r.joint and r.confirmed for r in rules.values()):
            return None
        if any((n - rules[g].size) % rules[g].period for g, n in counts.items()):
            return None
        seen: set = set()
        for rule in rules.values():
            moves = self.moves(rule)
            if moves & seen:
                return None
            seen |= moves
        slots = self.joint_slots(rules, counts)
        if slots is None:
            return None
        self.synthesised += 1
        return self.written(slots)

    def slots(self, rule: GroupRule, count: int) -> list | None:
        """The integers of the current network with ``rule``'s group cut to ``count``; None where one is a
        fraction or one the cut moves is negative (a -1 it leaves alone, a reshape's "the rest", stays)."""
        out = []
        for v0, v1 in zip(self.base_fields.slots, rule.slots):
            v = affine(v0, v1, rule.size, rule.count, count)
            if v is None or any(x < 0 and x != x0 for x, x0 in zip(v, v0)):
                return None
            out.append(v)
        return out

    def joint_slots(self, rules: dict, counts: dict[str, int]) -> list | None:
        """The integers with each group of ``rules`` at its count in ``counts`` (each moves its own)."""
        out = [list(v) for v in self.base_fields.slots]
        for g, rule in rules.items():
            mine = self.slots(rule, counts[g])
            if mine is None:
                return None
            for i, (v0, v) in enumerate(zip(self.base_fields.slots, mine)):
                if v != v0:
                    for j, (e0, e) in enumerate(zip(v0, v)):
                        if e != e0:
                            out[i][j] = e
        return [tuple(v) for v in out]

    def moves(self, rule: GroupRule) -> set:
        """The positions of the integers ``rule`` moves."""
        return {(i, j) for i, (v0, v1) in enumerate(zip(self.base_fields.slots, rule.slots))
                for j, (e0, e1) in enumerate(zip(v0, v1)) if e0 != e1}

    def written(self, slots: list) -> onnx.ModelProto:
        """The base graph with ``slots`` written in (``graph_fields.write``)."""
        return write(self.base, self.base_fields.slots, slots)
