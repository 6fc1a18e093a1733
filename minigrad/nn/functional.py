"""The stateless functional API, `minigrad.nn.functional` (import as `F`): torch's names and
signatures, each validating its arguments and calling one op."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import is_grad_enabled
from minigrad.checks import check_bool, check_number, check_per_channel, check_tensor
from minigrad.ops import activation as _activation
from minigrad.ops import norm as _norm
from minigrad.ops.activation import log_softmax, sigmoid, silu, softmax, tanh
from minigrad.ops.conv import conv2d
from minigrad.ops.dropout import dropout
from minigrad.ops.loss import cross_entropy, mse_loss, nll_loss
from minigrad.ops.matmul import linear
from minigrad.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from minigrad.ops.shape import pad
from minigrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv2d", "cross_entropy", "dropout",
    "hardsigmoid", "hardswish", "linear", "log_softmax", "max_pool2d", "mse_loss", "nll_loss",
    "pad", "relu", "relu6", "sigmoid", "silu", "softmax", "tanh",
]


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
    check_tensor(op, x)
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


def _activation_of(op: str, activation: Callable[[Tensor], Tensor], input: Any,
                   inplace: Any, floating: bool = True) -> Tensor:
    """activation(input), checked. inplace=True writes the result into input and returns it,
    outside autograd: on a tensor that requires grad (while grad is recorded) it raises."""
    check_tensor(op, input, floating=floating)
    check_bool(op, "inplace", inplace)
    if not inplace:
        return activation(input)
    if is_grad_enabled() and input.requires_grad:
        raise RuntimeError(f"{op}: inplace=True is not supported on a tensor that requires "
                           "grad; use inplace=False")
    return input.copy_(activation(input))
