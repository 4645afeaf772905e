"""LR-ASPP on a small MobileNetV3-style backbone (Howard et al., 2019), sized for 64x64 canvases.

The backbone is a stem convolution and inverted residual blocks (1x1 expansion -> depthwise -> optional
squeeze-excitation -> 1x1 linear projection) with ReLU or Hardswish. Its features at stride 4 (the
low-level skip) and at stride 8 (the last layer) feed the Lite R-ASPP head: the stride-8 features pass
through a 1x1 convolution, batch norm and ReLU, multiplied by a sigmoid gate computed from their global
average; that branch is upsampled to stride 4, both branches are mapped to class logits and summed, and
the sum is upsampled bilinearly to the input's size. The paper's strides are 8 and 16; halving them keeps
the thin strokes of small digits resolvable.

The forward pass returns ``{"out": logits}`` as torchvision's segmentation models do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netadapt.models.layers import ConvBNAct, check_width, init_weights, make_divisible
from netadapt.models.registry import register_model

# (kernel, expanded channels, output channels, squeeze-excitation, activation, stride) of each block.
_BLOCKS = [
    (3, 16, 16, True, nn.ReLU, 2),     # stride 4
    (3, 64, 24, False, nn.ReLU, 1),
    (3, 72, 24, False, nn.ReLU, 1),    # low-level skip: stride 4
    (5, 96, 40, True, nn.Hardswish, 2),  # stride 8
    (5, 120, 40, True, nn.Hardswish, 1),
    (5, 120, 48, True, nn.Hardswish, 1),
]
_LOW_LEVEL = 2  # index of the block whose output is the skip
_STEM = 16
_LAST = 96  # channels of the 1x1 convolution that ends the backbone
_HEAD = 64  # channels of the LR-ASPP branch


class SqueezeExcitation(nn.Module):
    """Channel attention: global average -> 1x1 reduce -> ReLU -> 1x1 expand -> Hardsigmoid, times the input.

    Args:
        channels: input (and output) channels.
        squeeze: channels of the reduced layer.
    """

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.relu = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.relu(self.reduce(self.pool(x)))))


class InvertedResidual(nn.Module):
    """MobileNetV3's block, with an identity shortcut when stride and channels allow.

    Args:
        in_channels: input channels.
        hidden: expanded channels (no expansion convolution when equal to ``in_channels``).
        out_channels: output channels of the linear projection.
        kernel_size: of the depthwise convolution.
        stride: of the depthwise convolution.
        se: add squeeze-excitation after the depthwise convolution.
        activation: ``nn.ReLU`` or ``nn.Hardswish``.
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int, kernel_size: int, stride: int,
                 se: bool, activation: type[nn.Module]):
        super().__init__()
        layers: list[nn.Module] = []
        if hidden != in_channels:
            layers.append(ConvBNAct(in_channels, hidden, 1, activation=activation))
        layers.append(ConvBNAct(hidden, hidden, kernel_size, stride=stride, groups=hidden, activation=activation))
        if se:
            layers.append(SqueezeExcitation(hidden, make_divisible(hidden / 4)))
        layers.append(ConvBNAct(hidden, out_channels, 1, activation=None))
        self.conv = nn.Sequential(*layers)
        # Fixed at construction, so tracing sees no data-dependent branch.
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class LRASPPHead(nn.Module):
    """Lite R-ASPP: a gated 1x1 branch on the deep features and a linear classifier on the skip, summed.

    Args:
        low_channels: channels of the low-level (higher-resolution) features.
        high_channels: channels of the deep (lower-resolution) features.
        inter_channels: channels of the gated branch.
        num_classes: logits per pixel.
    """

    def __init__(self, low_channels: int, high_channels: int, inter_channels: int, num_classes: int):
        super().__init__()
        self.cbr = ConvBNAct(high_channels, inter_channels, 1, activation=nn.ReLU)
        self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                   nn.Sigmoid())
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


class LRASPPTiny(nn.Module):
    """LR-ASPP segmentation network on a six-block MobileNetV3-style backbone.

    Args:
        num_classes: logits per pixel (11 for the digit canvases: background and ten digits).
        in_channels: input image channels.
        width: multiplier on every channel count of the backbone and head (rounded to multiples of 8,
            at least 8).

    ``forward(x)`` returns ``{"out": logits}``, logits of shape (N, num_classes, H, W) for an input of
    shape (N, in_channels, H, W); H and W need not be multiples of the stride.
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 3, width: float = 1.0):
        super().__init__()
        check_width(width)
        channels = make_divisible(_STEM * width)
        self.stem = ConvBNAct(in_channels, channels, 3, stride=2, activation=nn.Hardswish)
        low, high = [], []
        for i, (kernel, hidden, out, se, activation, stride) in enumerate(_BLOCKS):
            out = make_divisible(out * width)
            # The first block keeps its input width (no expansion), as in MobileNetV3.
            hidden = channels if i == 0 else make_divisible(hidden * width)
            (low if i <= _LOW_LEVEL else high).append(
                InvertedResidual(channels, hidden, out, kernel, stride, se, activation))
            channels = out
            if i == _LOW_LEVEL:
                low_channels = channels
        last = make_divisible(_LAST * width)
        high.append(ConvBNAct(channels, last, 1, activation=nn.Hardswish))
        self.low = nn.Sequential(*low)
        self.high = nn.Sequential(*high)
        self.head = LRASPPHead(low_channels, last, make_divisible(_HEAD * width), num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        low = self.low(self.stem(x))
        logits = self.head(low, self.high(low))
        return {"out": F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)}


@register_model("lraspp_tiny", "LR-ASPP segmentation on a small MobileNetV3-style backbone; returns {'out': logits}",
                default_input=(3, 64, 64), task="segmentation")
def lraspp_tiny(num_classes: int = 11, in_channels: int = 3, width_mult: float = 1.0) -> LRASPPTiny:
    """``LRASPPTiny`` under the zoo's argument names (``width_mult`` is its ``width``)."""
    return LRASPPTiny(num_classes=num_classes, in_channels=in_channels, width=width_mult)
