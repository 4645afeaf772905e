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

Every group's rule can also be learnt at once (``joint_cuts``, ``CandidateGraphs.learn_jointly``): three
networks with every group cut, each by its own proportions, so that an integer that moves is the one
group's whose counts it follows; the third network, written from the rules and exported, confirms them
all. Three exports then stand for two per group, and a network with several groups cut can be written
too (``synthesise_many``). Where an integer follows several groups (a concatenation's width is the sum of
its branches'), those groups cannot be cut in the same three networks: ``joint_classes`` sorts the groups
into classes of which no two share a layer's input (or a normalisation) -- in a DenseNet block, one layer's
growth channels per class -- and each class is learnt from its own three networks. A class whose exports
still cannot tell its groups apart is learnt group by group from their own cuts. A network cut in groups of
several classes is written only where no two of its groups move the same integer.

What one iteration learnt serves the next (``carry``): the next network is this one with a cut, and its
export shows which integers the cut moved. A group's rule whose integers are not among them holds as it
was; the cut group's own rule holds where it gives the new network's integers; a rule whose integers the
cut moved too (both feed a concatenation) is taken over as a sum (its moves added to the new network's
integers) and confirmed, for all such groups at once, by one export with each of them cut
(``carried_cuts``, ``check_carried``, ``confirm_carried``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import onnx

from devices import zero_weights
from netadapt.latency.graph_fields import Fields, affine, fields, load, normalised, write

__all__ = ["CandidateGraphs", "fields", "joint_classes", "joint_cuts", "normalised"]


@dataclass
class _GroupRule:
    size: int  # the group's count in the current network
    count: int  # the first cut's count
    slots: list  # its integers
    period: int = 0  # counts written: those congruent to ``size`` modulo this (gcd of the gaps seen)
    confirmed: bool = False
    refused: bool = False
    joint: bool = False  # learnt from cuts of every group at once: each integer it moves is its own
    carried: bool = False  # taken over from the network before, where integers it moves moved since (unconfirmed)
    taken_over: bool = False  # from the network before: a cut it does not predict starts the group's rule afresh


def joint_classes(members: dict[str, set[str]]) -> list[list[str]]:
    """Groups sorted into classes that may be cut in the same ``joint_cuts`` networks: no two groups of a class
    share a member (a layer's input channels, a normalisation: ``ChannelGroup.members``), so no integer of
    the graph follows two groups of one class. Greedy, in the groups' order: each group joins the first class
    it shares nothing with. Members named for an operation rather than a layer (``_ConcatOp:out``) are not
    compared.

    Args:
        members: group -> its members (``"layer:in"``, ``"layer:out"``).
    """
    classes: list[list[str]] = []
    taken: list[set[str]] = []
    for group, mine in members.items():
        mine = {m for m in mine if not m.startswith("_")}
        for cls, used in zip(classes, taken):
            if not mine & used:
                cls.append(group)
                used |= mine
                break
        else:
            classes.append([group])
            taken.append(set(mine))
    return classes


def joint_cuts(sizes: dict[str, int], grids: dict[str, list[int]]) -> list[dict[str, int]] | None:
    """Three networks with every group that has three counts below its size cut at once, to learn every
    group's rule from three exports instead of two per group (``CandidateGraphs.learn_jointly``).

    The first two cuts tell the groups apart: an integer that moves with one group's count moves by
    ``(size - first) : (size - second)`` of that group between them, and no two groups share that ratio,
    so exactly one group's counts fit it. The third cut confirms every rule at once.

    Returns:
        [first, second, third] (group -> count), or None when fewer than two groups can take part.
    """
    from fractions import Fraction

    cuts: list[dict[str, int]] = [{}, {}, {}]
    ratios: set = set()
    for name, size in sizes.items():
        below = sorted((c for c in grids.get(name, ()) if c < size), reverse=True)
        if len(below) < 3:
            continue
        pairs = sorted(((a, b) for a in range(len(below)) for b in range(len(below)) if a != b),
                       key=lambda ab: (max(ab), ab))
        for a, b in pairs:
            ratio = Fraction(size - below[a], size - below[b])
            if ratio not in ratios:
                ratios.add(ratio)
                third = next(k for k in range(len(below)) if k not in (a, b))
                for cut, k in zip(cuts, (a, b, third)):
                    cut[name] = below[k]
                break
    return cuts if len(cuts[0]) >= 2 else None


@dataclass
class CandidateGraphs:
    """Synthesises exports of ``base`` (an exported ONNX model of the current network, whose groups have
    ``sizes``) cut in one group, once two real exports of that group agree on an affine rule.

    Use: ``observe(group, count, exported)`` with each real export of a one-group cut; ``can(group)``
    says whether ``synthesise(group, count)`` may be used instead of exporting; ``confirm(group, ok)``
    records whether the device ran the same nodes for the confirming cut written and exported.
    """

    base: onnx.ModelProto
    sizes: dict[str, int]
    synthesised: int = 0
    _base: Fields = field(init=False, repr=False)
    _rules: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.base = normalised(self.base)
        self._base = fields(self.base)
        zero_weights.lighten(self.base)  # written graphs refer to their large weights (values never matter)
        self._pending: dict[str, _GroupRule] = {}

    def carry(self, previous: "CandidateGraphs") -> int:
        """Take over the rules ``previous`` learnt for the network before this one (it differs from this one in
        the counts of some groups; see the module's notes). Returns how many rules were taken over."""
        old, new = previous._base, self._base
        if old.structure != new.structure or [len(v) for v in old.slots] != [len(v) for v in new.slots]:
            return 0
        moved = {(i, j) for i, (a, b) in enumerate(zip(old.slots, new.slots)) for j, (x, y) in enumerate(zip(a, b))
                 if x != y}
        carried = 0
        for g, rule in previous._rules.items():
            if g not in self.sizes or not rule.confirmed or rule.refused or g in self._rules:
                continue
            size = self.sizes[g]
            if size != rule.size:  # the group cut: its own line, where it gives this network's integers
                if previous._slots(rule, size) != new.slots or (size - rule.size) % rule.period:
                    continue
                count = rule.count if rule.count < size else size - rule.period
                slots = previous._slots(rule, count) if count > 0 else None
                if slots is None:
                    continue
                self._rules[g] = _GroupRule(size, count, slots, rule.period, confirmed=True, joint=rule.joint)
            else:
                own = {(i, j) for i, (a, b) in enumerate(zip(old.slots, rule.slots)) for j, (x, y) in enumerate(zip(a, b))
                       if x != y}
                slots = [tuple(n + (r - o) for n, r, o in zip(nv, rv, ov))
                         for nv, rv, ov in zip(new.slots, rule.slots, old.slots)]
                alone = not (own & moved)
                self._rules[g] = _GroupRule(size, rule.count, slots, rule.period, confirmed=alone,
                                            joint=rule.joint and alone, carried=not alone, taken_over=True)
            carried += 1
        return carried

    def carried_cuts(self) -> dict[str, int]:
        """Each group whose rule was taken over unconfirmed, at the count of that rule: the network whose export
        confirms them all (``check_carried``)."""
        return {g: r.count for g, r in self._rules.items() if r.carried and not r.confirmed and not r.refused}

    def check_carried(self, cut: dict[str, int], exported) -> onnx.ModelProto | None:
        """The network ``carried_cuts`` names, written from the rules taken over (their moves added up), when
        its integers are those of its export (its device nodes are then to be compared with the export's, and
        ``confirm_carried`` called); None otherwise: each of those rules then waits for a cut of its own."""
        seen = fields(normalised(load(exported)))
        out = [list(v) for v in self._base.slots]
        for g, count in cut.items():
            mine = self._slots(self._rules[g], count)
            if mine is None:
                return None
            for i, (v0, v) in enumerate(zip(self._base.slots, mine)):
                for j, (e0, e) in enumerate(zip(v0, v)):
                    out[i][j] += e - e0
        slots = [tuple(v) for v in out]
        if seen.structure != self._base.structure or slots != seen.slots:
            return None
        return self._write(slots)

    def confirm_carried(self, cut: dict[str, int], same_nodes: bool) -> None:
        """Whether the network of ``check_carried``, written and exported, ran the same device nodes: if so every
        rule of ``cut`` is confirmed."""
        for g in cut:
            rule = self._rules[g]
            rule.carried = False
            rule.confirmed = same_nodes

    def can(self, group: str) -> bool:
        rule = self._rules.get(group)
        return rule is not None and rule.confirmed and not rule.refused

    def observe(self, group: str, count: int, exported: bytes | onnx.ModelProto) -> onnx.ModelProto | None:
        """Learn from a real export (serialized or not) of ``group`` cut to ``count``. Returns the
        synthesised graph of the same cut when this export is the one that confirms the rule (its device
        nodes are to be compared with the export's, then ``confirm``); None otherwise."""
        rule = self._rules.get(group)
        if rule is not None and (rule.confirmed or rule.refused):
            return None
        s0 = self.sizes[group]
        if count == s0:
            return None
        seen = fields(normalised(load(exported)))
        if seen.structure != self._base.structure or len(seen.slots) != len(self._base.slots):
            self._rules[group] = _GroupRule(s0, count, [], refused=True)
            return None
        if rule is None:
            self._rules[group] = _GroupRule(s0, count, seen.slots)
            return None
        if count == rule.count:
            return None
        predicted = self._slots(rule, count)
        if predicted != seen.slots:
            if rule.taken_over:  # the rule of the network before no longer holds here: learn it again
                self._rules[group] = _GroupRule(s0, count, seen.slots)
            else:
                rule.refused = True
            return None
        rule.period = math.gcd(rule.size - rule.count, rule.count - count)
        return self._write(predicted)

    def learn_jointly(self, cuts: list[dict[str, int]], exports: list) -> bool:
        """Learn the rule of every group in ``cuts`` from exports of the first two ``joint_cuts`` networks
        (every group cut at once): each integer that moves is given to the one group whose counts it
        follows affinely. False (nothing learnt) where the structure changes, an integer follows no group
        or more than one, or a group already has a rule; ``check_jointly`` then confirms with the third."""
        if len(cuts) < 2 or len(exports) < 2 or any(g in self._rules for g in cuts[0]):
            return False
        seen = [fields(normalised(load(e))) for e in exports[:2]]
        base = self._base
        if any(f.structure != base.structure or len(f.slots) != len(base.slots) for f in seen):
            return False
        groups = list(cuts[0])
        moved = {g: [list(v) for v in base.slots] for g in groups}  # each group's integers at its first cut
        for i, (v0, v1, v2) in enumerate(zip(base.slots, seen[0].slots, seen[1].slots)):
            if v0 == v1 == v2:
                continue
            if not len(v0) == len(v1) == len(v2):
                return False
            for j, (e0, e1, e2) in enumerate(zip(v0, v1, v2)):
                if e0 == e1 == e2:
                    continue
                owners = [g for g in groups if (e1 - e0) * (cuts[1][g] - self.sizes[g])
                          == (e2 - e0) * (cuts[0][g] - self.sizes[g])]
                if len(owners) != 1:
                    return False
                moved[owners[0]][i][j] = e1
        self._pending = {g: _GroupRule(self.sizes[g], cuts[0][g], [tuple(v) for v in moved[g]], joint=True)
                         for g in groups}
        for g, rule in self._pending.items():
            rule.period = math.gcd(*(self.sizes[g] - cut[g] for cut in cuts))
        return True

    def check_jointly(self, cut: dict[str, int], exported) -> onnx.ModelProto | None:
        """The third joint cut written from the rules ``learn_jointly`` learnt, when its integers are
        those of its export (its device nodes are to be compared with the export's, then
        ``confirm_jointly``); None otherwise (the rules are dropped)."""
        pending, self._pending = self._pending, {}
        seen = fields(normalised(load(exported)))
        slots = self._joint_slots(pending, cut) if set(cut) == set(pending) else None
        if slots is None or seen.structure != self._base.structure or slots != seen.slots:
            return None
        self._pending = pending
        return self._write(slots)

    def confirm_jointly(self, same_nodes: bool) -> list[str]:
        """Whether the third joint cut's device nodes, written and exported, were the same: if so every
        group learnt jointly is written from now on. Returns those groups."""
        pending, self._pending = self._pending, {}
        if not same_nodes:
            return []
        for g, rule in pending.items():
            rule.confirmed = True
            self._rules[g] = rule
        return list(pending)

    def synthesise_many(self, counts: dict[str, int]) -> onnx.ModelProto | None:
        """The graph of the current network with several groups cut at once, where every one of them was
        learnt jointly, no two of them move the same integer (groups of one class never do) and every count
        is on its lattice; None otherwise."""
        rules = {g: self._rules.get(g) for g in counts}
        if not all(r is not None and r.joint and r.confirmed for r in rules.values()):
            return None
        if any((n - rules[g].size) % rules[g].period for g, n in counts.items()):
            return None
        seen: set = set()
        for rule in rules.values():
            moves = self._moves(rule)
            if moves & seen:
                return None
            seen |= moves
        slots = self._joint_slots(rules, counts)
        if slots is None:
            return None
        self.synthesised += 1
        return self._write(slots)

    def _joint_slots(self, rules: dict, counts: dict[str, int]) -> list | None:
        """The integers with each group of ``rules`` at its count in ``counts`` (each moves its own)."""
        out = [list(v) for v in self._base.slots]
        for g, rule in rules.items():
            mine = self._slots(rule, counts[g])
            if mine is None:
                return None
            for i, (v0, v) in enumerate(zip(self._base.slots, mine)):
                if v != v0:
                    for j, (e0, e) in enumerate(zip(v0, v)):
                        if e != e0:
                            out[i][j] = e
        return [tuple(v) for v in out]

    def _moves(self, rule: _GroupRule) -> set:
        """The positions of the integers ``rule`` moves."""
        return {(i, j) for i, (v0, v1) in enumerate(zip(self._base.slots, rule.slots))
                for j, (e0, e1) in enumerate(zip(v0, v1)) if e0 != e1}

    def confirm(self, group: str, same_nodes: bool) -> None:
        """Whether the confirming cut's device nodes, synthesised and exported, were the same."""
        rule = self._rules[group]
        rule.confirmed, rule.refused = same_nodes, not same_nodes

    def synthesise(self, group: str, count: int) -> onnx.ModelProto | None:
        """The graph of the current network with ``group`` cut to ``count``; None (the caller exports
        instead) when the count is off the lattice the exports were seen on (counts that differ from the
        current one by a multiple of the gaps between them: a rounding with that period is what the
        confirmation can see) or the rule gives a fraction there."""
        if not self.can(group):
            raise ValueError(f"group {group!r} has no confirmed rule")
        rule = self._rules[group]
        if (count - rule.size) % rule.period:
            return None
        slots = self._slots(rule, count)
        if slots is None:
            return None
        self.synthesised += 1
        return self._write(slots)

    def _slots(self, rule: _GroupRule, count: int) -> list | None:
        out = []
        for v0, v1 in zip(self._base.slots, rule.slots):
            v = affine(v0, v1, rule.size, rule.count, count)
            if v is None or any(x < 0 for x in v):
                return None
            out.append(v)
        return out

    def _write(self, slots: list) -> onnx.ModelProto:
        """The base graph with ``slots`` written in (``graph_fields.write``)."""
        return write(self.base, self._base.slots, slots)


