"""VGG with batch norm in the layout of ``torchvision.models.vgg``.

``features`` is the usual Sequential of conv3x3-BN-ReLU and MaxPool2d(2, 2), followed by
``avgpool = AdaptiveAvgPool2d((7, 7))``, ``torch.flatten`` and the three-Linear ``classifier``.

The default configuration is VGG-11's ("A") eight convolutions at 1/8 of the width with the
last two max-pools left out: a 112x112 input then reaches the (7, 7) pool at 14x14, where the
pool really averages 2x2 windows and ONNX can export it (the TorchScript exporter refuses an
adaptive pool whose output size does not divide the input size, which is what the full five
pools give at 32 or 64 pixels). ``cfg="A"`` builds the full five-pool layout (use 224 pixels).
"""

from typing import Dict, List, Union

import torch
from torch import Tensor, nn


class VGG(nn.Module):
    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
        last_channels: int = 512,
        hidden: int = 4096,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(last_channels * 7 * 7, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def make_layers(cfg: List[Union[str, int]], batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    layers: List[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            v = int(v)
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


cfgs: Dict[str, List[Union[str, int]]] = {
    # VGG-11 ("A") at 1/8 of the width
    "A": [8, "M", 16, "M", 32, 32, "M", 64, 64, "M", 64, 64, "M"],
    # the same eight convolutions, three max-pools (default: 112x112 -> 14x14 -> (7, 7))
    "A_small": [8, "M", 16, "M", 32, 32, "M", 32, 32, 32, 32],
}


def _vgg(cfg: str, batch_norm: bool, num_classes: int, in_channels: int, **kwargs) -> VGG:
    layout = cfgs[cfg]
    last = [v for v in layout if v != "M"][-1]
    kwargs.setdefault("hidden", 64)
    return VGG(make_layers(layout, batch_norm=batch_norm, in_channels=in_channels), num_classes=num_classes,
               last_channels=int(last), **kwargs)


def vgg11_bn(num_classes: int = 10, in_channels: int = 3, cfg: str = "A_small", **kwargs) -> VGG:
    return _vgg(cfg, True, num_classes, in_channels, **kwargs)


def vgg11(num_classes: int = 10, in_channels: int = 3, cfg: str = "A_small", **kwargs) -> VGG:
    return _vgg(cfg, False, num_classes, in_channels, **kwargs)
