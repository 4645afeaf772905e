"""The latency lookup table: layer signatures and their measured statistics, per device."""

from lut.signature import ACTIVATIONS, OPS, LayerSignature

__all__ = ["ACTIVATIONS", "OPS", "LayerSignature"]
