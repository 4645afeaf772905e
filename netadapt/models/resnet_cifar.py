"""CIFAR ResNets (He et al., 2016, section 4.2): 6n+2 layers in three stages of 16, 32, 64 channels, and
the bottleneck variant (section 4.1's 1x1-3x3-1x1 block, 9n+2 layers, four times wider outputs).

Shortcuts use option B: a 1x1 convolution with batch norm when the shape changes, identity otherwise.
"""

from __future__ import annotations

import torch
from torch import nn

from netadapt.models.layers import ConvBNAct, init_weights, scale_channels
from netadapt.models.registry import register_model


def shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Option B: a 1x1 convolution with batch norm where the shape changes, the identity otherwise."""
    if stride != 1 or in_channels != out_channels:
        return ConvBNAct(in_channels, out_channels, 1, stride=stride, activation=None)
    return nn.Identity()


class BasicBlock(nn.Module):
    """Two 3x3 conv-bn layers plus a shortcut, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = ConvBNAct(in_channels, out_channels, 3, stride=stride)
        self.conv2 = ConvBNAct(out_channels, out_channels, 3, activation=None)
        self.shortcut = shortcut(in_channels, out_channels, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand to ``expansion`` times the width, plus a shortcut,
    then ReLU."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = ConvBNAct(in_channels, width, 1)
        self.conv2 = ConvBNAct(width, width, 3, stride=stride)
        self.conv3 = ConvBNAct(width, out_channels, 1, activation=None)
        self.shortcut = shortcut(in_channels, out_channels, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs, or ResNet-(9n+2) with bottleneck blocks.

    Args:
        blocks_per_stage: n, the number of blocks in each of the three stages.
        num_classes: classifier outputs.
        in_channels: input image channels.
        width_mult: multiplier on the stage widths 16, 32, 64.
        bottleneck: 1x1-3x3-1x1 blocks whose outputs are four times the stage width.
    """

    def __init__(self, blocks_per_stage: int, num_classes: int = 10, in_channels: int = 3,
                 width_mult: float = 1.0, bottleneck: bool = False):
        super().__init__()
        widths = [scale_channels(c, width_mult) for c in (16, 32, 64)]
        self.stem = ConvBNAct(in_channels, widths[0], 3)
        layers: list[nn.Module] = []
        channels = widths[0]
        for stage, width in enumerate(widths):
            for i in range(blocks_per_stage):
                stride = 2 if stage > 0 and i == 0 else 1
                if bottleneck:
                    layers.append(Bottleneck(channels, width, stride))
                    channels = width * Bottleneck.expansion
                else:
                    layers.append(BasicBlock(channels, width, stride))
                    channels = width
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.layers(self.stem(x)))
        return self.classifier(torch.flatten(x, 1))


@register_model("resnet20", "ResNet-20 for CIFAR (3x3 blocks, 16/32/64 channels, 1x1 projection shortcuts)",
                default_input=(3, 32, 32))
def resnet20(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0) -> CifarResNet:
    return CifarResNet(3, num_classes=num_classes, in_channels=in_channels, width_mult=width_mult)


@register_model("resnet56", "ResNet-56 for CIFAR (3x3 blocks, 16/32/64 channels, 1x1 projection shortcuts)",
                default_input=(3, 32, 32))
def resnet56(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0) -> CifarResNet:
    return CifarResNet(9, num_classes=num_classes, in_channels=in_channels, width_mult=width_mult)


@register_model("resnet29b", "ResNet-29 for CIFAR with bottleneck blocks (1x1-3x3-1x1, 16/32/64 inside, "
                "64/128/256 out)", default_input=(3, 32, 32))
def resnet29b(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0) -> CifarResNet:
    return CifarResNet(3, num_classes=num_classes, in_channels=in_channels, width_mult=width_mult, bottleneck=True)
