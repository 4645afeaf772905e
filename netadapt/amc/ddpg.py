"""A small DDPG agent for AMC: an actor maps a group's state to a keep ratio, a critic scores (state, action).

As in AMC, the reward arrives once per episode (the pruned network's holdout score) and every step of the
episode is stored with it, less a moving-average baseline. Unlike the reference code's discount of 1, the
critic here regresses each step's value directly on that episode reward (a discount of 0): every step gets
the episode's credit once, and the state carries what the earlier steps did (latency removed so far, the
previous action). Exploration adds truncated-normal noise whose sigma decays per episode after warm-up.
Written in plain torch: an RL library would bring a Gym environment loop that this episodic, batched-reward
search does not fit.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn


def _mlp(inputs: int, hidden: int, out: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 1), out)


class Agent:
    """Actor (300-300, sigmoid output in [0, 1]), critic (300-300), target networks with soft updates.

    Args:
        state_dim: length of a state.
        seed: seeds the networks, the replay sampling and the noise.
        hidden: width of the hidden layers.
        actor_lr, critic_lr: Adam learning rates.
        tau: soft-update rate of the target networks.
        batch_size: transitions per update.
        capacity: replay buffer size.
    """

    def __init__(self, state_dim: int, seed: int = 0, hidden: int = 300, actor_lr: float = 1e-4,
                 critic_lr: float = 1e-3, tau: float = 0.01, batch_size: int = 64, capacity: int = 10_000):
        torch.manual_seed(seed)
        self.actor = _mlp(state_dim, hidden, nn.Sigmoid())
        self.critic = _mlp(state_dim + 1, hidden, nn.Identity())
        self.actor_target = _mlp(state_dim, hidden, nn.Sigmoid())
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=critic_lr)
        self.tau, self.batch_size, self.capacity = tau, batch_size, capacity
        self.memory: list[tuple[list[float], float, float]] = []  # (state, action, advantage)
        self.baseline: float | None = None
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)

    def act(self, state, sigma: float = 0.0, target: bool = False) -> float:
        """The actor's keep action in [0, 1], with truncated-normal noise of ``sigma``."""
        net = self.actor_target if target else self.actor
        with torch.no_grad():
            mean = float(net(torch.as_tensor(np.asarray(state), dtype=torch.float32)))
        if sigma <= 0:
            return mean
        for _ in range(100):  # truncated to [0, 1] by rejection
            x = self.np_rng.normal(mean, sigma)
            if 0.0 <= x <= 1.0:
                return float(x)
        return float(np.clip(mean, 0.0, 1.0))

    def remember(self, episode: list[tuple], reward: float) -> None:
        """Store an episode's (state, action) steps with its reward less the moving-average baseline."""
        self.baseline = reward if self.baseline is None else 0.95 * self.baseline + 0.05 * reward
        advantage = reward - self.baseline
        for state, action in episode:
            self.memory.append((list(map(float, state)), float(action), float(advantage)))
        del self.memory[:max(0, len(self.memory) - self.capacity)]

    def update(self, steps: int = 1) -> None:
        """Critic regression on stored advantages, actor ascent on the critic, soft target update."""
        if len(self.memory) < self.batch_size:
            return
        for _ in range(steps):
            batch = self.rng.sample(self.memory, self.batch_size)
            states = torch.tensor([b[0] for b in batch], dtype=torch.float32)
            actions = torch.tensor([[b[1]] for b in batch], dtype=torch.float32)
            targets = torch.tensor([[b[2]] for b in batch], dtype=torch.float32)
            q = self.critic(torch.cat([states, actions], dim=1))
            critic_loss = nn.functional.mse_loss(q, targets)
            self.critic_opt.zero_grad()
            critic_loss.backward()
            self.critic_opt.step()
            actor_loss = -self.critic(torch.cat([states, self.actor(states)], dim=1)).mean()
            self.actor_opt.zero_grad()
            actor_loss.backward()
            self.actor_opt.step()
            with torch.no_grad():
                for t, s in zip(self.actor_target.parameters(), self.actor.parameters()):
                    t.mul_(1 - self.tau).add_(self.tau * s)

    def state_dict(self) -> dict:
        return {"actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
                "actor_target": self.actor_target.state_dict(), "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict(), "memory": self.memory, "baseline": self.baseline,
                "rng": self.rng.getstate(), "np_rng": self.np_rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.actor_target.load_state_dict(state["actor_target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.memory = [(list(s), float(a), float(r)) for s, a, r in state["memory"]]
        self.baseline = state["baseline"]
        self.rng.setstate(_tuples(state["rng"]))
        self.np_rng.bit_generator.state = state["np_rng"]


def _tuples(x):
    return tuple(_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x
