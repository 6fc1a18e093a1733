"""`conv2d`, as `torch.nn.functional.conv2d`: argument checks, then one of three kernels.

The kernel is chosen from the shapes alone and is invisible to users: a pointwise (1×1) conv
is one matrix product, a depthwise conv (groups == C_in) is a loop of multiply-adds over its
taps, anything else goes through im2col.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.fast.conv_depthwise import DepthwiseConv2d
from minigrad.fast.conv_general import GeneralConv2d, output_size
from minigrad.fast.conv_pointwise import PointwiseConv2d
from minigrad.tensor import Tensor

IntOrPair = int | tuple[int, int]
Padding = tuple[int, int, int, int]  # (top, bottom, left, right)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as torch) of a batch of images.

    Args:
        x: input, float.
        weight: filters, same dtype as x.
        bias: optional, one value per output channel.
        stride, dilation: an int or a pair (rows, columns), each ≥ 1.
        padding: an int or a pair ≥ 0 of zeros added on both sides, or 'valid' (none) or
            'same' (stride 1 only; output size = input size, the odd extra pixel at the
            bottom/right as torch).
        groups: C_in and C_out are split into `groups` independent convolutions.

    Shape:
        x (N, C_in, H, W), weight (C_out, C_in/groups, KH, KW), bias (C_out,)
        -> (N, C_out, OH, OW) with OH = ⌊(H + pads − dilation·(KH − 1) − 1) / stride⌋ + 1.
        An unbatched x (C_in, H, W) gives (C_out, OH, OW), as torch.
    """
    if isinstance(x, Tensor) and x.ndim == 3:
        # (C_in, H, W) -> (1, C_in, H, W) and back
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_tensors(x, weight, bias)
    stride = _pair("stride", stride, minimum=1)
    dilation = _pair("dilation", dilation, minimum=1)
    _check_groups(x.shape, weight.shape, groups)
    pads = _padding(padding, weight.shape[2:], stride, dilation)
    _check_output_size(x.shape, weight.shape, stride, pads, dilation)
    kernel = select_kernel(x.shape, weight.shape, stride, pads, groups)
    geometry = {"stride": stride, "padding": pads, "dilation": dilation}
    if kernel is PointwiseConv2d:
        return kernel.apply(x, weight, bias)
    if kernel is DepthwiseConv2d:
        return kernel.apply(x, weight, bias, **geometry)
    return kernel.apply(x, weight, bias, groups=groups, **geometry)


def select_kernel(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
                  padding: Padding, groups: int) -> type[Function]:
    """The `Function` that computes this (already validated) convolution fastest."""
    if tuple(w_shape[2:]) == (1, 1) and stride == (1, 1) and not any(padding) and groups == 1:
        return PointwiseConv2d
    if groups == x_shape[1]:
        return DepthwiseConv2d
    return GeneralConv2d


def _check_tensors(x: Any, weight: Any, bias: Any) -> None:
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if t is None and name == "bias":
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"conv2d: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"conv2d: {name} must be a floating point tensor, got {t.dtype}")
        if t.dtype != x.dtype:
            raise TypeError(f"conv2d: {name} is {t.dtype} but x is {x.dtype}; "
                            "x, weight and bias must have one dtype")
    for name, t in (("x", x), ("weight", weight)):
        if t.ndim != 4 or 0 in t.shape[1:] or (name == "weight" and t.shape[0] == 0):
            layout = "(N, C_in, H, W)" if name == "x" else "(C_out, C_in/groups, KH, KW)"
            raise ValueError(f"conv2d: {name} must be a non-empty 4-D tensor {layout}, "
                             f"got shape {t.shape}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},) for weight "
                         f"{weight.shape}, got {bias.shape}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _pair(name: str, value: Any, minimum: int) -> tuple[int, int]:
    pair = (value, value) if not isinstance(value, tuple | list) else tuple(value)
    if not all(_is_int(v) for v in pair):
        raise TypeError(f"conv2d: {name} must be an int or a pair of ints, got {value!r}")
    if len(pair) != 2:
        raise ValueError(f"conv2d: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"conv2d: {name} must be ≥ {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(padding: Any, kernel: tuple[int, ...], stride: tuple[int, int],
             dilation: tuple[int, int]) -> Padding:
    """(top, bottom, left, right) zeros from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"conv2d: padding must be an int, a pair, 'same' or 'valid', "
                             f"got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
        # torch's split: half the total on top/left, the odd extra pixel at bottom/right
        (total_h, total_w) = (d * (k - 1) for d, k in zip(dilation, kernel))
        return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
    ph, pw = _pair("padding", padding, minimum=0)
    return (ph, ph, pw, pw)


def _check_groups(x_shape: tuple[int, ...], w_shape: tuple[int, ...], groups: Any) -> None:
    if not _is_int(groups):
        raise TypeError(f"conv2d: groups must be an int, got {groups!r}")
    c_in, c_out = x_shape[1], w_shape[0]
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"conv2d: groups={groups} must be ≥ 1 and divide both the input "
                         f"channels ({c_in}, x {x_shape}) and the output channels "
                         f"({c_out}, weight {w_shape})")
    if w_shape[1] * groups != c_in:
        raise ValueError(f"conv2d: weight {w_shape} has {w_shape[1]} input channels per group, "
                         f"x {x_shape} has {c_in} channels / {groups} groups = "
                         f"{c_in // groups}")


def _check_output_size(x_shape: tuple[int, ...], w_shape: tuple[int, ...],
                       stride: tuple[int, int], padding: Padding,
                       dilation: tuple[int, int]) -> None:
    out_hw = output_size(x_shape[2:], w_shape[2:], stride, padding, dilation)
    if min(out_hw) < 1:
        padded = (x_shape[2] + padding[0] + padding[1], x_shape[3] + padding[2] + padding[3])
        dilated = tuple(d * (k - 1) + 1 for d, k in zip(dilation, w_shape[2:]))
        raise ValueError(f"conv2d: the kernel {tuple(w_shape[2:])} (dilated to {dilated}) is "
                         f"larger than the padded input {padded} of x {x_shape}")
