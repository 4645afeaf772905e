"""Every group's rule for written graphs learnt at once, from three networks with every group cut.

A group's own rule (``netadapt.latency.synthesis``) takes two exports of that group's cuts. Three networks
with every group cut, each by its own proportions (``joint_cuts``), tell all of them at once: an integer
that moves is the one group's whose counts it follows; the third network, written from the rules and
exported, confirms them all (``JointRules``). Three exports then stand for two per group, and a network with
several groups cut can be written too (``CandidateGraphs.synthesise_many``). Where an integer follows
several groups (a concatenation's width is the sum of its branches'), those groups cannot be cut in the same
three networks: ``joint_classes`` sorts the groups into classes of which no two share a layer's input (or a
normalisation) -- in a DenseNet block, one layer's growth channels per class -- and each class is learnt
from its own three networks. A class whose exports still cannot tell its groups apart is learnt group by
group from their own cuts. A network cut in groups of several classes is written only where no two of its
groups move the same integer.
"""

from __future__ import annotations

import math

import onnx

from netadapt.latency.graph_fields import fields, load, normalised
from netadapt.latency.synthesis import CandidateGraphs, GroupRule

__all__ = ["JointRules", "joint_classes", "joint_cuts"]


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
    group's rule from three exports instead of two per group (``JointRules.learn``).

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


class JointRules:
    """Learns the rules of a class of groups into ``graphs`` from the exports of its three ``joint_cuts``
    networks: ``learn`` with the first two, ``check`` with the third (its written graph, whose device nodes
    are to be compared with its export's), then ``confirm``. The rules wait here until confirmed."""

    def __init__(self, graphs: CandidateGraphs):
        self.graphs = graphs
        self._pending: dict[str, GroupRule] = {}

    def learn(self, cuts: list[dict[str, int]], exports: list) -> bool:
        """Learn the rule of every group in ``cuts`` from exports of the first two ``joint_cuts`` networks
        (every group cut at once): each integer that moves is given to the one group whose counts it
        follows affinely. False (nothing learnt) where the structure changes, an integer follows no group
        or more than one, or a group already has a rule; ``check`` then confirms with the third."""
        graphs = self.graphs
        if len(cuts) < 2 or len(exports) < 2 or any(g in graphs.rules for g in cuts[0]):
            return False
        seen = [fields(normalised(load(e))) for e in exports[:2]]
        base = graphs.base_fields
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
                owners = [g for g in groups if (e1 - e0) * (cuts[1][g] - graphs.sizes[g])
                          == (e2 - e0) * (cuts[0][g] - graphs.sizes[g])]
                if len(owners) != 1:
                    return False
                moved[owners[0]][i][j] = e1
        self._pending = {g: GroupRule(graphs.sizes[g], cuts[0][g], [tuple(v) for v in moved[g]], joint=True)
                         for g in groups}
        for g, rule in self._pending.items():
            rule.period = math.gcd(*(graphs.sizes[g] - cut[g] for cut in cuts))
        return True

    def check(self, cut: dict[str, int], exported) -> onnx.ModelProto | None:
        """The third joint cut written from the rules ``learn`` learnt, when its integers are those of its
        export (its device nodes are to be compared with the export's, then ``confirm``); None otherwise
        (the rules are dropped)."""
        pending, self._pending = self._pending, {}
        graphs = self.graphs
        seen = fields(normalised(load(exported)))
        slots = graphs.joint_slots(pending, cut) if set(cut) == set(pending) else None
        if slots is None or seen.structure != graphs.base_fields.structure or slots != seen.slots:
            return None
        self._pending = pending
        return graphs.written(slots)

    def confirm(self, same_nodes: bool) -> list[str]:
        """Whether the third joint cut's device nodes, written and exported, were the same: if so every
        group learnt jointly is written from now on. Returns those groups."""
        pending, self._pending = self._pending, {}
        if not same_nodes:
            return []
        for g, rule in pending.items():
            rule.confirmed = True
            self.graphs.rules[g] = rule
        return list(pending)
