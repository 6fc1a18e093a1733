"""The stateless functional API, `minigrad.nn.functional` (import as `F`): torch's names and
signatures, each validating its arguments and calling one op."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import is_grad_enabled
from minigrad.checks import (
    IntOrPair,
    Padding,
    check_bool,
    check_number,
    check_per_channel,
    check_tensor,
    int_pair,
    is_int,
    padding_arg,
    same_padding,
)
from minigrad.ops import activation as _activation
from minigrad.ops import norm as _norm
from minigrad.ops.activation import log_softmax, sigmoid, softmax, tanh
from minigrad.ops.conv import apply_conv2d, output_size
from minigrad.ops.dropout import dropout
from minigrad.ops.encoding import one_hot
from minigrad.ops.interpolate import interpolate
from minigrad.ops.loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from minigrad.ops.matmul import linear
from minigrad.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from minigrad.ops.shape import pad
from minigrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv2d", "cross_entropy", "dropout",
    "hardsigmoid", "hardswish", "linear", "log_softmax", "max_pool2d", "mse_loss", "nll_loss",
    "pad", "relu", "relu6", "sigmoid", "silu", "softmax", "tanh",
]
__all__ += ["binary_cross_entropy_with_logits", "interpolate", "one_hot"]


# Convolution: conv2d checks its arguments here; minigrad.ops.conv picks the kernel.


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as torch) of a batch of images.

    Args:
        input: x, float.
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
    x = input
    if isinstance(x, Tensor) and x.ndim == 3:
        # (C_in, H, W) -> (1, C_in, H, W) and back
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_conv_tensors(x, weight, bias)
    stride = int_pair("conv2d", "stride", stride, minimum=1)
    dilation = int_pair("conv2d", "dilation", dilation, minimum=1)
    _check_groups(x.shape, weight.shape, groups)
    pads = _conv_padding(padding, weight.shape[2:], stride, dilation)
    _check_output_size(x.shape, weight.shape, stride, pads, dilation)
    return apply_conv2d(x, weight, bias, stride, pads, dilation, groups)


def _check_conv_tensors(x: Any, weight: Any, bias: Any) -> None:
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


def _conv_padding(padding: Any, kernel: tuple[int, ...], stride: tuple[int, int],
                  dilation: tuple[int, int]) -> Padding:
    """(top, bottom, left, right) zeros from an int, a pair, 'valid' or 'same'."""
    padding = padding_arg("conv2d", padding, stride)
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return same_padding(kernel, dilation)
    ph, pw = padding
    return (ph, ph, pw, pw)


def _check_groups(x_shape: tuple[int, ...], w_shape: tuple[int, ...], groups: Any) -> None:
    if not is_int(groups):
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
    if min(output_size(x_shape[2:], w_shape[2:], stride, padding, dilation)) < 1:
        padded = (x_shape[2] + padding[0] + padding[1], x_shape[3] + padding[2] + padding[3])
        dilated = tuple(d * (k - 1) + 1 for d, k in zip(dilation, w_shape[2:]))
        raise ValueError(f"conv2d: the kernel {tuple(w_shape[2:])} (dilated to {dilated}) is "
                         f"larger than the padded input {padded} of x {x_shape}")


# BatchNorm and the hand-derived activations (their kernels: minigrad/reference, minigrad/fast)

def batch_norm(input: Tensor, running_mean: Tensor | np.ndarray | None,
               running_var: Tensor | np.ndarray | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation per channel (axis 1), as `torch.nn.functional.batch_norm`.

    Args:
        input: x of shape (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: (C,) running statistics, Tensors or arrays (or None in
            training mode); training mode updates them in place, eval mode normalises with them.
        weight, bias: optional (C,) affine parameters γ and β.
        training: normalise with the batch statistics (True) or the running ones (False).
        momentum: weight of the batch statistic in the running update, in [0, 1].
        eps: added to the variance before the square root, > 0.

    Shape: the output has the shape of input.
    """
    _check_batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return _norm.batch_norm(input, running_mean, running_var, weight, bias, training,
                            momentum, eps)


def _check_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    op = "batch_norm"
    check_tensor(op, x, floating=True)
    if x.ndim < 2:
        raise ValueError(f"{op}: x must have shape (N, C, ...), got {x.shape}")
    if x.shape[1] == 0:
        raise ValueError(f"{op}: x must have at least one channel, got shape {x.shape}")
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        check_per_channel(op, name, value, x, kinds=(Tensor, np.ndarray))
    for name, value in (("weight", weight), ("bias", bias)):
        check_per_channel(op, name, value, x)
    check_number(op, "momentum", momentum)
    check_number(op, "eps", eps)
    if not 0 <= momentum <= 1:
        raise ValueError(f"{op}: momentum must be in [0, 1], got {momentum}")
    if not eps > 0:
        raise ValueError(f"{op}: eps must be > 0, got {eps}")
    if training and x.numel() <= x.shape[1]:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, "
                         f"got x of shape {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: running_mean and running_var are needed when training=False")


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) elementwise, as `torch.nn.functional.relu` (see `_activation_of` on inplace)."""
    return _activation_of("relu", _activation.relu, input, inplace, floating=False)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) elementwise (MobileNet V1/V2), as `torch.nn.functional.relu6`."""
    return _activation_of("relu6", _activation.relu6, input, inplace, floating=False)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3)/6 elementwise (MobileNetV3's gate), as `torch.nn.functional.hardsigmoid`."""
    return _activation_of("hardsigmoid", _activation.hardsigmoid, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·relu6(x + 3)/6 elementwise (MobileNetV3), as `torch.nn.functional.hardswish`."""
    return _activation_of("hardswish", _activation.hardswish, input, inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·sigmoid(x) elementwise (also called swish), as `torch.nn.functional.silu`."""
    return _activation_of("silu", _activation.silu, input, inplace)


def _activation_of(op: str, activation: Callable[[Tensor], Tensor], input: Any,
                   inplace: Any, floating: bool = True) -> Tensor:
    """activation(input), checked. inplace=True writes the result into input and returns it,
    recorded by autograd as any in-place write (on a leaf that requires grad it raises, as
    torch)."""
    check_tensor(op, input, floating=floating)
    check_bool(op, "inplace", inplace)
    if not inplace:
        return activation(input)
    if is_grad_enabled() and input.requires_grad:
        if input.grad_fn is None:
            raise RuntimeError(f"{op}: inplace=True on a leaf tensor that requires grad; "
                               "use inplace=False (or run it under minigrad.no_grad())")
        # backward may need the input as it was: the op saves a copy, not what gets overwritten
        return input.copy_(activation(input.clone()))
    return input.copy_(activation(input))
