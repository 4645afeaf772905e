"""AMC (He et al., ECCV 2018): a reinforcement-learning agent chooses each group's pruning ratio, here
under a latency budget measured on the device instead of FLOPs."""

from netadapt.amc.config import AmcConfig
from netadapt.amc.env import GroupLatency, PruningEnv
from netadapt.amc.search import AmcSearch

__all__ = ["AmcConfig", "AmcSearch", "GroupLatency", "PruningEnv"]
