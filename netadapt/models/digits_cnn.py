"""A small plain CNN for the built-in digits data (1x32x32): the default model of ``netadapt run``.

Three stages of two conv-bn-relu layers (32, 64, 128 channels) separated by max pools, then a global
average pool and one linear classifier: 38 M multiply-adds at 1x32x32. Measured on a 2-core AMD EPYC
with ONNX Runtime 1.32 (1 thread): about 0.9 ms per image at width 1.0; it reaches about 98% test
accuracy on the digits after 5 epochs (about 25 s). Compute grows with the square of ``width_mult``:
width 2 is about 4 ms, width 4 about 14-16 ms, width 5 about 22-25 ms, and a ~1 G multiply-add model
needs about one epoch at batch 16 (a minute or more of CPU training) to pass 95%.
"""

from __future__ import annotations

from torch import nn

from netadapt.models.layers import ConvBNAct, PooledClassifier, scale_channels
from netadapt.models.registry import register_model

# Output channels per stage; a 2x2 max pool follows each stage but the last.
_STAGES = ((32, 32), (64, 64), (128, 128))


class DigitsCNN(PooledClassifier):
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
        self.build_head(nn.Sequential(*layers), channels, num_classes)


@register_model("digits_cnn", "Small plain CNN for the built-in 32x32 digits data (default of `netadapt run`)",
                default_input=(1, 32, 32))
def digits_cnn(num_classes: int = 10, in_channels: int = 1, width_mult: float = 1.0) -> DigitsCNN:
    return DigitsCNN(num_classes=num_classes, in_channels=in_channels, width_mult=width_mult)
