"""`Conv2d`: a 2-D convolution layer holding its weight and bias (calls `F.conv2d`)."""

from __future__ import annotations

import math

import numpy as np

from minigrad.checks import (
    IntOrPair,
    factory_dtype,
    int_pair,
    padding_arg,
    positive_int,
    same_padding,
)
from minigrad.dtypes import DTypeLike
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """2-D convolution over a batch of images, as `torch.nn.Conv2d`.

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, dilation: an int or a pair (rows, columns).
        padding: an int or a pair, or 'valid' (none) or 'same' (output size = input size;
            stride 1 only).
        groups: split channels into this many independent convolutions; must divide both
            `in_channels` and `out_channels` (`groups == in_channels` is a depthwise conv).
        bias: add a learnable bias per output channel.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
        device: None or 'cpu' (accepted for torch compatibility).
        dtype: of the weight and bias (float32 by default).

    Shape:
        Input (N, C_in, H, W), output (N, C_out, OH, OW) with
        OH = ⌊(H + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1.

    Weight (C_out, C_in / groups, KH, KW) and bias (C_out,) start as torch's: kaiming-uniform
    with a = √5, i.e. U(±1/√fan_in), and bias U(±1/√fan_in), fan_in = C_in / groups · KH · KW.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair | str = 0, dilation: IntOrPair = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: str | None = None, dtype: DTypeLike = None) -> None:
        super().__init__()
        self.in_channels = positive_int("Conv2d", "in_channels", in_channels)
        self.out_channels = positive_int("Conv2d", "out_channels", out_channels)
        self.groups = positive_int("Conv2d", "groups", groups)
        self._check_groups()
        self.kernel_size = int_pair("Conv2d", "kernel_size", kernel_size, minimum=1)
        self.stride = int_pair("Conv2d", "stride", stride, minimum=1)
        self.dilation = int_pair("Conv2d", "dilation", dilation, minimum=1)
        self.padding = padding_arg("Conv2d", padding, self.stride)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {_PADDING_MODES}, "
                             f"got {padding_mode!r}")
        self.padding_mode = padding_mode
        dtype = factory_dtype("Conv2d", device, dtype)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _check_groups(self) -> None:
        for name in ("in_channels", "out_channels"):
            if getattr(self, name) % self.groups:
                raise ValueError(f"Conv2d: {name}={getattr(self, name)} must be divisible "
                                 f"by groups={self.groups}")

    def reset_parameters(self) -> None:
        """torch's default initialisation (see the class docstring)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _pad_widths(self) -> tuple[int, int, int, int]:
        """`F.pad` widths (left, right, top, bottom) for the non-zero padding modes."""
        if self.padding == "same":
            top, bottom, left, right = same_padding(self.kernel_size, self.dilation)
            return (left, right, top, bottom)
        if isinstance(self.padding, str):  # 'valid'
            return (0, 0, 0, 0)
        ph, pw = self.padding
        return (pw, pw, ph, ph)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        padded = F.pad(x, self._pad_widths(), mode=self.padding_mode)
        return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text
