"""Channel analysis and physical channel removal."""

from netadapt.pruning.dependency import main_output
from netadapt.pruning.graph import ChannelGroup, NetworkGraph, analyze
from netadapt.pruning.remove import apply_channels, first_channels, keep_channels, shrunk_copy

__all__ = ["ChannelGroup", "NetworkGraph", "analyze", "apply_channels", "first_channels", "keep_channels",
           "main_output", "shrunk_copy"]
