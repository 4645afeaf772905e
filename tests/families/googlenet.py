"""GoogLeNet (Inception v1) in the layout of ``torchvision.models.googlenet``: BasicConv2d
(bias-free conv, BN with eps 0.001, ``F.relu(inplace=True)``), Inception blocks of four branches
joined by ``torch.cat``, MaxPool2d(..., ceil_mode=True), the optional ``transform_input``, and
the two InceptionAux heads that exist when ``aux_logits`` and run only in training.

In training with ``aux_logits`` the eager forward returns ``GoogLeNetOutputs(logits,
aux_logits2, aux_logits1)`` exactly as torchvision's does, including its quirk: ``forward``
unpacks ``_forward``'s ``(x, aux2, aux1)`` as ``(x, aux1, aux2)``, so the field
``aux_logits2`` holds the output of ``aux1`` and ``aux_logits1`` that of ``aux2``. In eval the
logits tensor is returned. ``width_div`` divides every channel count of the torchvision table.
"""

import warnings
from collections import namedtuple
from typing import Any, Callable, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__annotations__ = {"logits": Tensor, "aux_logits2": Optional[Tensor],
                                    "aux_logits1": Optional[Tensor]}
_GoogLeNetOutputs = GoogLeNetOutputs


class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        x = self.bn(x)
        return F.relu(x, inplace=True)


class Inception(nn.Module):
    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, conv_block: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        if conv_block is None:
            conv_block = BasicConv2d
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            # torchvision uses a 3x3 kernel here too (a known deviation from the paper's 5x5)
            conv_block(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )

    def _forward(self, x: Tensor) -> List[Tensor]:
        branch1 = self.branch1(x)
        branch2 = self.branch2(x)
        branch3 = self.branch3(x)
        branch4 = self.branch4(x)
        return [branch1, branch2, branch3, branch4]

    def forward(self, x: Tensor) -> Tensor:
        outputs = self._forward(x)
        return torch.cat(outputs, 1)


class InceptionAux(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, conv_block: Optional[Callable[..., nn.Module]] = None,
                 dropout: float = 0.7, conv_channels: int = 128, hidden: int = 1024) -> None:
        super().__init__()
        if conv_block is None:
            conv_block = BasicConv2d
        self.conv = conv_block(in_channels, conv_channels, kernel_size=1)
        self.fc1 = nn.Linear(conv_channels * 4 * 4, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = self.conv(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x), inplace=True)
        x = self.dropout(x)
        x = self.fc2(x)
        return x


class GoogLeNet(nn.Module):
    __constants__ = ["aux_logits", "transform_input"]

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        init_weights: Optional[bool] = None,
        blocks: Optional[List[Callable[..., nn.Module]]] = None,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        in_channels: int = 3,
        width_div: int = 1,
    ) -> None:
        super().__init__()
        if blocks is None:
            blocks = [BasicConv2d, Inception, InceptionAux]
        if init_weights is None:
            init_weights = True  # torchvision's default (it also warns that this will change)
        if len(blocks) != 3:
            raise ValueError(f"blocks length should be 3 instead of {len(blocks)}")
        conv_block, inception_block, inception_aux_block = blocks

        def c(*widths: int) -> List[int]:
            return [max(1, w // width_div) for w in widths]

        self.aux_logits = aux_logits
        self.transform_input = transform_input

        self.conv1 = conv_block(in_channels, *c(64), kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv_block(*c(64, 64), kernel_size=1)
        self.conv3 = conv_block(*c(64, 192), kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = inception_block(*c(192, 64, 96, 128, 16, 32, 32))
        self.inception3b = inception_block(*c(256, 128, 128, 192, 32, 96, 64))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = inception_block(*c(480, 192, 96, 208, 16, 48, 64))
        self.inception4b = inception_block(*c(512, 160, 112, 224, 24, 64, 64))
        self.inception4c = inception_block(*c(512, 128, 128, 256, 24, 64, 64))
        self.inception4d = inception_block(*c(512, 112, 144, 288, 32, 64, 64))
        self.inception4e = inception_block(*c(528, 256, 160, 320, 32, 128, 128))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = inception_block(*c(832, 256, 160, 320, 32, 128, 128))
        self.inception5b = inception_block(*c(832, 384, 192, 384, 48, 128, 128))

        if aux_logits:
            aux_conv, aux_hidden = c(128, 1024)
            self.aux1 = inception_aux_block(*c(512), num_classes, dropout=dropout_aux, conv_channels=aux_conv,
                                            hidden=aux_hidden)
            self.aux2 = inception_aux_block(*c(528), num_classes, dropout=dropout_aux, conv_channels=aux_conv,
                                            hidden=aux_hidden)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(*c(1024), num_classes)

        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: Tensor) -> Tensor:
        if self.transform_input:
            # from ImageNet normalisation to the [-1, 1] scaling the ported weights expect
            x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
            x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
            x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
            x = torch.cat((x_ch0, x_ch1, x_ch2), 1)
        return x

    def _forward(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        x = self.conv1(x)
        x = self.maxpool1(x)
        x = self.conv2(x)
        x = self.conv3(x)
        x = self.maxpool2(x)

        x = self.inception3a(x)
        x = self.inception3b(x)
        x = self.maxpool3(x)
        x = self.inception4a(x)
        aux1: Optional[Tensor] = None
        if self.aux1 is not None:
            if self.training:
                aux1 = self.aux1(x)

        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)
        aux2: Optional[Tensor] = None
        if self.aux2 is not None:
            if self.training:
                aux2 = self.aux2(x)

        x = self.inception4e(x)
        x = self.maxpool4(x)
        x = self.inception5a(x)
        x = self.inception5b(x)

        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.dropout(x)
        x = self.fc(x)
        return x, aux2, aux1

    def eager_outputs(self, x: Tensor, aux2: Tensor, aux1: Optional[Tensor]) -> GoogLeNetOutputs:
        if self.training and self.aux_logits:
            return _GoogLeNetOutputs(x, aux2, aux1)
        return x  # type: ignore[return-value]

    def forward(self, x: Tensor) -> GoogLeNetOutputs:
        x = self._transform_input(x)
        # same (mis)naming as torchvision: _forward gives (x, aux2, aux1)
        x, aux1, aux2 = self._forward(x)
        if torch.jit.is_scripting():
            if not (self.training and self.aux_logits):
                warnings.warn("Scripted GoogleNet always returns GoogleNetOutputs Tuple")
            return GoogLeNetOutputs(x, aux2, aux1)
        return self.eager_outputs(x, aux2, aux1)


def googlenet(num_classes: int = 10, in_channels: int = 3, **kwargs: Any) -> GoogLeNet:
    """GoogLeNet at 1/8 of every width, aux heads on; PyTorch's default init unless
    ``init_weights=True`` (torchvision's truncated normal with std 0.01 makes the logits ~0)."""
    kwargs.setdefault("width_div", 8)
    kwargs.setdefault("init_weights", False)
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
