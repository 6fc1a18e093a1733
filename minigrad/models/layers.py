"""Pieces shared by the MobileNets: channel rounding, conv-norm-activation, the init loop."""

from __future__ import annotations

import math
from collections.abc import Callable

from minigrad import nn
from minigrad.nn import init

ModuleFactory = Callable[..., nn.Module]


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of `divisor` (torchvision's rule).

    Never goes below `min_value` (default `divisor`) and never drops more than 10% below `v`,
    so a width multiplier cannot starve a layer.
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class Conv2dNormActivation(nn.Sequential):
    """`Sequential(Conv2d, norm, activation)`, torchvision's `Conv2dNormActivation`.

    The conv has no bias (the norm's shift replaces it) and "same" padding `(k - 1) // 2`.

    Args:
        in_channels, out_channels: channel counts of the conv.
        kernel_size, stride, groups: as `Conv2d`; `groups=in_channels` makes it depthwise.
        norm_layer: called with `out_channels`; `BatchNorm2d` by default.
        activation_layer: called with no arguments; `None` leaves the output linear.

    Shape: (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, groups: int = 1, norm_layer: ModuleFactory = nn.BatchNorm2d,
                 activation_layer: ModuleFactory | None = nn.ReLU6) -> None:
        padding = (kernel_size - 1) // 2
        layers = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                      groups=groups, bias=False),
            norm_layer(out_channels),
        ]
        if activation_layer is not None:
            layers.append(activation_layer())
        super().__init__(*layers)


def init_weights(model: nn.Module) -> None:
    """torchvision's MobileNet init: conv kaiming-normal (fan_out), BN 1/0, linear N(0, 0.01)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            init.ones_(m.weight)
            init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            init.normal_(m.weight, 0.0, 0.01)
            init.zeros_(m.bias)


def check_builder_args(name: str, num_classes: int, width_mult: float, dropout: float,
                       in_channels: int) -> None:
    """The builders' shared argument checks, raised before any layer is built."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"{name}: num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"{name}: num_classes must be >= 1, got {num_classes}")
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)):
        raise TypeError(f"{name}: width_mult must be a number, got {type(width_mult).__name__}")
    if not (width_mult > 0 and math.isfinite(width_mult)):
        raise ValueError(f"{name}: width_mult must be a finite number > 0, got {width_mult}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
        raise TypeError(f"{name}: dropout must be a number, got {type(dropout).__name__}")
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"{name}: in_channels must be an int >= 1, got {in_channels!r}")


def first_stride_to_one(strides: list[int]) -> list[int]:
    """`small_input`: the first stride-2 stage runs at stride 1 (the stem is handled apart)."""
    strides = list(strides)
    if 2 in strides:
        strides[strides.index(2)] = 1
    return strides
