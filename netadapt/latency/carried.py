"""Rules for written graphs taken over from the network before (the last iteration's) where they still hold.

The next network is the current one with a cut, and its export shows which integers the cut moved. A
group's rule (``netadapt.latency.synthesis``) whose integers are not among them holds as it was; the cut
group's own rule holds where it gives the new network's integers; a rule whose integers the cut moved too
(both feed a concatenation) is taken over as a sum (its moves added to the new network's integers) and
confirmed, for all such groups at once, by one export with each of them cut (``CarriedRules.cuts``,
``check``, ``confirm``).
"""

from __future__ import annotations

import onnx

from netadapt.latency.graph_fields import fields, load, normalised
from netadapt.latency.synthesis import CandidateGraphs, GroupRule

__all__ = ["CarriedRules"]


class CarriedRules:
    """Takes the rules of the network before into ``graphs`` (``take_over``) and confirms those the cut moved
    integers of too: ``cuts`` names the network whose export confirms them, ``check`` writes it, ``confirm``
    records whether the device ran the same nodes for it written and exported."""

    def __init__(self, graphs: CandidateGraphs):
        self.graphs = graphs

    def take_over(self, previous: CandidateGraphs) -> int:
        """Take over the rules ``previous`` learnt for the network before this one (it differs from this one in
        the counts of some groups; see the module's notes). Returns how many rules were taken over."""
        graphs = self.graphs
        old, new = previous.base_fields, graphs.base_fields
        if old.structure != new.structure or [len(v) for v in old.slots] != [len(v) for v in new.slots]:
            return 0
        moved = {(i, j) for i, (a, b) in enumerate(zip(old.slots, new.slots)) for j, (x, y) in enumerate(zip(a, b))
                 if x != y}
        carried = 0
        for g, rule in previous.rules.items():
            if g not in graphs.sizes or not rule.confirmed or rule.refused or g in graphs.rules:
                continue
            size = graphs.sizes[g]
            if size != rule.size:  # the group cut: its own line, where it gives this network's integers
                if previous.slots(rule, size) != new.slots or (size - rule.size) % rule.period:
                    continue
                count = rule.count if rule.count < size else size - rule.period
                slots = previous.slots(rule, count) if count > 0 else None
                if slots is None:
                    continue
                graphs.rules[g] = GroupRule(size, count, slots, rule.period, confirmed=True, joint=rule.joint)
            else:
                own = {(i, j) for i, (a, b) in enumerate(zip(old.slots, rule.slots)) for j, (x, y) in enumerate(zip(a, b))
                       if x != y}
                slots = [tuple(n + (r - o) for n, r, o in zip(nv, rv, ov))
                         for nv, rv, ov in zip(new.slots, rule.slots, old.slots)]
                alone = not (own & moved)
                graphs.rules[g] = GroupRule(size, rule.count, slots, rule.period, confirmed=alone,
                                            joint=rule.joint and alone, carried=not alone, taken_over=True)
            carried += 1
        return carried

    def cuts(self) -> dict[str, int]:
        """Each group whose rule was taken over unconfirmed, at the count of that rule: the network whose export
        confirms them all (``check``)."""
        return {g: r.count for g, r in self.graphs.rules.items() if r.carried and not r.confirmed and not r.refused}

    def check(self, cut: dict[str, int], exported) -> onnx.ModelProto | None:
        """The network ``cuts`` names, written from the rules taken over (their moves added up), when its
        integers are those of its export (its device nodes are then to be compared with the export's, and
        ``confirm`` called); None otherwise: each of those rules then waits for a cut of its own."""
        graphs = self.graphs
        base = graphs.base_fields
        seen = fields(normalised(load(exported)))
        out = [list(v) for v in base.slots]
        for g, count in cut.items():
            mine = graphs.slots(graphs.rules[g], count)
            if mine is None:
                return None
            for i, (v0, v) in enumerate(zip(base.slots, mine)):
                for j, (e0, e) in enumerate(zip(v0, v)):
                    out[i][j] += e - e0
        slots = [tuple(v) for v in out]
        if seen.structure != base.structure or slots != seen.slots:
            return None
        return graphs.written(slots)

    def confirm(self, cut: dict[str, int], same_nodes: bool) -> None:
        """Whether the network of ``check``, written and exported, ran the same device nodes: if so every
        rule of ``cut`` is confirmed."""
        for g in cut:
            rule = self.graphs.rules[g]
            rule.carried = False
            rule.confirmed = same_nodes
