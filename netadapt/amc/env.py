"""AMC's environment: walk the prunable groups in order, one keep ratio per group, within the budget.

The latency of a configuration comes from the lookup table as a sum of per-group differences, each read
once from a real pruned network (``GroupLatency.from_table``): ``start x (table(start) + sum of each group's
difference at its count) / table(start)``, anchored on the start's measurement like NetAdapt's estimates.
Each action is clipped so the budget stays reachable with every later group at its smallest count, so
every episode meets the budget by construction; the search checks its final network on the table as a
whole, since groups that share nodes do not add up exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class GroupLatency:
    """Per-group latency differences (ms, negative when faster) at every count on each group's grid.

    Attributes:
        start_ms: the start model's measured latency (the anchor).
        table_ms: the table's estimate of the start model.
        deltas: group -> {count: table difference from the start when only this group is cut to count}.
        features: group -> static features (channels, kernel, stride, input size, ...) for the state.
    """

    start_ms: float
    table_ms: float
    deltas: dict[str, dict[int, float]]
    features: dict[str, list[float]] = field(default_factory=dict)

    def grid(self, group: str) -> list[int]:
        return sorted(self.deltas[group])

    def estimate(self, counts: dict[str, int]) -> float:
        """Anchored latency (ms) of a configuration."""
        table = self.table_ms + sum(self.deltas[g][c] for g, c in counts.items())
        return self.start_ms * table / self.table_ms

    @classmethod
    def from_table(cls, estimates, original: dict[str, int], step: int, progress: bool = False) -> "GroupLatency":
        """Every group's difference at every grid count, from ``CandidateEstimates`` of the start model."""
        from tqdm.auto import tqdm

        from netadapt.latency.grid import group_grid

        graph = estimates.graph
        deltas, features = {}, {}
        for name in tqdm(list(graph.groups), desc="per-group latency", disable=not progress, leave=False):
            g = graph.groups[name]
            grid = group_grid(g, original[name], step)
            estimates.prefetch([{name: c} for c in grid])  # their nodes from one optimisation per batch
            deltas[name] = {c: (0.0 if c == g.size else estimates.table_ms({name: c}) - estimates.current_ms)
                            for c in grid}
            features[name] = group_features(estimates.model, g)
        return cls(estimates.anchor_ms, estimates.current_ms, deltas, features)


def group_features(model, group) -> list[float]:
    """AMC's static part of the state: channels, the producer's kernel area and stride, its parameters."""
    modules = dict(model.named_modules())
    producer = modules.get(group.producers[0]) if group.producers else None
    kernel = math.prod(getattr(producer, "kernel_size", (1,))) if producer is not None else 1
    stride = math.prod(getattr(producer, "stride", (1,))) if producer is not None else 1
    params = sum(p.numel() for name in group.producers if name in modules for p in modules[name].parameters())
    return [float(group.size), float(kernel), float(stride), float(params), float(len(group.consumers)),
            float(len(group.depthwise))]


def group_feeds(model, group) -> str:
    """What a group's channels feed, as AMC's per-layer plots label a layer by the kernel whose input
    channels it prunes: ``3x3``, ``1x1``, ``fc``, joined with ``+`` when several kinds read the group, after
    ``dw3x3 > `` when a depthwise convolution runs inside it."""
    modules = dict(model.named_modules())

    def kind(name: str) -> str:
        m = modules.get(name)
        if m is None or not hasattr(m, "kernel_size"):
            return "fc"
        return "x".join(str(k) for k in m.kernel_size)

    feeds = "+".join(sorted({kind(n) for n in group.consumers})) or "output"
    depthwise = sorted({kind(n) for n in group.depthwise})
    return f"dw{'+'.join(depthwise)} > {feeds}" if depthwise else feeds


class PruningEnv:
    """One episode = one keep ratio per group, in order.

    Args:
        latency: the per-group latency model.
        budget_ms: the budget.
        lowest_ratio: the smallest keep ratio an action maps to.

    The state of a step (``observation``) is AMC's embedding, min-max scaled over the groups: the group's
    index, its static features, the latency it can remove, the latency removed so far and still to remove,
    and the previous action.
    """

    def __init__(self, latency: GroupLatency, budget_ms: float, lowest_ratio: float = 0.2):
        self.latency = latency
        self.budget_ms = float(budget_ms)
        self.lowest = float(lowest_ratio)
        self.groups = list(latency.deltas)
        self.sizes = {g: max(latency.grid(g)) for g in self.groups}
        self.min_delta = {g: min(latency.deltas[g].values()) for g in self.groups}
        static = np.array([latency.features.get(g, [0.0]) + [-self.min_delta[g]] for g in self.groups], dtype=float)
        span = static.max(axis=0) - static.min(axis=0)
        self._static = (static - static.min(axis=0)) / np.where(span > 0, span, 1.0)
        self.reset()

    @property
    def state_dim(self) -> int:
        return self._static.shape[1] + 4

    def reset(self) -> np.ndarray:
        self.t = 0
        self.counts: dict[str, int] = {}
        self.prev_action = 1.0
        return self.observation()

    def observation(self) -> np.ndarray:
        t = min(self.t, len(self.groups) - 1)
        table_needed = self.budget_ms / self.latency.start_ms * self.latency.table_ms - self.latency.table_ms
        removed = -sum(self.latency.deltas[g][c] for g, c in self.counts.items())
        scale = max(-table_needed, 1e-9)
        return np.concatenate([[t / max(1, len(self.groups) - 1)], self._static[t],
                               [removed / scale, max(0.0, -table_needed - removed) / scale, self.prev_action]])

    def _allowed(self, group: str) -> float:
        """The largest table difference this group may keep with every later group at its smallest count."""
        table_budget = self.budget_ms / self.latency.start_ms * self.latency.table_ms
        chosen = sum(self.latency.deltas[g][c] for g, c in self.counts.items())
        later = sum(self.min_delta[g] for g in self.groups[self.t + 1:])
        return table_budget - self.latency.table_ms - chosen - later

    def step(self, action: float) -> tuple[np.ndarray, int, bool]:
        """Apply a keep ratio in [0, 1] (mapped to [lowest ratio, 1]) to the current group: the smallest count
        on the group's grid that keeps at least that share (AMC rounds up to its channel step), clipped to the
        budget. Returns (next state, the count chosen, whether the episode is over)."""
        group = self.groups[self.t]
        ratio = self.lowest + (1 - self.lowest) * float(np.clip(action, 0.0, 1.0))
        grid = self.latency.grid(group)
        target = min(c for c in grid if c >= ratio * self.sizes[group] - 1e-9)  # rounded up, as AMC does
        wanted = [c for c in grid if c <= target]
        allowed = self._allowed(group)
        fitting = [c for c in wanted if self.latency.deltas[group][c] <= allowed + 1e-12]
        count = max(fitting) if fitting else min(grid, key=lambda c: self.latency.deltas[group][c])
        self.counts[group] = count
        self.prev_action = (count / self.sizes[group] - self.lowest) / (1 - self.lowest)
        self.t += 1
        done = self.t == len(self.groups)
        return self.observation(), count, done

    def estimate(self) -> float:
        return self.latency.estimate(self.counts)
