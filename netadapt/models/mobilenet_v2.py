"""MobileNetV2 (Sandler et al., 2018): inverted residuals with linear bottlenecks."""

from __future__ import annotations

import torch
from torch import nn

from netadapt.models.layers import ConvBNAct, PooledClassifier, check_stem, check_width, make_divisible
from netadapt.models.registry import register_model

# (expansion t, output channels c, repeats n, first stride s), the paper's Table 2.
_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
             (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class InvertedResidual(nn.Module):
    """1x1 expansion -> 3x3 depthwise -> 1x1 linear projection, with an identity shortcut when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(ConvBNAct(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride=stride, groups=hidden, activation=nn.ReLU6),
            ConvBNAct(hidden, out_channels, 1, activation=None),
        ]
        self.conv = nn.Sequential(*layers)
        # Fixed at construction, so tracing sees no data-dependent branch.
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(PooledClassifier):
    """MobileNetV2.

    Args:
        num_classes: classifier outputs.
        in_channels: input image channels.
        width_mult: multiplier on every channel count (rounded to multiples of 8, at least 8); the last
            1280-channel layer is only ever widened, as in the paper.
        stem: ``"imagenet"`` for the paper's strides (224x224 -> 7x7); ``"cifar"`` makes the first
            convolution and the first 24-channel stage stride 1 (32x32 -> 4x4).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
                 stem: str = "cifar"):
        super().__init__()
        check_stem(stem)
        check_width(width_mult)
        cifar = stem == "cifar"
        channels = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [ConvBNAct(in_channels, channels, 3, stride=1 if cifar else 2,
                                             activation=nn.ReLU6)]
        for t, c, n, s in _SETTINGS:
            if cifar and c == 24:
                s = 1
            out = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        layers.append(ConvBNAct(channels, last, 1, activation=nn.ReLU6))
        self.build_head(nn.Sequential(*layers), last, num_classes)


@register_model("mobilenet_v2", "MobileNetV2 (inverted residuals), CIFAR stem by default; stem='imagenet' for 224x224",
                default_input=(3, 32, 32))
def mobilenet_v2(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
                 stem: str = "cifar") -> MobileNetV2:
    return MobileNetV2(num_classes=num_classes, in_channels=in_channels, width_mult=width_mult, stem=stem)
