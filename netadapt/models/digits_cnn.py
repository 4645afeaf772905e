"""A small plain CNN for the built-in digits data (1x32x32): the default model of ``netadapt run``.

Three stages of conv-bn-relu layers separated by max pools, then a global average pool and one
linear classifier. The widths give enough compute (several hundred MFLOPs) that pruning changes
measured latency clearly, while it still trains on the 1,797 digits in about a minute on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from netadapt.models.layers import ConvBNAct, init_weights, scale_channels
from netadapt.models.registry import register_model

# Output channels per stage; a 2x2 max pool follows each stage but the last.
_STAGES = ((32, 32), (64, 64), (128, 128))


class DigitsCNN(nn.Module):
    """Plain CNN: stages of 3x3 conv-bn-relu, max pools between stages.

    Args:
        num_classes: classifier outputs.
        in_channels: input image channels.
        width_mult: multiplier on every channel count.
        stages: output channels of each conv layer, grouped by stage.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width_mult: float = 1.0,
                 stages: tuple[tuple[int, ...], ...] = _STAGES):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i, stage in enumerate(stages):
            if i > 0:
                layers.append(nn.MaxPool2d(2, 2))
            for width in stage:
                out = scale_channels(width, width_mult)
                layers.append(ConvBNAct(channels, out, 3))
                channels = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


@register_model("digits_cnn", "Small plain CNN for the built-in 32x32 digits data (default of `netadapt run`)",
                default_input=(1, 32, 32))
def digits_cnn(num_classes: int = 10, in_channels: int = 1, width_mult: float = 1.0) -> DigitsCNN:
    return DigitsCNN(num_classes=num_classes, in_channels=in_channels, width_mult=width_mult)
