"""Models a user might bring, importable as ``usermodels:<factory>`` in tests."""

import torch
import torch.nn as nn


class ResidualDepthwiseNet(nn.Module):
    """A user model with a residual addition and a depthwise convolution (module:factory target)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        self.stem_act = nn.ReLU()
        self.dw = nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False)
        self.dw_bn = nn.BatchNorm2d(width)
        self.dw_act = nn.ReLU6()
        self.pw = nn.Conv2d(width, width, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(width)
        self.expand = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False)
        self.expand_bn = nn.BatchNorm2d(2 * width)
        self.expand_act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.stem_act(self.stem_bn(self.stem(x)))
        y = self.pw_bn(self.pw(self.dw_act(self.dw_bn(self.dw(x)))))
        x = x + y
        x = self.expand_act(self.expand_bn(self.expand(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def residual_depthwise_net(**kwargs):
    return ResidualDepthwiseNet(**kwargs)
