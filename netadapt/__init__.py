"""netadapt: latency-aware, hardware-in-the-loop NetAdapt pruning.

The public verbs sit here: ``netadapt.prune`` shrinks a model until its measured latency meets a budget,
``netadapt.load`` rebuilds a pruned model of a run, ``netadapt.Task`` bundles a model with the user's own
training loop and metric. They load on first use, so ``import netadapt`` (and ``netadapt --help``) stays light;
``netadapt.cli`` is a thin click layer over the library.
"""

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it (imported on first use)
_LAZY = {
    "Task": "netadapt.task",
    "prune": "netadapt.api",
    "load": "netadapt.api",
    "PruneResult": "netadapt.api",
    "IterationRecord": "netadapt.api",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netadapt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
