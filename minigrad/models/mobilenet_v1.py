"""MobileNet V1 (Howard et al., 2017): a 3×3 stem and 13 depthwise-separable convolutions."""

from __future__ import annotations

from minigrad import nn
from minigrad.models.layers import (
    Conv2dNormActivation,
    _make_divisible,
    check_builder_args,
    first_stride_to_one,
    init_weights,
)
from minigrad.tensor import Tensor

# c, s: output channels and stride of each depthwise-separable block (paper's Table 1)
_BLOCKS = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
]


class DepthwiseSeparableConv(nn.Module):
    """The V1 block: a 3×3 depthwise conv filters each channel, a 1×1 pointwise conv mixes them.

    Both are followed by BatchNorm and ReLU. Costs `C_in·9 + C_in·C_out` weights instead of a
    standard conv's `C_in·C_out·9`.

    Args:
        in_channels, out_channels: channel counts.
        stride: 1 or 2, applied by the depthwise conv.

    Shape: (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"DepthwiseSeparableConv: stride must be 1 or 2, got {stride}")
        self.dw = Conv2dNormActivation(in_channels, in_channels, 3, stride, groups=in_channels,
                                       activation_layer=nn.ReLU)
        self.pw = Conv2dNormActivation(in_channels, out_channels, 1, activation_layer=nn.ReLU)

    def forward(self, x: Tensor) -> Tensor:
        x = self.dw(x)  # dw: 3×3 per channel, BN, ReLU
        return self.pw(x)  # pw: 1×1 across channels, BN, ReLU


class MobileNetV1(nn.Module):
    """MobileNet V1: `features` (stem + 13 blocks), `avgpool`, `classifier` (dropout, linear).

    Args:
        num_classes: outputs of the last linear layer.
        width_mult: scales every layer's channels (rounded to a multiple of 8).
        small_input: stem stride 1 and the first stride-2 block at stride 1 (32×32 -> 4×4).
        dropout: probability of the dropout before the classifier.
        in_channels: channels of the input images (3 for RGB, 1 for grayscale digits).

    Shape: (N, in_channels, H, W) -> (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 small_input: bool = False, dropout: float = 0.0,
                 in_channels: int = 3) -> None:
        super().__init__()
        strides = [s for _, s in _BLOCKS]
        if small_input:
            strides = first_stride_to_one(strides)
        channels = _make_divisible(32 * width_mult)
        layers: list[nn.Module] = [
            Conv2dNormActivation(in_channels, channels, 3, 1 if small_input else 2,
                                 activation_layer=nn.ReLU)]
        for (c, _), s in zip(_BLOCKS, strides):
            out_channels = _make_divisible(c * width_mult)
            layers.append(DepthwiseSeparableConv(channels, out_channels, s))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x).flatten(1)  # (N, C, 1, 1) -> (N, C)
        return self.classifier(x)


def mobilenet_v1(num_classes: int = 1000, width_mult: float = 1.0, small_input: bool = False,
                 dropout: float = 0.0, in_channels: int = 3) -> MobileNetV1:
    """MobileNet V1; 4,231,976 parameters at width 1.0 with 1000 classes."""
    check_builder_args("mobilenet_v1", num_classes, width_mult, dropout, in_channels)
    return MobileNetV1(num_classes, width_mult, small_input, dropout, in_channels)
