"""MobileNet V2 (Sandler et al., 2018): inverted residuals with linear bottlenecks.

Module tree, parameter names, hyper-parameters and init follow torchvision's `mobilenet_v2`,
so its state dicts load and outputs match.
"""

from __future__ import annotations

from minigrad import nn
from minigrad.models.layers import (
    Conv2dNormActivation,
    _make_divisible,
    check_builder_args,
    first_stride_to_one,
    init_weights,
)
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

_SETTING = [
    # t, c, n, s
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


class InvertedResidual(nn.Module):
    """The V2 block: expand with a 1×1 conv, filter with a 3×3 depthwise conv, project back
    with a linear 1×1 conv; the input is added when the shapes allow.

    Args:
        inp, oup: input and output channels.
        stride: 1 or 2 (of the depthwise conv).
        expand_ratio: hidden channels = round(inp · expand_ratio); 1 skips the expansion.

    Shape: (N, inp, H, W) -> (N, oup, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: float) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride}")
        hidden = int(round(inp * expand_ratio))
        self.stride = stride
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden, 1))  # pw
        layers += [
            Conv2dNormActivation(hidden, hidden, 3, stride, groups=hidden),  # dw
            nn.Conv2d(hidden, oup, 1, bias=False),  # pw-linear
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet V2: `features` (stem, 17 inverted residuals, 1×1 conv to `last_channel`),
    global average pooling, `classifier` (dropout, linear).

    Args:
        num_classes: outputs of the last linear layer.
        width_mult: scales every layer's channels (rounded to a multiple of 8); the last
            1×1 conv keeps at least 1280 channels.
        small_input: stem stride 1 and the first stride-2 stage at stride 1 (32×32 -> 4×4).
        dropout: probability of the dropout before the classifier.
        in_channels: channels of the input images (3 for RGB, 1 for grayscale digits).

    Shape: (N, in_channels, H, W) -> (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 small_input: bool = False, dropout: float = 0.2,
                 in_channels: int = 3) -> None:
        super().__init__()
        stage_strides = [s for _, _, _, s in _SETTING]
        if small_input:
            stage_strides = first_stride_to_one(stage_strides)
        channels = _make_divisible(32 * width_mult)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult))
        stem = Conv2dNormActivation(in_channels, channels, 3, 1 if small_input else 2)
        layers: list[nn.Module] = [stem]
        for (t, c, n, _), s in zip(_SETTING, stage_strides):
            out_channels = _make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out_channels, s if i == 0 else 1, t))
                channels = out_channels
        layers.append(Conv2dNormActivation(channels, self.last_channel, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout),
                                        nn.Linear(self.last_channel, num_classes))
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        # functional pooling, as torchvision: V2 has no `avgpool` module
        x = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)  # (N, C, 1, 1) -> (N, C)
        return self.classifier(x)


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0, small_input: bool = False,
                 dropout: float = 0.2, in_channels: int = 3) -> MobileNetV2:
    """MobileNet V2; 3,504,872 parameters at width 1.0 with 1000 classes."""
    check_builder_args("mobilenet_v2", num_classes, width_mult, dropout, in_channels)
    return MobileNetV2(num_classes, width_mult, small_input, dropout, in_channels)
