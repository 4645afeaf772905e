"""A global pruning step on the lookup table, after HALP (Shen et al., "Structural Pruning via Latency-Saliency
Knapsack", NeurIPS 2022): ``netadapt run --search halp``.

Where a NetAdapt iteration cuts one group (the best of one candidate per group, each fine-tuned and scored),
a HALP step cuts every group at once: each channel's importance is its first-order Taylor score (the loss
change its removal would cause, ``netadapt.criteria.taylor``), each group's counts on the grid are priced by
the table (the anchored estimate of the network with that group cut, ``CandidateEstimates``), and the step
keeps, per group, the count whose channels (the most important ones) lose the least importance in total
while the savings meet the step's target: a multiple-choice knapsack. The savings of different groups are
added, so the chosen network is priced once more as a whole, and the knapsack asked for more while that
estimate misses the target. One fine-tune follows, as long as a NetAdapt iteration's candidates take
together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from netadapt.algorithm.estimates import CandidateEstimates
from netadapt.latency.grid import group_grid

# Savings are counted in this many units of what a step must save (rounded down: never overstated).
RESOLUTION = 400
# Times the chosen network is priced as a whole, and the knapsack asked for more, before the step gives up.
JOINT_TRIES = 6


@dataclass(frozen=True)
class Option:
    """One count of one group: what it saves (anchored estimate, ms) and the importance it removes."""

    count: int
    saved_ms: float
    lost: float


def choose_counts(options: dict[str, list[Option]], required_ms: float,
                  resolution: int = RESOLUTION) -> dict[str, int] | None:
    """Per group at most one option (none: the group stays as it is), removing the least importance in
    total while the savings add up to at least ``required_ms``.

    Savings are rounded down to ``required_ms / resolution``, so a chosen set saves at least
    ``required_ms`` by the sum of its options. Returns the groups that change with their counts, or None
    when even the largest savings fall short.
    """
    if required_ms <= 0:
        return {}
    unit = required_ms / resolution
    inf = math.inf
    best = [0.0] + [inf] * resolution  # least importance lost to save s units (s capped at resolution)
    picks = []  # per group: for each s, (previous s, option index) or None (unchanged)
    names = sorted(options)
    for name in names:
        new = list(best)
        pick: list = [None] * (resolution + 1)
        for k, opt in enumerate(options[name]):
            units = math.floor(opt.saved_ms / unit + 1e-9)
            if units <= 0:
                continue
            for s in range(resolution + 1):
                if best[s] == inf:
                    continue
                t = min(resolution, s + units)
                value = best[s] + opt.lost
                if value < new[t]:
                    new[t], pick[t] = value, (s, k)
        # a slot not improved keeps the group unchanged: its previous state is the same slot
        picks.append(pick)
        best = new
    if best[resolution] == inf:
        return None
    chosen, s = {}, resolution
    for name, pick in zip(reversed(names), reversed(picks)):
        if pick[s] is not None:
            s, k = pick[s]
            chosen[name] = options[name][k].count
    return chosen


def group_options(estimates: CandidateEstimates, importance: dict[str, torch.Tensor], original: dict[str, int],
                  step: int) -> dict[str, list[Option]]:
    """Every count below each group's size on its grid, priced by the table and by the importance its cut
    removes (the group's least important channels go first)."""
    options = {}
    for name, group in estimates.graph.groups.items():
        scores = importance[name].double()
        kept = torch.sort(scores, descending=True).values.cumsum(0)
        total = float(kept[-1])
        found = []
        for count in group_grid(group, original[name], step):
            if count >= group.size:
                continue
            saved = estimates.anchor_ms - estimates.predicted(name, count)
            found.append(Option(count, saved, total - float(kept[count - 1])))
        options[name] = found
    return options


def halp_counts(estimates: CandidateEstimates, importance: dict[str, torch.Tensor], original: dict[str, int],
                step: int, target_ms: float) -> dict | None:
    """The step's network: the counts chosen by the knapsack, its anchored estimate as a whole, and the
    importance it removes; None when no choice is estimated to meet ``target_ms``."""
    options = group_options(estimates, importance, original, step)
    required = estimates.anchor_ms - target_ms
    for _ in range(JOINT_TRIES):
        chosen = choose_counts(options, required)
        if not chosen:
            return None
        sizes = {**estimates.graph.sizes(), **chosen}
        predicted = estimates.predicted_of(sizes)
        if predicted <= target_ms:
            lost = sum(o.lost for g, n in chosen.items() for o in options[g] if o.count == n)
            return {"channels": chosen, "predicted_ms": predicted, "lost_importance": lost}
        required += predicted - target_ms  # the group savings did not add up: ask for the difference
    return None


def keep_most_important(importance: dict[str, torch.Tensor], counts: dict[str, int]) -> dict[str, list[int]]:
    """Each group's ``count`` most important channels (indices, ascending)."""
    return {g: sorted(torch.argsort(importance[g], descending=True)[:n].tolist()) for g, n in counts.items()}
