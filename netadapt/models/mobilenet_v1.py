"""MobileNetV1 (Howard et al., 2017): depthwise-separable convolutions."""

from __future__ import annotations

from torch import nn

from netadapt.models.layers import ConvBNAct, PooledClassifier, check_stem, check_width, make_divisible
from netadapt.models.registry import register_model

# (output channels, stride) of each depthwise-separable block, as in the paper's Table 1.
_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
           (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class MobileNetV1(PooledClassifier):
    """MobileNetV1.

    Args:
        num_classes: classifier outputs.
        in_channels: input image channels.
        width_mult: multiplier on every channel count (rounded to multiples of 8, at least 8).
        stem: ``"imagenet"`` for the paper's strides (224x224 -> 7x7), ``"cifar"`` for a stride-1
            first convolution (32x32 -> 2x2).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
                 stem: str = "cifar"):
        super().__init__()
        check_stem(stem)
        check_width(width_mult)
        channels = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [ConvBNAct(in_channels, channels, 3, stride=2 if stem == "imagenet" else 1)]
        for out, stride in _BLOCKS:
            out = make_divisible(out * width_mult)
            layers.append(nn.Sequential(
                ConvBNAct(channels, channels, 3, stride=stride, groups=channels),
                ConvBNAct(channels, out, 1),
            ))
            channels = out
        self.build_head(nn.Sequential(*layers), channels, num_classes)


@register_model("mobilenet_v1", "MobileNetV1 (depthwise-separable), CIFAR stem by default; stem='imagenet' for 224x224",
                default_input=(3, 32, 32))
def mobilenet_v1(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
                 stem: str = "cifar") -> MobileNetV1:
    return MobileNetV1(num_classes=num_classes, in_channels=in_channels, width_mult=width_mult, stem=stem)
