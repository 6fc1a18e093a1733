"""Activations. ReLU, ReLU6, hard-sigmoid and hard-swish have two kernels each
(`minigrad/reference/activation.py` to read, `minigrad/fast/activation.py` to run fast), picked
by `minigrad.get_kernels()`; sigmoid, tanh, SiLU, softmax and log-softmax have one, here.

Symbols: `x` the input, `y` the output, `g` the incoming gradient (shaped like `y`), `dx` the
gradient of `x`. Every op keeps the input's dtype. The derivations are in docs/derivations.md
(one section per op).

NumPy returns scalars, not arrays, for 0-d inputs; the first result of a chain of in-place
steps is wrapped in `np.asarray` so that `out=` also works on 0-d tensors.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.checks import check_tensor
from minigrad.fast import activation as fast_activation
from minigrad.kernels import get_kernels
from minigrad.reference import activation as reference_activation
from minigrad.tensor import Tensor

# the op's Function in each kernel set
KERNELS = {
    "relu": {"reference": reference_activation.ReLUFunction,
             "fast": fast_activation.ReLUFunction},
    "relu6": {"reference": reference_activation.ReLU6Function,
              "fast": fast_activation.ReLU6Function},
    "hardsigmoid": {"reference": reference_activation.HardSigmoidFunction,
                    "fast": fast_activation.HardSigmoidFunction},
    "hardswish": {"reference": reference_activation.HardSwishFunction,
                  "fast": fast_activation.HardSwishFunction},
}


def relu(x: Tensor) -> Tensor:
    """max(x, 0) elementwise."""
    check_tensor("relu", x, floating=False)
    return KERNELS["relu"][get_kernels()].apply(x)


def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6) elementwise (MobileNet V1/V2)."""
    check_tensor("relu6", x, floating=False)
    return KERNELS["relu6"][get_kernels()].apply(x)


def hardsigmoid(x: Tensor) -> Tensor:
    """relu6(x + 3) / 6 elementwise (MobileNetV3's squeeze-excitation gate)."""
    check_tensor("hardsigmoid", x, floating=True)
    return KERNELS["hardsigmoid"][get_kernels()].apply(x)


def hardswish(x: Tensor) -> Tensor:
    """x·relu6(x + 3) / 6 elementwise (MobileNetV3)."""
    check_tensor("hardswish", x, floating=True)
    return KERNELS["hardswish"][get_kernels()].apply(x)


class SigmoidFunction(Function):
    """y = 1 / (1 + e^(−x)).

    Backward: dx = g·y·(1 − y). Saved: y. For very negative x, e^(−x) overflows to inf and y
    becomes 0, its correct limit, so the overflow warning is silenced.
    See docs/derivations.md#sigmoid.
    """

    @staticmethod
    def forward(ctx: Context, x):
        y = _sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        dx = 1 - y
        dx *= y
        dx *= g
        return (dx,)


class TanhFunction(Function):
    """y = tanh x.  Backward: dx = g·(1 − y²).  Saved: y.  See docs/derivations.md#tanh."""

    @staticmethod
    def forward(ctx: Context, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        dx = np.asarray(y * y)
        np.subtract(1, dx, out=dx)
        dx *= g
        return (dx,)


class SiLUFunction(Function):
    """SiLU (swish): y = x·σ(x), σ the sigmoid.

    Backward: dx = g·σ·(1 + x·(1 − σ)). Saved: x and σ (σ costs an exp to recompute).
    See docs/derivations.md#silu.
    """

    @staticmethod
    def forward(ctx: Context, x):
        s = _sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx: Context, g):
        x, s = ctx.saved_tensors
        dx = 1 - s
        dx *= x
        dx += 1
        dx *= s
        dx *= g
        return (dx,)


class SoftmaxFunction(Function):
    """y = e^(x − max x) / Σ e^(x − max x) along `dim` (subtracting the max avoids overflow).

    Backward: dx = y·(g − Σ g·y) along `dim`. Saved: y. See docs/derivations.md#softmax.
    """

    @staticmethod
    def forward(ctx: Context, x, dim=-1):
        ctx.dim = dim
        y = np.asarray(x - x.max(axis=dim, keepdims=True))
        np.exp(y, out=y)
        y /= y.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        dx = g * y
        dx -= y * dx.sum(axis=ctx.dim, keepdims=True)
        return (dx,)


class LogSoftmaxFunction(Function):
    """y = x − max x − log Σ e^(x − max x) along `dim`.

    Backward: dx = g − e^y·Σ g along `dim` (e^y is the softmax). Saved: y.
    See docs/derivations.md#log-softmax.
    """

    @staticmethod
    def forward(ctx: Context, x, dim=-1):
        ctx.dim = dim
        y = x - x.max(axis=dim, keepdims=True)
        y -= np.log(np.exp(y).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        dx = np.exp(y)
        dx *= -g.sum(axis=ctx.dim, keepdims=True)
        dx += g
        return (dx,)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    y = np.asarray(np.negative(x))
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)
    return y


def _axis(op: str, x: Tensor, dim: object) -> int | None:
    """`dim` as a non-negative axis of `x`, checked like torch.

    A 0-d tensor accepts dim 0 and -1 and is one whole slice, so its axis is None (reduce all).
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    rank = max(x.ndim, 1)
    if not -rank <= dim < rank:
        raise ValueError(f"{op}: dim {dim} is out of range for a tensor of shape {x.shape} "
                         f"(expected {-rank} <= dim < {rank})")
    return int(dim) % rank if x.ndim > 0 else None


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^(−x)) elementwise."""
    check_tensor("sigmoid", x, floating=True)
    return SigmoidFunction.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise."""
    check_tensor("tanh", x, floating=True)
    return TanhFunction.apply(x)


def silu(x: Tensor) -> Tensor:
    """x·sigmoid(x) elementwise (also called swish)."""
    check_tensor("silu", x, floating=True)
    return SiLUFunction.apply(x)


def softmax(x: Tensor, dim: int) -> Tensor:
    """Softmax along `dim` (negative counts from the end); the slices along `dim` sum to 1."""
    check_tensor("softmax", x, floating=True)
    return SoftmaxFunction.apply(x, dim=_axis("softmax", x, dim))


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """log(softmax(x, dim)), computed without forming the softmax (stable for large |x|)."""
    check_tensor("log_softmax", x, floating=True)
    return LogSoftmaxFunction.apply(x, dim=_axis("log_softmax", x, dim))

