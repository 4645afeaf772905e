"""MNASNet (B1) in the layout of ``torchvision.models.mnasnet``: one ``layers`` Sequential
(stem, depthwise-separable conv, six stacks of inverted residuals, 1x1 conv), ``x.mean([2, 3])``
and a Dropout + Linear ``classifier``."""

from typing import List, Sequence

from torch import Tensor, nn

# TensorFlow's 0.9997 batch-norm decay as a PyTorch momentum
_BN_MOMENTUM = 1 - 0.9997


class _InvertedResidual(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion_factor: int,
                 bn_momentum: float = 0.1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        if kernel_size not in (3, 5):
            raise ValueError(f"kernel_size should be 3 or 5 instead of {kernel_size}")
        mid_ch = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            # pointwise
            nn.Conv2d(in_ch, mid_ch, 1, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            # depthwise
            nn.Conv2d(mid_ch, mid_ch, kernel_size, padding=kernel_size // 2, stride=stride, groups=mid_ch,
                      bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            # linear pointwise (no activation)
            nn.Conv2d(mid_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, momentum=bn_momentum),
        )

    def forward(self, input: Tensor) -> Tensor:
        if self.apply_residual:
            return self.layers(input) + input
        return self.layers(input)


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int, repeats: int,
           bn_momentum: float) -> nn.Sequential:
    """``repeats`` inverted residuals; only the first one changes the shape (so has no skip)."""
    if repeats < 1:
        raise ValueError(f"repeats should be >= 1, instead got {repeats}")
    first = _InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor, bn_momentum=bn_momentum)
    rest = [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor, bn_momentum=bn_momentum)
            for _ in range(1, repeats)]
    return nn.Sequential(first, *rest)


def _round_to_multiple_of(val: float, divisor: int, round_up_bias: float = 0.9) -> int:
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError(f"round_up_bias should be in (0, 1), got {round_up_bias}")
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def _get_depths(alpha: float) -> List[int]:
    depths = [32, 16, 24, 40, 80, 96, 192, 320]
    return [_round_to_multiple_of(depth * alpha, 8) for depth in depths]


class MNASNet(nn.Module):
    _version = 2

    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2, in_channels: int = 3,
                 last_channel: int = 1280, repeats: Sequence[int] = (3, 3, 3, 2, 4, 1)) -> None:
        super().__init__()
        if alpha <= 0.0:
            raise ValueError(f"alpha should be greater than 0.0 instead of {alpha}")
        self.alpha = alpha
        self.num_classes = num_classes
        depths = _get_depths(alpha)
        r = list(repeats)
        layers = [
            # first layer: regular conv
            nn.Conv2d(in_channels, depths[0], 3, padding=1, stride=2, bias=False),
            nn.BatchNorm2d(depths[0], momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            # depthwise separable, no skip
            nn.Conv2d(depths[0], depths[0], 3, padding=1, stride=1, groups=depths[0], bias=False),
            nn.BatchNorm2d(depths[0], momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(depths[0], depths[1], 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(depths[1], momentum=_BN_MOMENTUM),
            # stacks of inverted residuals
            _stack(depths[1], depths[2], 3, 2, 3, r[0], _BN_MOMENTUM),
            _stack(depths[2], depths[3], 5, 2, 3, r[1], _BN_MOMENTUM),
            _stack(depths[3], depths[4], 5, 2, 6, r[2], _BN_MOMENTUM),
            _stack(depths[4], depths[5], 3, 1, 6, r[3], _BN_MOMENTUM),
            _stack(depths[5], depths[6], 5, 2, 6, r[4], _BN_MOMENTUM),
            _stack(depths[6], depths[7], 3, 1, 6, r[5], _BN_MOMENTUM),
            # mapping to the classifier input
            nn.Conv2d(depths[7], last_channel, 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(last_channel, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(m.bias)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # as torchvision's MNASNet: a state dict without this module's version number is refused
        if local_metadata.get("version") not in (1, 2):
            raise ValueError(f"version should be set to 1 or 2 instead of {local_metadata.get('version')}")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layers(x)
        # global average pool that also drops H and W
        x = x.mean([2, 3])
        return self.classifier(x)


def mnasnet(num_classes: int = 10, in_channels: int = 3, **kwargs) -> MNASNet:
    """MNASNet at depth multiplier 0.25, stacks of 2, 2, 2, 2, 2, 1 blocks, a 256-channel last conv."""
    alpha = kwargs.pop("alpha", 0.25)
    kwargs.setdefault("last_channel", 256)
    kwargs.setdefault("repeats", (2, 2, 2, 2, 2, 1))
    return MNASNet(alpha, num_classes=num_classes, in_channels=in_channels, **kwargs)


def mnasnet0_5(num_classes: int = 10, in_channels: int = 3, **kwargs) -> MNASNet:
    """The full torchvision mnasnet0_5 (about 2.2M parameters at 1000 classes)."""
    return MNASNet(0.5, num_classes=num_classes, in_channels=in_channels, **kwargs)
