"""SqueezeNet 1.0 / 1.1 in the layout of ``torchvision.models.squeezenet``: Fire modules
(squeeze, then ReLU'd expand1x1 and expand3x3 concatenated), MaxPool2d(3, 2, ceil_mode=True),
and a ``classifier`` of Dropout, a 1x1 ``final_conv`` to the classes, ReLU and
AdaptiveAvgPool2d((1, 1)), followed by ``torch.flatten(x, 1)``.

``width_div`` divides every channel count of the torchvision tables (1 = the real widths)."""

import torch
import torch.nn.init as init
from torch import Tensor, nn


class Fire(nn.Module):
    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1
        )


class SqueezeNet(nn.Module):
    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3,
                 width_div: int = 1) -> None:
        super().__init__()
        self.num_classes = num_classes

        def c(v: int) -> int:
            return max(1, v // width_div)

        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, c(96), kernel_size=7, stride=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(c(96), c(16), c(64), c(64)),
                Fire(c(128), c(16), c(64), c(64)),
                Fire(c(128), c(32), c(128), c(128)),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(c(256), c(32), c(128), c(128)),
                Fire(c(256), c(48), c(192), c(192)),
                Fire(c(384), c(48), c(192), c(192)),
                Fire(c(384), c(64), c(256), c(256)),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(c(512), c(64), c(256), c(256)),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, c(64), kernel_size=3, stride=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(c(64), c(16), c(64), c(64)),
                Fire(c(128), c(16), c(64), c(64)),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(c(128), c(32), c(128), c(128)),
                Fire(c(256), c(32), c(128), c(128)),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(c(256), c(48), c(192), c(192)),
                Fire(c(384), c(48), c(192), c(192)),
                Fire(c(384), c(64), c(256), c(256)),
                Fire(c(512), c(64), c(256), c(256)),
            )
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")

        # the last conv is initialised differently from the others
        final_conv = nn.Conv2d(c(512), self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)


def squeezenet1_0(num_classes: int = 10, in_channels: int = 3, **kwargs) -> SqueezeNet:
    kwargs.setdefault("width_div", 4)
    return SqueezeNet("1_0", num_classes=num_classes, in_channels=in_channels, **kwargs)


def squeezenet1_1(num_classes: int = 10, in_channels: int = 3, **kwargs) -> SqueezeNet:
    kwargs.setdefault("width_div", 4)
    return SqueezeNet("1_1", num_classes=num_classes, in_channels=in_channels, **kwargs)
