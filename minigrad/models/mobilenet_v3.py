"""MobileNet V3 small and large (Howard et al., 2019): inverted residuals with
squeeze-and-excitation and hard-swish.

Module tree, parameter names, hyper-parameters (BatchNorm eps 0.001, momentum 0.01) and init
follow torchvision's `mobilenet_v3_small` / `mobilenet_v3_large`, so their state dicts load.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from minigrad import nn
from minigrad.models.layers import (
    Conv2dNormActivation,
    ModuleFactory,
    _make_divisible,
    check_builder_args,
    first_stride_to_one,
    init_weights,
)
from minigrad.tensor import Tensor


class _Row(NamedTuple):
    input_channels: int
    kernel: int
    expanded_channels: int
    out_channels: int
    use_se: bool
    activation: str  # "RE": ReLU, "HS": hard-swish
    stride: int


_LARGE = [_Row(*row) for row in [
    # in, k, exp, out, SE, act, s
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
]]

_SMALL = [_Row(*row) for row in [
    # in, k, exp, out, SE, act, s
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]]

_BatchNormV3 = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


class SqueezeExcitation(nn.Module):
    """Channel attention: pool to one value per channel, squeeze through `fc1`, ReLU, `fc2`,
    hard-sigmoid, and rescale the input's channels by the result.

    Args:
        input_channels: channels of the input (and of the scale).
        squeeze_channels: width of the bottleneck between `fc1` and `fc2`.

    Shape: (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, input_channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.avgpool(x)  # (N, C, H, W) -> (N, C, 1, 1)
        scale = self.activation(self.fc1(scale))
        scale = self.scale_activation(self.fc2(scale))
        return scale * x


class InvertedResidualV3(nn.Module):
    """The V3 block (torchvision's mobilenetv3 `InvertedResidual`): optional 1×1 expansion,
    k×k depthwise conv, optional squeeze-and-excitation, linear 1×1 projection, residual add
    when the shapes allow.

    Args:
        input_channels, expanded_channels, out_channels: channels in, in the middle, out.
        kernel: 3 or 5, of the depthwise conv.
        use_se: insert `SqueezeExcitation(expanded, _make_divisible(expanded // 4, 8))`.
        activation: "RE" (ReLU) or "HS" (hard-swish).
        stride: 1 or 2 (of the depthwise conv).
        norm_layer: called with a channel count; V3's BatchNorm (eps 0.001, momentum 0.01).

    Shape: (N, input_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, input_channels: int, kernel: int, expanded_channels: int,
                 out_channels: int, use_se: bool, activation: str, stride: int,
                 norm_layer: ModuleFactory = _BatchNormV3) -> None:
        super().__init__()
        _check_block_args(kernel, activation, stride)
        self.use_res_connect = stride == 1 and input_channels == out_channels
        act = nn.Hardswish if activation == "HS" else nn.ReLU
        conv = partial(Conv2dNormActivation, norm_layer=norm_layer, activation_layer=act)
        layers: list[nn.Module] = []
        if expanded_channels != input_channels:
            layers.append(conv(input_channels, expanded_channels, 1))  # pw
        layers.append(conv(expanded_channels, expanded_channels, kernel, stride,
                           groups=expanded_channels))  # dw
        if use_se:
            squeeze = _make_divisible(expanded_channels // 4, 8)
            layers.append(SqueezeExcitation(expanded_channels, squeeze))
        # pw-linear
        layers.append(Conv2dNormActivation(expanded_channels, out_channels, 1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        y = self.block(x)
        if self.use_res_connect:
            y = y + x
        return y


def _check_block_args(kernel: int, activation: str, stride: int) -> None:
    if kernel not in (3, 5):
        raise ValueError(f"InvertedResidualV3: kernel must be 3 or 5, got {kernel}")
    if activation not in ("RE", "HS"):
        raise ValueError(f"InvertedResidualV3: activation must be 'RE' or 'HS', got {activation!r}")
    if stride not in (1, 2):
        raise ValueError(f"InvertedResidualV3: stride must be 1 or 2, got {stride}")


class MobileNetV3(nn.Module):
    """MobileNet V3: `features` (hard-swish stem, the blocks of `setting`, 1×1 conv to 6× the
    last block's channels), `avgpool`, `classifier` (linear, hard-swish, dropout, linear).

    Args:
        setting: one `_Row` per block (channels before the width multiplier).
        last_channel: width of the classifier's hidden layer before the width multiplier.
        num_classes, width_mult, small_input, dropout, in_channels: as the builders.

    Shape: (N, in_channels, H, W) -> (N, num_classes).
    """

    def __init__(self, setting: list[_Row], last_channel: int, num_classes: int = 1000,
                 width_mult: float = 1.0, small_input: bool = False,
                 dropout: float = 0.2, in_channels: int = 3) -> None:
        super().__init__()
        rows = [_scaled(row, width_mult) for row in setting]
        if small_input:
            strides = first_stride_to_one([row.stride for row in rows])
            rows = [row._replace(stride=s) for row, s in zip(rows, strides)]
        layers: list[nn.Module] = [Conv2dNormActivation(
            in_channels, rows[0].input_channels, 3, 1 if small_input else 2,
            norm_layer=_BatchNormV3, activation_layer=nn.Hardswish)]
        layers += [InvertedResidualV3(*row) for row in rows]
        last_conv = 6 * rows[-1].out_channels
        layers.append(Conv2dNormActivation(rows[-1].out_channels, last_conv, 1,
                                           norm_layer=_BatchNormV3, activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        hidden = _make_divisible(last_channel * width_mult)
        self.classifier = nn.Sequential(nn.Linear(last_conv, hidden), nn.Hardswish(),
                                        nn.Dropout(dropout), nn.Linear(hidden, num_classes))
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x).flatten(1)  # (N, C, 1, 1) -> (N, C)
        return self.classifier(x)


def _scaled(row: _Row, width_mult: float) -> _Row:
    def adjust(c: int) -> int:
        return _make_divisible(c * width_mult, 8)

    return row._replace(input_channels=adjust(row.input_channels),
                        expanded_channels=adjust(row.expanded_channels),
                        out_channels=adjust(row.out_channels))


def mobilenet_v3_small(num_classes: int = 1000, width_mult: float = 1.0,
                       small_input: bool = False, dropout: float = 0.2,
                       in_channels: int = 3) -> MobileNetV3:
    """MobileNet V3-small; 2,542,856 parameters at width 1.0 with 1000 classes."""
    check_builder_args("mobilenet_v3_small", num_classes, width_mult, dropout, in_channels)
    return MobileNetV3(_SMALL, 1024, num_classes, width_mult, small_input, dropout, in_channels)


def mobilenet_v3_large(num_classes: int = 1000, width_mult: float = 1.0,
                       small_input: bool = False, dropout: float = 0.2,
                       in_channels: int = 3) -> MobileNetV3:
    """MobileNet V3-large; 5,483,032 parameters at width 1.0 with 1000 classes."""
    check_builder_args("mobilenet_v3_large", num_classes, width_mult, dropout, in_channels)
    return MobileNetV3(_LARGE, 1280, num_classes, width_mult, small_input, dropout, in_channels)
