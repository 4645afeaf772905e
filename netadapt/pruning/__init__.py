"""Channel analysis and physical channel removal."""

from netadapt.pruning.graph import ChannelGroup, LayerUnit, NetworkGraph, analyze
from netadapt.pruning.remove import apply_channels, keep_channels

__all__ = ["ChannelGroup", "LayerUnit", "NetworkGraph", "analyze", "apply_channels", "keep_channels"]
