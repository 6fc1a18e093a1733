"""Pooling layers: `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d` (thin modules around `F`).

Sizes are validated at construction and kept as given, so reprs read like torch's
(`MaxPool2d(kernel_size=2, stride=2, ...)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minigrad.checks import IntOrPair, int_pair
from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


class _Pool2d(Module):
    """Window geometry shared by the fixed-window pools; `stride` defaults to the kernel."""

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None,
                 padding: IntOrPair) -> None:
        super().__init__()
        name = type(self).__name__
        kernel = int_pair(name, "kernel_size", kernel_size, minimum=1)
        if stride is not None:
            int_pair(name, "stride", stride, minimum=1)
        pads = int_pair(name, "padding", padding, minimum=0)
        if any(2 * p > k for p, k in zip(pads, kernel)):
            raise ValueError(f"{name}: padding {padding} must be at most half of "
                             f"kernel_size {kernel_size}")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding


class MaxPool2d(_Pool2d):
    """Maximum over sliding (dilated) windows, as `torch.nn.MaxPool2d`.

    Args:
        kernel_size, stride (default: kernel_size), padding, dilation: ints or pairs;
            padding is −∞ and at most half the kernel.
        return_indices: also return the flat index (h·W + w) of each maximum.
        ceil_mode: round the output size up, so partial windows at the end count.

    Shape:
        Input (N, C, H, W) or (C, H, W); output (N, C, OH, OW) with
        OH = ⌊(H + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1.
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, dilation: IntOrPair = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding)
        int_pair("MaxPool2d", "dilation", dilation, minimum=1)
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    if TYPE_CHECKING:  # a Tensor, or a (values, indices) pair with return_indices=True
        def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """Mean over sliding windows, as `torch.nn.AvgPool2d`.

    Args:
        kernel_size, stride (default: kernel_size), padding: ints or pairs; padding is zeros
            and at most half the kernel.
        ceil_mode: round the output size up.
        count_include_pad: count padded zeros in the divisor.
        divisor_override: divide by this instead of the window size.

    Shape:
        Input (N, C, H, W) or (C, H, W); output (N, C, OH, OW) with
        OH = ⌊(H + 2·padding − kernel) / stride⌋ + 1.
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size whatever the input size (global average
    pooling with `output_size=1`), as `torch.nn.AdaptiveAvgPool2d`.

    Args:
        output_size: an int, or a pair whose entries may be None (keep that input size).

    Shape:
        Input (N, C, H, W) or (C, H, W); output (N, C, OH, OW).
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
