"""netadapt: latency-aware, hardware-in-the-loop NetAdapt pruning.

The library is usable from Python; ``netadapt.cli`` is a thin click layer over it.
"""

__version__ = "0.1.0"
