"""VGG-11 with batch norm for CIFAR-sized inputs (Simonyan & Zisserman, 2015, configuration A)."""

from __future__ import annotations

from torch import nn

from netadapt.models.layers import ConvBNAct, PooledClassifier, scale_channels
from netadapt.models.registry import register_model

_VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG(PooledClassifier):
    """VGG with batch norm: conv-bn-relu stacks, max pools, global average pool, one linear classifier.

    Args:
        config: channel counts, with ``"M"`` for a 2x2 max pool.
        num_classes: classifier outputs.
        in_channels: input image channels.
        width_mult: multiplier on every channel count.
    """

    def __init__(self, config: list, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                out = scale_channels(item, width_mult)
                layers.append(ConvBNAct(channels, out, 3))
                channels = out
        # 32x32 inputs are already 1x1 here; the pool makes other sizes work too.
        self.build_head(nn.Sequential(*layers), channels, num_classes)


@register_model("vgg11", "VGG-11 with batch norm for 32x32 inputs, one linear classifier",
                default_input=(3, 32, 32))
def vgg11(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0) -> VGG:
    return VGG(_VGG11, num_classes=num_classes, in_channels=in_channels, width_mult=width_mult)
