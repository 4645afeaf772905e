"""Building blocks shared by the zoo, restricted to what fx tracing and torch-pruning handle well.

Every convolution is square, symmetrically padded and followed directly by its batch norm;
activations are modules, never functional calls.
"""

from __future__ import annotations

import torch
from torch import nn

from netadapt.errors import UserError


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` (at least ``min_value``, default ``divisor``).

    As in the MobileNet reference code: never round down by more than 10%.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def check_width(width_mult: float) -> None:
    """Raise :class:`UserError` unless ``width_mult`` is a positive number."""
    if not isinstance(width_mult, (int, float)) or width_mult <= 0:
        raise UserError(f"width_mult must be a positive number, got {width_mult!r}")


def scale_channels(channels: int, width_mult: float) -> int:
    """``channels * width_mult`` rounded to the nearest int, at least 1 (for non-MobileNet models)."""
    check_width(width_mult)
    return max(1, int(round(channels * width_mult)))


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> optional activation module.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size; padding is ``kernel_size // 2``.
        stride: convolution stride.
        groups: convolution groups (``in_channels`` for depthwise).
        activation: an activation class (``nn.ReLU``, ``nn.ReLU6``) or None for a linear output.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, activation: type[nn.Module] | None = nn.ReLU):
        layers = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)


def init_weights(model: nn.Module) -> None:
    """Kaiming-normal convolutions, unit batch norms, small normal linear layers."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.01)
            nn.init.zeros_(module.bias)


def check_stem(stem: str) -> None:
    """Raise :class:`UserError` unless ``stem`` is ``"cifar"`` or ``"imagenet"``."""
    if stem not in ("cifar", "imagenet"):
        raise UserError(f"stem must be 'cifar' or 'imagenet', got {stem!r}")


class PooledClassifier(nn.Module):
    """The zoo's common shape: a feature extractor, global average pooling, one linear classifier."""

    def build_head(self, features: nn.Module, channels: int, num_classes: int) -> None:
        """Attach ``features`` and the pooled linear head, then initialise every weight."""
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
