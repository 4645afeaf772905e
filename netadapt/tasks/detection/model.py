"""A small anchor-free one-stage detector in the style of YOLOv8, sized for CPU-scale canvases.

The backbone halves the resolution five times (stem, then four stages of a strided convolution and a C2f
block; SPPF closes the last one) and hands its stride-8, -16 and -32 features to an FPN/PAN neck: a
top-down path (nearest-neighbour upsampling, concatenation with the lateral features, C2f) followed by a
bottom-up path (strided convolution, concatenation, C2f). Each of the three neck outputs feeds a decoupled
head: a box branch and a class branch, each two 3x3 convolutions and a final 1x1 convolution.

The forward pass returns the raw maps only, one ``(N, 4 + num_classes, H_l, W_l)`` tensor per level: four
box channels (left, top, right and bottom distances from the cell centre, in units of the level's stride,
before a softplus; see ``netadapt.tasks.detection.boxes``) then the class logits. Decoding and NMS live
outside the network, so the network exports to ONNX as plain convolutions.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from netadapt.models.layers import make_divisible
from netadapt.models.registry import register_model

STRIDES = (8, 16, 32)
_WIDTHS = (64, 128, 256, 512, 1024)  # stem and the four stages at width 1.0
_DEPTHS = (3, 6, 6, 3)  # C2f repeats of the four stages at depth 1.0; the neck's use the first
_PRIOR = 0.01  # the class probability the head starts from (focal-loss initialisation)


class Conv(nn.Module):
    """Conv2d (no bias, ``kernel // 2`` padding) -> BatchNorm2d -> SiLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two 3x3 Convs, with an identity shortcut when ``shortcut`` is set."""

    def __init__(self, channels: int, shortcut: bool):
        super().__init__()
        self.cv1 = Conv(channels, channels, 3)
        self.cv2 = Conv(channels, channels, 3)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.shortcut else y


class C2f(nn.Module):
    """CSP block with two split halves: a 1x1 Conv to ``2 * hidden`` channels, split in two along the channels;
    ``n`` Bottlenecks run one after another on the second half, and every part (both halves and each
    Bottleneck's output) is concatenated into a 1x1 Conv to ``out_channels``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        n: Bottlenecks (at least 1).
        shortcut: whether the Bottlenecks add their input.
    """

    def __init__(self, in_channels: int, out_channels: int, n: int = 1, shortcut: bool = True):
        super().__init__()
        hidden = out_channels // 2
        self.cv1 = Conv(in_channels, 2 * hidden, 1)
        self.m = nn.ModuleList(Bottleneck(hidden, shortcut) for _ in range(n))
        self.cv2 = Conv((2 + n) * hidden, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.cv1(x).chunk(2, 1))
        for block in self.m:
            parts.append(block(parts[-1]))
        return self.cv2(torch.cat(parts, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: a 1x1 Conv to half the channels, three chained 5x5 max-pools (stride
    1), the four maps concatenated into a 1x1 Conv."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 5):
        super().__init__()
        hidden = in_channels // 2
        self.cv1 = Conv(in_channels, hidden, 1)
        self.pool = nn.MaxPool2d(kernel, stride=1, padding=kernel // 2)
        self.cv2 = Conv(4 * hidden, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        p1 = self.pool(x)
        p2 = self.pool(p1)
        return self.cv2(torch.cat([x, p1, p2, self.pool(p2)], 1))


class Branch(nn.Sequential):
    """One branch of a decoupled head: two 3x3 Convs, then a 1x1 Conv2d (with bias) to ``outputs`` maps."""

    def __init__(self, in_channels: int, channels: int, outputs: int):
        super().__init__(Conv(in_channels, channels, 3), Conv(channels, channels, 3),
                         nn.Conv2d(channels, outputs, 1))


class DetectHead(nn.Module):
    """The decoupled head of one level: ``cat([box branch, class branch], 1)``."""

    def __init__(self, in_channels: int, box_channels: int, class_channels: int, num_classes: int):
        super().__init__()
        self.box = Branch(in_channels, box_channels, 4)
        self.cls = Branch(in_channels, class_channels, num_classes)
        with torch.no_grad():  # start every cell at the prior class probability and unit box distances
            self.cls[-1].bias.fill_(-math.log((1 - _PRIOR) / _PRIOR))
            self.box[-1].bias.fill_(math.log(math.e - 1))  # softplus(b) = 1 stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.box(x), self.cls(x)], 1)


class YoloTiny(nn.Module):
    """The detector.

    Args:
        num_classes: class logits per cell.
        in_channels: input image channels.
        width: multiplier on the channels of YOLOv8's width-1.0 layout (64, 128, 256, 512, 1024), each
            rounded to a multiple of 8 (at least 8); 0.25 is YOLOv8-n's (16 ... 256), 0.125 the detection
            task's (8 ... 128). Every head's box branch has max(16, C/2) channels and its class branch
            max(C, num_classes), C being the stride-8 features' channels.
        depth: multiplier on the C2f repeats (3, 6, 6, 3), each rounded and at least 1; 0.33 is YOLOv8-n's.
            The neck's C2f blocks repeat as the first stage's, without shortcuts.

    Attributes:
        strides: the stride of each output level (8, 16, 32): inputs must be multiples of 32.
        head_convs: the qualified names of the head's final 1x1 convolutions, whose output channels are
            the box distances and class logits (never to be pruned).
    """

    strides = STRIDES

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: float = 0.25, depth: float = 0.33):
        super().__init__()
        if width <= 0 or depth <= 0:
            raise ValueError(f"width and depth must be positive, got {width} and {depth}")
        c0, c1, c2, c3, c4 = (make_divisible(c * width) for c in _WIDTHS)
        n1, n2, n3, n4 = (max(1, round(n * depth)) for n in _DEPTHS)
        self.num_classes = num_classes
        self.stem = Conv(in_channels, c0, 3, 2)  # stride 2
        self.stage1 = nn.Sequential(Conv(c0, c1, 3, 2), C2f(c1, c1, n1))  # 4
        self.stage2 = nn.Sequential(Conv(c1, c2, 3, 2), C2f(c2, c2, n2))  # 8
        self.stage3 = nn.Sequential(Conv(c2, c3, 3, 2), C2f(c3, c3, n3))  # 16
        self.stage4 = nn.Sequential(Conv(c3, c4, 3, 2), C2f(c4, c4, n4), SPPF(c4, c4))  # 32
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.top_down4 = C2f(c4 + c3, c3, n1, shortcut=False)
        self.top_down3 = C2f(c3 + c2, c2, n1, shortcut=False)
        self.down3 = Conv(c2, c2, 3, 2)
        self.bottom_up4 = C2f(c2 + c3, c3, n1, shortcut=False)
        self.down4 = Conv(c3, c3, 3, 2)
        self.bottom_up5 = C2f(c3 + c4, c4, n1, shortcut=False)
        box_channels = max(16, c2 // 2)
        class_channels = max(c2, min(num_classes, 100))
        self.heads = nn.ModuleList(DetectHead(c, box_channels, class_channels, num_classes) for c in (c2, c3, c4))
        self.head_convs = tuple(f"heads.{i}.{branch}.2" for i in range(3) for branch in ("box", "cls"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p3 = self.stage2(self.stage1(self.stem(x)))
        p4 = self.stage3(p3)
        p5 = self.stage4(p4)
        t4 = self.top_down4(torch.cat([self.up(p5), p4], 1))
        n3 = self.top_down3(torch.cat([self.up(t4), p3], 1))
        n4 = self.bottom_up4(torch.cat([self.down3(n3), t4], 1))
        n5 = self.bottom_up5(torch.cat([self.down4(n4), p5], 1))
        return tuple(head(f) for head, f in zip(self.heads, (n3, n4, n5)))


@register_model("yolo_tiny", "YOLOv8-style anchor-free detector (C2f, SPPF, FPN/PAN, decoupled head); "
                "raw maps at strides 8/16/32", default_input=(3, 96, 96), task="detection")
def yolo_tiny(num_classes: int = 10, in_channels: int = 3, width_mult: float = 0.25, depth: float = 0.33) -> YoloTiny:
    """``YoloTiny`` under the zoo's argument names (``width_mult`` is its ``width``)."""
    return YoloTiny(num_classes=num_classes, in_channels=in_channels, width=width_mult, depth=depth)
