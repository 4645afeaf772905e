"""AMC (He et al., ECCV 2018): a reinforcement-learning agent chooses each group's pruning ratio, here
under a latency budget measured on the device instead of FLOPs.

The search and its environment (which need torch) load on first use, so the settings, and the command line
built from them, load without torch."""

from importlib import import_module

from netadapt.amc.config import AmcConfig

__all__ = ["AmcConfig", "AmcSearch", "GroupLatency", "PruningEnv"]

_LAZY = {"AmcSearch": "netadapt.amc.search", "GroupLatency": "netadapt.amc.env", "PruningEnv": "netadapt.amc.env"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'netadapt.amc' has no attribute {name!r}")
