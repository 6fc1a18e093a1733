"""The convolution op: which `Function` computes a (checked) conv2d call.

Three kernels state the op for a reader in `minigrad/reference/conv.py`: a pointwise (1×1)
conv is one matrix product, a depthwise conv (groups == C_in) a loop of multiply-adds over its
taps, anything else one product per tap and group. `minigrad.use_kernels` picks them or their
fast twins in `minigrad/fast/` (the fast depthwise has two: phase planes, and channels last on
planes of at most 8×8 outputs). Arguments are checked by `minigrad.nn.functional.conv2d`.
"""

from __future__ import annotations

from minigrad.autograd import Function
from minigrad.fast import conv_depthwise, conv_depthwise_small, conv_general, conv_pointwise
from minigrad.kernels import get_kernels
from minigrad.reference import conv as reference
from minigrad.reference.conv import Padding, output_size
from minigrad.tensor import Tensor

__all__ = ["apply_conv2d", "conv_kind", "output_size", "select_kernel"]

REFERENCE_KERNELS: dict[str, type[Function]] = {
    "pointwise": reference.PointwiseConv2d,
    "depthwise": reference.DepthwiseConv2d,
    "general": reference.GeneralConv2d,
}
FAST_KERNELS: dict[str, type[Function]] = {
    "pointwise": conv_pointwise.PointwiseConv2d,
    "depthwise": conv_depthwise.DepthwiseConv2d,
    "general": conv_general.GeneralConv2d,
}


def conv_kind(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
              padding: Padding, groups: int) -> str:
    """'pointwise', 'depthwise' or 'general', from the shapes and geometry alone."""
    if tuple(w_shape[2:]) == (1, 1) and stride == (1, 1) and not any(padding) and groups == 1:
        return "pointwise"
    return "depthwise" if groups == x_shape[1] else "general"


def select_kernel(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
                  padding: Padding, dilation: tuple[int, int], groups: int,
                  kernels: str | None = None) -> type[Function]:
    """The `Function` that computes this convolution with `kernels` ("reference" or "fast";
    by default `minigrad.get_kernels()`)."""
    kind = conv_kind(x_shape, w_shape, stride, padding, groups)
    if (kernels or get_kernels()) == "reference":
        return REFERENCE_KERNELS[kind]
    out_hw = output_size(x_shape[2:], w_shape[2:], stride, padding, dilation)
    if kind == "depthwise" and conv_depthwise_small.uses_small_planes(out_hw):
        return conv_depthwise_small.DepthwiseConv2d
    return FAST_KERNELS[kind]


def apply_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple[int, int],
                 padding: Padding, dilation: tuple[int, int], groups: int) -> Tensor:
    """Run the selected kernel on already checked, batched arguments (padding: T, B, L, R)."""
    kind = conv_kind(x.shape, weight.shape, stride, padding, groups)
    kernel = select_kernel(x.shape, weight.shape, stride, padding, dilation, groups)
    if kind == "pointwise":
        return kernel.apply(x, weight, bias)
    geometry = {"stride": stride, "padding": padding, "dilation": dilation}
    if kind == "depthwise":
        return kernel.apply(x, weight, bias, **geometry)
    return kernel.apply(x, weight, bias, groups=groups, **geometry)
