"""Activations, each with a hand-derived backward: ReLU, ReLU6, hard-sigmoid, hard-swish,
sigmoid, tanh, SiLU, softmax and log-softmax.

Symbols: `x` the input, `y` the output, `g` the incoming gradient (shaped like `y`), `dx` the
gradient of `x`. Every op keeps the input's dtype. Where a derivative is a step, the value at
the step is torch 2.13's, derived in docs/derivations.md (one section per op).

NumPy returns scalars, not arrays, for 0-d inputs; the first result of a chain of in-place
steps is wrapped in `np.asarray` so that `out=` also works on 0-d tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from minigrad.autograd import Context, Function
from minigrad.tensor import Tensor
from minigrad.fast.threads import for_each_chunk


class ReLUFunction(Function):
    """y = max(x, 0).

    Backward: dx = g·[x > 0], so 0 at x = 0 (torch's value). Saved: y, because y > 0 exactly
    where x > 0. See docs/derivations.md#relu.
    """

    @staticmethod
    def forward(ctx: Context, x):
        y = _elementwise(relu_chunk, x, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (_elementwise(relu_grad_chunk, g, g, y),)


class ReLU6Function(Function):
    """y = min(max(x, 0), 6).

    Backward: dx = g·[0 < x < 6], so 0 at x = 0 and at x = 6 (torch's values). Saved: y, because
    0 < y < 6 exactly where 0 < x < 6. See docs/derivations.md#relu6.
    """

    @staticmethod
    def forward(ctx: Context, x):
        y = _elementwise(relu6_chunk, x, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (_elementwise(relu6_grad_chunk, g, g, y),)


class HardSigmoidFunction(Function):
    """Hard-sigmoid: y = relu6(x + 3) / 6.

    Backward: dx = g/6·[−3 < x < 3], so 0 at x = ±3 (torch's values). Saved: x (y rounds to 0
    or 1 a little inside the kinks, so it cannot tell where the slope ends).
    See docs/derivations.md#hard-sigmoid.
    """

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        # clip(x, −3, 3) + 3 equals torch's clip(x + 3, 0, 6) bit for bit
        y = np.asarray(np.clip(x, -3.0, 3.0))
        y += 3.0
        y /= 6.0
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        dx = np.asarray(g / 6.0)
        dx *= np.abs(x) < 3.0
        return (dx,)


class HardSwishFunction(Function):
    """Hard-swish (MobileNetV3): y = x·relu6(x + 3) / 6.

    Backward: dx = g·s, with s = 0 for x ≤ −3, (2x + 3)/6 for −3 < x < 3, 1 for x ≥ 3.
    Kinks: s = 0 at x = −3 and s = 1 at x = 3 (torch's values). Saved: x.
    See docs/derivations.md#hard-swish.
    """

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        return _elementwise(hardswish_chunk, x, x)

    @staticmethod
    def backward(ctx: Context, g):
        (x,) = ctx.saved_tensors
        return (_elementwise(hardswish_grad_chunk, g, g, x),)


# The chunk kernels of the activations that BatchNorm can run fused (norm.py): `f(y, x)` writes
# y = f(x), and y may be x itself; `f_grad(dx, g, s)` writes dx = g·f'(x) into a dx that is
# not g, where s is y for ReLU and ReLU6 and x for hard-swish (ACTIVATION_KERNELS says which).

def relu_chunk(y: np.ndarray, x: np.ndarray) -> None:
    # for floats np.clip to [0, inf] measured 2.5× faster than np.maximum(x, 0) on float32
    # here, and keeps −0 and nan as torch.relu does; integers have no inf
    np.clip(x, 0, np.inf if x.dtype.kind == "f" else None, out=y)


def relu_grad_chunk(dx: np.ndarray, g: np.ndarray, y: np.ndarray) -> None:
    np.multiply(g, y > 0, out=dx)


def relu6_chunk(y: np.ndarray, x: np.ndarray) -> None:
    # one pass of np.clip measured twice as fast as np.maximum then np.minimum
    np.clip(x, 0, 6, out=y)


def relu6_grad_chunk(dx: np.ndarray, g: np.ndarray, y: np.ndarray) -> None:
    inside = y > 0
    inside &= y < 6
    np.multiply(g, inside, out=dx)


def hardswish_chunk(y: np.ndarray, x: np.ndarray) -> None:
    # clip(x, −3, 3) + 3 is built in y itself unless y is x (fused into BatchNorm)
    shifted = np.clip(x, -3.0, 3.0, out=None if y is x else y)
    shifted += 3.0
    with np.errstate(invalid="ignore"):  # x = −inf gives 0·(−inf) = nan, as in torch
        np.multiply(x, shifted, out=y)
    y /= 6.0


def hardswish_grad_chunk(dx: np.ndarray, g: np.ndarray, x: np.ndarray) -> None:
    # 6s = c + c·[|x| < 3] + 3 with c = clip(x, −3, 3): 2x + 3 between the kinks, c + 3 = 0
    # or 6 outside and at them; masks and a clip instead of nested np.where, which is several
    # times slower
    c = np.clip(x, -3.0, 3.0)
    np.multiply(c, np.abs(x) < 3.0, out=dx)
    dx += c
    dx += 3.0
    dx *= g
    dx /= 6.0


@dataclass(frozen=True)
class ActivationKernels:
    """An activation's chunk kernels; `grad_from_output`: f_grad reads y (else x)."""

    forward: Callable[[np.ndarray, np.ndarray], None]
    grad: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    grad_from_output: bool


ACTIVATION_KERNELS = {
    "relu": ActivationKernels(relu_chunk, relu_grad_chunk, grad_from_output=True),
    "relu6": ActivationKernels(relu6_chunk, relu6_grad_chunk, grad_from_output=True),
    "hardswish": ActivationKernels(hardswish_chunk, hardswish_grad_chunk, grad_from_output=False),
}


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


def _elementwise(fn, like: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """out = a new array shaped and typed as `like`; fn(out, *inputs) on flat chunks of all.

    The chunks are small enough for a chain of in-place steps to stay in cache, and are
    spread over minigrad's threads. The inputs have out's shape (no broadcasting).
    """
    out = np.empty(like.shape, dtype=like.dtype)
    # (any shape) -> (size,); a 0-d array becomes one element
    flat_out, flat_inputs = out.reshape(-1), [a.reshape(-1) for a in inputs]

    def run(part: slice) -> None:
        fn(flat_out[part], *(a[part] for a in flat_inputs))

    for_each_chunk(run, flat_out.size, out.itemsize)
    return out


def _check_tensor(op: str, x: object, floating: bool = True) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if floating and x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")


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


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) elementwise.

    `inplace` is accepted as torch's and ignored, as the layers do: a new tensor is returned.
    """
    _check_tensor("relu", x, floating=False)
    return ReLUFunction.apply(x)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) elementwise (MobileNet V1/V2).

    `inplace` is accepted as torch's and ignored, as the layers do: a new tensor is returned.
    """
    _check_tensor("relu6", x, floating=False)
    return ReLU6Function.apply(x)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6 elementwise (MobileNetV3's squeeze-excitation gate).

    `inplace` is accepted as torch's and ignored, as the layers do: a new tensor is returned.
    """
    _check_tensor("hardsigmoid", x)
    return HardSigmoidFunction.apply(x)


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·relu6(x + 3) / 6 elementwise (MobileNetV3).

    `inplace` is accepted as torch's and ignored, as the layers do: a new tensor is returned.
    """
    _check_tensor("hardswish", x)
    return HardSwishFunction.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^(−x)) elementwise."""
    _check_tensor("sigmoid", x)
    return SigmoidFunction.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise."""
    _check_tensor("tanh", x)
    return TanhFunction.apply(x)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·sigmoid(x) elementwise (also called swish).

    `inplace` is accepted as torch's and ignored, as the layers do: a new tensor is returned.
    """
    _check_tensor("silu", x)
    return SiLUFunction.apply(x)


def softmax(x: Tensor, dim: int) -> Tensor:
    """Softmax along `dim` (negative counts from the end); the slices along `dim` sum to 1."""
    _check_tensor("softmax", x)
    return SoftmaxFunction.apply(x, dim=_axis("softmax", x, dim))


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """log(softmax(x, dim)), computed without forming the softmax (stable for large |x|)."""
    _check_tensor("log_softmax", x)
    return LogSoftmaxFunction.apply(x, dim=_axis("log_softmax", x, dim))

